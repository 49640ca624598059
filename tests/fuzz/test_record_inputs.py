"""The versioned msgpack records: the store is outside input too (a shared Redis, a restored
backup, a downgrade). Anything but a whole, well-typed record is a CodecError."""

from __future__ import annotations

from typing import Any

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mfa_core.push import NumberMatch, PushType
from mfa_core.push_state import Flow, new_transaction
from pushd.store.codec import CodecError, decode, encode
from pushd.store.records import ChallengeRecord, Seen
from tests.fuzz.strategies import fuzz_settings, msgpack_values, values_of
from tests.fuzz.targets import RECORD_TYPES, check_record

record_types = st.sampled_from(RECORD_TYPES)


@st.composite
def valid_records(draw: st.DrawFn) -> tuple[type[Any], Any]:
    cls = draw(record_types)
    return cls, draw(values_of(cls))


@fuzz_settings(200)
@given(record_types, st.binary(max_size=300))
def test_arbitrary_bytes_decode_or_raise_codec_error(cls: type[Any], data: bytes) -> None:
    check_record(data, cls)


@fuzz_settings(150)
@given(record_types, msgpack_values)
def test_arbitrary_msgpack_values_decode_or_raise_codec_error(cls: type[Any], value: Any) -> None:
    check_record(msgpack.packb(value, use_bin_type=True), cls)
    check_record(msgpack.packb([1, value], use_bin_type=True), cls)


@fuzz_settings(150)
@given(valid_records())
def test_valid_records_round_trip(case: tuple[type[Any], Any]) -> None:
    cls, record = case
    assert decode(encode(record), cls) == record
    check_record(encode(record), cls)


@fuzz_settings(150)
@given(valid_records(), st.integers(min_value=0), st.integers(0, 7), st.binary(max_size=6))
def test_byte_mutated_records_decode_whole_or_raise(
    case: tuple[type[Any], Any], at: int, cut: int, insert: bytes
) -> None:
    cls, record = case
    data = encode(record)
    at %= len(data) + 1
    check_record(data[:at] + insert + data[at + cut :], cls)


def _replace_somewhere(plain: Any, path: list[int], value: Any) -> Any:
    """``plain`` with the node that ``path`` picks (indices wrap) replaced by ``value``."""
    if not path or not isinstance(plain, (dict, list)) or not plain:
        return value
    if isinstance(plain, dict):
        key = sorted(plain)[path[0] % len(plain)]
        return {**plain, key: _replace_somewhere(plain[key], path[1:], value)}
    index = path[0] % len(plain)
    return [*plain[:index], _replace_somewhere(plain[index], path[1:], value), *plain[index + 1 :]]


@fuzz_settings(200)
@given(valid_records(), st.lists(st.integers(min_value=0), max_size=5), msgpack_values)
def test_structurally_mutated_records_decode_whole_or_raise(
    case: tuple[type[Any], Any], path: list[int], value: Any
) -> None:
    """A field (or a nested item) holding a value of another type, or of another shape."""
    cls, record = case
    envelope = msgpack.unpackb(encode(record), raw=False)
    check_record(msgpack.packb(_replace_somewhere(envelope, path, value), use_bin_type=True), cls)


def _challenge_with_choices(choices: list[int]) -> bytes:
    record = ChallengeRecord(
        challenge_id="c", message_id="m", user_id="u", username="alice", device_id="d",
        mechanism_uid="m", sealed_secret=b"s", challenge=b"c", push_type=PushType.CHALLENGE,
        message="hi", txn=new_transaction(Flow.CHALLENGE, now=1.0, ttl_seconds=60),
        number=NumberMatch(choices=(11, 22, 33), answer=22),
    )  # fmt: skip
    version, fields = msgpack.unpackb(encode(record), raw=False)
    fields["number"]["choices"] = choices
    packed: bytes = msgpack.packb([version, fields], use_bin_type=True)
    return packed


def test_a_number_match_with_other_than_three_choices_is_refused() -> None:
    """tuple[int, int, int] was decoded as 'a tuple of ints': a stored NumberMatch with one or
    four choices came back as a record its type says cannot exist (fixed)."""
    for choices in ([11], [11, 22], [11, 22, 33, 44]):
        with pytest.raises(CodecError):
            decode(_challenge_with_choices(choices), ChallengeRecord)
    assert decode(_challenge_with_choices([11, 22, 33]), ChallengeRecord).number is not None


def test_a_boolean_version_is_refused() -> None:
    """``True`` passed as schema version 1 (a bool is an int)."""
    _, fields = msgpack.unpackb(encode(Seen(at=1.0)), raw=False)
    with pytest.raises(CodecError):
        decode(msgpack.packb([True, fields]), Seen)
