"""A gateway per test; its credentials are made once per session and reused, as in real use."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from authenticator_sim.gateway import Gateway


@pytest.fixture(scope="session")
def gateway_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("gateway")


@pytest.fixture
async def gateway(gateway_dir: Path) -> AsyncIterator[Gateway]:
    async with Gateway(gateway_dir) as gw:
        yield gw
