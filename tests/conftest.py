"""Fixtures shared by every suite: a real pushd on 127.0.0.1 (see tests/support/harness.py)."""

from collections.abc import Iterator

import pytest

from tests.support import log_scan
from tests.support.harness import harness, make_harness, store_kind
from tests.support.redis import RedisClusterNodes

__all__ = ["harness", "make_harness", "store_kind"]


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisClusterNodes]:
    """One Redis Cluster for the session: three private masters, started once."""
    cluster = RedisClusterNodes(tmp_path_factory.mktemp("cluster"))
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Modules naming ``STORES`` run every test once per store (Redis is real)."""
    stores = getattr(metafunc.module, "STORES", None)
    if stores and "store_kind" in metafunc.fixturenames:
        metafunc.parametrize("store_kind", stores)


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(log_scan, "log_scan")  # every log line, scanned for secrets
