"""Deterministic randomness for tests: mfa_core takes ``rng`` as a parameter."""

from __future__ import annotations

import random
from collections.abc import Callable


def seeded_rng(seed: int = 1) -> Callable[[int], bytes]:
    return random.Random(seed).randbytes


def fixed_rng(data: bytes) -> Callable[[int], bytes]:
    """Hands out ``data`` in order, then fails: proves exactly what a function consumes."""
    buffer = bytearray(data)

    def take(n: int) -> bytes:
        if n > len(buffer):
            raise AssertionError("rng exhausted")
        chunk = bytes(buffer[:n])
        del buffer[:n]
        return chunk

    return take
