"""Engines under test: every contract test runs against each of them (Redis is real)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pushd.store.engine import RecordEngine
from pushd.store.sqlite import SQLiteEngine
from tests.support.redis import REDIS_URL, redis_engine


class FakeClock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(time.time())  # near real time: Redis collects dead records by its own


@pytest.fixture(params=["sqlite", "redis", "redis-cluster"])
async def engine(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[RecordEngine]:
    if request.param.startswith("redis"):
        url = REDIS_URL
        if request.param == "redis-cluster":
            url = request.getfixturevalue("redis_cluster").url
        async with redis_engine(url, clock=clock) as opened:
            yield opened
        return
    sqlite = await SQLiteEngine.open(tmp_path / "store.db", clock=clock)
    try:
        yield sqlite
    finally:
        await sqlite.close()
