"""Engines under test: every contract test runs against each of them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pushd.store.engine import RecordEngine
from pushd.store.sqlite import SQLiteEngine


class FakeClock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["sqlite"])
async def engine(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[RecordEngine]:
    opened = await SQLiteEngine.open(tmp_path / "store.db", clock=clock)
    try:
        yield opened
    finally:
        await opened.close()
