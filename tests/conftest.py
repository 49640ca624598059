"""Fixtures shared by every suite: a real pushd on 127.0.0.1 (see tests/support/harness.py)."""

from tests.support.harness import harness, make_harness

__all__ = ["harness", "make_harness"]
