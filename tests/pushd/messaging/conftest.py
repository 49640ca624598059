from __future__ import annotations

import pytest

from pushd.messaging import RetryPolicy
from tests.pushd.messaging.support import Certificate, make_certificate

# Three attempts, millisecond back-off: retries are exercised without slowing the suite.
FAST_RETRY = RetryPolicy(attempts=3, base_delay=0.001, max_delay=0.004, timeout=5.0)
CODE = "482913"
LINK = "https://backstage.example.com/recover?token=Zk3_q-Ab9~Xy0P&u=alice%40example.com#top"


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    return make_certificate(tmp_path_factory.mktemp("tls"))
