"""Fixtures shared by every suite: a real pushd on 127.0.0.1 (see tests/support/harness.py)."""

import pytest

from tests.support.harness import harness, make_harness, store_kind

__all__ = ["harness", "make_harness", "store_kind"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Modules naming ``STORES`` run every test once per store (Redis is real)."""
    stores = getattr(metafunc.module, "STORES", None)
    if stores and "store_kind" in metafunc.fixturenames:
        metafunc.parametrize("store_kind", stores)
