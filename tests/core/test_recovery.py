from __future__ import annotations

import re

import pytest

from mfa_core import recovery
from mfa_core.errors import CodeMismatch, CodeReplayed, InvalidParameter
from tests.support.rng import fixed_rng, seeded_rng

KEY = b"k" * 32
NOW = 1000.0


def make_set(owner: str, seed: int) -> tuple[tuple[str, ...], recovery.RecoveryCodeSet]:
    codes = recovery.generate_recovery_codes(seeded_rng(seed))
    code_set = recovery.hash_recovery_codes(
        codes, owner=owner, key=KEY, rng=seeded_rng(seed + 100), now=NOW
    )
    return codes, code_set


def test_ten_unique_codes_of_ten_alphanumerics() -> None:
    codes = recovery.generate_recovery_codes(seeded_rng())
    assert len(codes) == 10
    assert len(set(codes)) == 10
    assert all(re.fullmatch(r"[0-9A-Za-z]{10}", code) for code in codes)


def test_duplicates_from_the_rng_are_drawn_again() -> None:
    # Each character consumes one byte (62 symbols fit in 6 bits); "0" then "1".
    zeros, ones = bytes(8), bytes([1] * 8)
    codes = recovery.generate_recovery_codes(fixed_rng(zeros + zeros + ones), count=2, length=8)
    assert codes == ("0" * 8, "1" * 8)


def test_refuses_tiny_sets() -> None:
    with pytest.raises(InvalidParameter):
        recovery.generate_recovery_codes(seeded_rng(), length=4)
    with pytest.raises(InvalidParameter):
        recovery.generate_recovery_codes(seeded_rng(), count=0)


def test_only_hashes_are_stored() -> None:
    codes, code_set = make_set("device-1", 1)
    stored = repr(code_set).encode() + b"".join(code_set.digests)
    assert all(code.encode() not in stored for code in codes)
    assert code_set.remaining == 10


def test_redeem_consumes_exactly_one() -> None:
    codes, first = make_set("device-1", 1)
    _, second = make_set("device-2", 2)
    match = recovery.redeem_recovery_code([second, first], codes[3], key=KEY)
    assert (match.owner, match.index) == ("device-1", 3)
    assert match.updated.remaining == 9
    with pytest.raises(CodeReplayed):
        recovery.redeem_recovery_code([second, match.updated], codes[3], key=KEY)
    again = recovery.redeem_recovery_code([second, match.updated], codes[4], key=KEY)
    assert again.updated.used == frozenset({3, 4})


def test_codes_are_case_sensitive_but_forgive_spaces_and_dashes() -> None:
    codes, code_set = make_set("d", 1)
    spaced = f"{codes[0][:5]}-{codes[0][5:]} "
    assert recovery.redeem_recovery_code([code_set], spaced, key=KEY).index == 0
    swapped = codes[1].swapcase()
    with pytest.raises(CodeMismatch):
        recovery.redeem_recovery_code([code_set], swapped, key=KEY)


@pytest.mark.parametrize("bad", ["", "nope", None])
def test_unknown_codes(bad: object) -> None:
    _, code_set = make_set("d", 1)
    with pytest.raises(CodeMismatch):
        recovery.redeem_recovery_code([code_set], bad, key=KEY)  # type: ignore[arg-type]


def test_a_different_key_matches_nothing() -> None:
    codes, code_set = make_set("d", 1)
    with pytest.raises(CodeMismatch):
        recovery.redeem_recovery_code([code_set], codes[0], key=b"x" * 32)
    with pytest.raises(InvalidParameter):
        recovery.redeem_recovery_code([code_set], codes[0], key=b"short")
