from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mfa_core.encoding import b64_decode, b64_decode_any, b64_encode, b64url_decode, b64url_encode
from mfa_core.errors import InvalidEncoding


@given(st.binary(max_size=200))
def test_round_trips(data: bytes) -> None:
    assert b64_decode(b64_encode(data)) == data
    assert b64url_decode(b64url_encode(data)) == data
    assert b64_decode_any(b64url_encode(data)) == data
    assert "=" not in b64url_encode(data)


@given(st.binary(min_size=1, max_size=50))
def test_padding_is_optional(data: bytes) -> None:
    assert b64_decode(b64_encode(data).rstrip("=")) == data
    assert b64url_decode(b64url_encode(data) + "=" * (-len(b64url_encode(data)) % 4)) == data


@pytest.mark.parametrize(
    ("decoder", "text"),
    [
        (b64_decode, "ab-_"),  # URL-safe characters in standard base64
        (b64url_decode, "ab+/"),  # standard characters in base64url
        (b64_decode, "a"),  # impossible length
        (b64_decode, "abc=="),  # padding to the wrong length
        (b64_decode, "ab=c"),  # padding in the middle
        (b64_decode, "abcd==="),
        (b64_decode_any, "ab cd"),
        (b64_decode_any, "é"),
    ],
)
def test_rejects(decoder: object, text: str) -> None:
    with pytest.raises(InvalidEncoding):
        decoder(text)  # type: ignore[operator]


def test_rejects_non_strings() -> None:
    with pytest.raises(InvalidEncoding):
        b64_decode(b"abcd")  # type: ignore[arg-type]


@given(st.text(max_size=40))
def test_any_text_decodes_or_raises_invalid_encoding(text: str) -> None:
    for decoder in (b64_decode, b64url_decode, b64_decode_any):
        with contextlib.suppress(InvalidEncoding):
            decoder(text)
