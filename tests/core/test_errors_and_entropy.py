from __future__ import annotations

import uuid

import pytest

from mfa_core import errors
from mfa_core.entropy import random_string, random_uuid4, uniform_below
from tests.support.rng import fixed_rng, seeded_rng


def test_every_error_has_a_stable_reason_and_a_detail() -> None:
    error = errors.CodeMismatch("wrong code")
    assert (error.reason, error.detail, str(error)) == ("code_mismatch", "wrong code", "wrong code")
    assert errors.Expired().detail == "expired"
    assert errors.IllegalTransition("x", reason="expired").reason == "expired"
    assert errors.IllegalTransition("x").reason == "illegal_transition"


def test_reasons_are_distinct_across_the_tree() -> None:
    def subclasses(cls: type[errors.MfaError]) -> list[type[errors.MfaError]]:
        return [cls] + [s for sub in cls.__subclasses__() for s in subclasses(sub)]

    classes = subclasses(errors.MfaError)
    reasons = [cls.reason for cls in classes]
    assert len(reasons) == len(set(reasons)), reasons


def test_uniform_below_rejects_out_of_range_draws() -> None:
    # 3 needs 2 bits: a draw of 3 is rejected and the next byte (1) is used.
    assert uniform_below(fixed_rng(bytes([3, 1])), 3) == 1
    assert uniform_below(fixed_rng(bytes([0])), 1) == 0
    with pytest.raises(errors.InvalidParameter):
        uniform_below(seeded_rng(), 0)


def test_random_strings_and_uuids() -> None:
    assert random_string(fixed_rng(bytes([0, 1, 2])), "abc", 3) == "abc"
    value = random_uuid4(seeded_rng())
    assert isinstance(value, uuid.UUID)
    assert value.version == 4
