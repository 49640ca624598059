"""Every input a fuzzer ever crashed a parser with, replayed through the same property.

An atheris crash file (``crash-<sha1>``) goes into ``crashes/<target>/`` under a name that
says what it found; the target names are tests.fuzz.targets.BYTE_TARGETS' keys.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fuzz.seeds import SEEDS
from tests.fuzz.targets import BYTE_TARGETS

CRASHES = Path(__file__).parent / "crashes"
STORED = sorted(p for p in CRASHES.glob("*/*") if p.is_file())


@pytest.mark.parametrize("path", STORED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_stored_crash_no_longer_crashes(path: Path) -> None:
    BYTE_TARGETS[path.parent.name](path.read_bytes())


def test_every_crash_is_filed_under_a_target() -> None:
    assert STORED, "the crash corpus is empty: this test would prove nothing"
    assert {p.parent.name for p in STORED} <= set(BYTE_TARGETS)


@pytest.mark.parametrize("target", sorted(SEEDS))
def test_every_seed_satisfies_its_property(target: str) -> None:
    """The atheris corpora start from these: a seed that failed would be a crash at start."""
    for seed in SEEDS[target]():
        BYTE_TARGETS[target](seed)
