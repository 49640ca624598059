from __future__ import annotations

import json
import logging
import sys

from pushd.logs import JsonFormatter, configure_logging


def record(msg: str, **extra: object) -> logging.LogRecord:
    entry = logging.LogRecord("pushd.test", logging.WARNING, __file__, 1, msg, (), None)
    entry.__dict__.update(extra)
    return entry


def test_one_json_object_per_line_with_extra_fields() -> None:
    line = JsonFormatter().format(record("fraud signal", user_id="u1", kind="denied"))
    parsed = json.loads(line)
    assert parsed["level"] == "warning"
    assert parsed["msg"] == "fraud signal"
    assert (parsed["user_id"], parsed["kind"]) == ("u1", "denied")
    assert parsed["ts"].endswith("Z")
    assert "\n" not in line


def boom() -> None:
    raise ValueError("boom")


def test_exceptions_are_included() -> None:
    entry = record("failed")
    try:
        boom()
    except ValueError:
        entry.exc_info = sys.exc_info()
    parsed = json.loads(JsonFormatter().format(entry))
    assert "ValueError: boom" in parsed["exc"]


def test_configure_logging_installs_the_formatter() -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging("warning")
        assert root.level == logging.WARNING
        assert isinstance(root.handlers[0].formatter, JsonFormatter)
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
