"""The suite-wide log secret scan (tests/support/log_scan.py) is not vacuous: a planted secret
is caught in every spelling, and the capture really sees what pushd logs during the tests.

These tests use their own ``Secrets`` and ``Lines``: nothing planted here reaches the
session's scan (which would then, rightly, fail the run).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from mfa_core.jws import sign_jwt
from pushd.logs import configure_logging
from tests.support import log_scan
from tests.support.harness import Harness
from tests.support.log_scan import CaptureHandler, Lines, Secrets, scan_line

SEED = bytes(range(100, 132))
CLEAN = [
    (
        '{"level":"info","logger":"aiohttp.access","msg":"request","method":"POST",'
        '"route":"/push/device","status":400,"duration_ms":1.2}'
    ),
    '{"level":"info","logger":"pushd.device","msg":"device reply rejected","reason":"expired"}',
    '{"level":"warning","logger":"pushd.settings","msg":"redis_url=***"}',
]


@pytest.fixture
def secrets() -> Secrets:
    planted = Secrets()
    planted.add("api_key", "pk_live_0123456789abcdef")
    planted.add("push_secret", SEED)
    planted.add("recovery_code", "RClPzP1iRn")
    planted.add("password", 'pa"ss word 1')
    planted.add("too_short", "123456")
    return planted


@pytest.mark.parametrize("line", CLEAN)
def test_clean_lines_pass(line: str, secrets: Secrets) -> None:
    assert scan_line(line, secrets) == []


@pytest.mark.parametrize(
    ("fragment", "kind"),
    [
        ("key pk_live_0123456789abcdef used", "api_key"),
        (f"secret {SEED.hex()}", "push_secret"),
        ("s=" + "ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1-f4CBgoM", "push_secret"),  # b64url
        ("ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CBgoM=", "push_secret"),  # b64
        ('"code":"RClPzP1iRn"', "recovery_code"),
        ('pa"ss word 1', "password"),  # as the JSON line escapes it
        ("pushauth://push/Backstage:alice?r=aHR0cHM", "provisioning_uri"),
        ("OTPAUTH://totp/x", "provisioning_uri"),
        ("Authorization: Bearer abcdefgh12345678", "bearer_token"),
        (sign_jwt({"sub": "alice"}, SEED), "jwt"),
        ("otp?secret=JBSWY3DPEHPK3PXP", "secret_parameter"),
        ("body=ID-DOCUMENT-ID-DOCUMENT-", "photo_id"),
    ],
)
def test_a_planted_secret_is_caught(fragment: str, kind: str, secrets: Secrets) -> None:
    line = json.dumps({"level": "info", "logger": "pushd.x", "msg": "m", "detail": fragment})
    assert kind in scan_line(line, secrets)


def test_short_values_are_not_registered(secrets: Secrets) -> None:
    assert scan_line('{"msg":"took 123456 us"}', secrets) == []


def fail_with(message: str) -> None:
    raise ValueError(message)


def test_a_secret_in_an_extra_field_or_a_traceback_is_caught(secrets: Secrets) -> None:
    lines = Lines()
    logger = logging.getLogger("tests.log_scan.planted")
    handler = CaptureHandler(lines)
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("failed", extra={"token": "pk_live_0123456789abcdef"})
        try:
            fail_with(f"bad secret {SEED.hex()}")
        except ValueError:
            logger.exception("boom")
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    found = {(f.kind, f.source) for f in lines.scan(secrets)}
    assert found == {
        ("api_key", "tests.log_scan.planted"),
        ("push_secret", "tests.log_scan.planted"),
    }


def test_the_capture_is_on_the_root_logger_at_debug() -> None:
    root = logging.getLogger()
    assert log_scan.CAPTURE in root.handlers
    assert root.level == logging.DEBUG


def test_configure_logging_cannot_remove_the_capture() -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging("info")
        assert log_scan.CAPTURE in root.handlers
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)


async def test_what_pushd_logs_during_a_test_reaches_the_scan(harness: Harness) -> None:
    """The session's capture handler receives pushd's records, formatted as pushd writes them
    (watched here through a fresh ``Lines``, then handed on to the session's)."""
    session_lines, watched = log_scan.CAPTURE.lines, Lines()
    log_scan.CAPTURE.lines = watched
    try:
        url = str(harness.client.make_url("/push/device?_action=register"))
        async with harness.session.post(url, data=b"{}") as response:
            assert response.status == 400
    finally:
        log_scan.CAPTURE.lines = session_lines
    for line, seen in watched.unique.items():
        session_lines.add(line, seen.source)
    parsed = [json.loads(line) for line in watched.unique]
    assert {"logger": "pushd.device", "msg": "device reply rejected"}.items() <= parsed[0].items()
    assert any(p["logger"] == "aiohttp.access" and p["route"] == "/push/device" for p in parsed)


def test_a_subprocess_log_file_is_read_line_by_line(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_text('{"level":"info","logger":"pushd.access","msg":"request"}\nnot json\n')
    lines = Lines()
    saved, log_scan.LINES = log_scan.LINES, lines
    try:
        log_scan.add_log_file(log, "pushd process a")
        log_scan.add_log_file(tmp_path / "missing.log", "pushd process b")
    finally:
        log_scan.LINES = saved
    assert {seen.source for seen in lines.unique.values()} == {
        "pushd process a (pushd.access)",
        "pushd process a (not JSON)",
    }
