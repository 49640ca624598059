"""Randomness is always handed in: a ``RandomBytes`` is any ``n -> n random bytes``.

pushd passes ``secrets.token_bytes``; tests pass a seeded source.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from mfa_core.errors import InvalidParameter

RandomBytes = Callable[[int], bytes]


def uniform_below(rng: RandomBytes, upper: int) -> int:
    """An unbiased integer in ``[0, upper)``, by rejection sampling."""
    if upper < 1:
        raise InvalidParameter("upper bound must be positive")
    width = max(1, (upper - 1).bit_length())
    nbytes = (width + 7) // 8
    mask = (1 << width) - 1
    while True:
        candidate = int.from_bytes(rng(nbytes), "big") & mask
        if candidate < upper:
            return candidate


def random_string(rng: RandomBytes, alphabet: str, length: int) -> str:
    return "".join(alphabet[uniform_below(rng, len(alphabet))] for _ in range(length))


def random_uuid4(rng: RandomBytes) -> uuid.UUID:
    return uuid.UUID(bytes=rng(16), version=4)
