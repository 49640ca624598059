"""A suite-wide scan of every log line for secrets: a pytest plugin (tests/conftest.py).

Every log record made anywhere in the session (the root logger at DEBUG, a capture handler
that no ``configure_logging`` can remove) is formatted as pushd writes it (its JSON line,
extra fields included) and kept, with the logger and the test it came from; so are the
log files of the pushd processes tests/support/cluster.py starts. At the end of the session
every line is checked against

- the secrets the test support code registered as it made them (``register_secret``: API
  keys, passwords, the master key, registration URIs and their shared secrets, OTP seeds,
  recovery codes, session cookies, reauthentication and e-mailed tokens), each also in the
  base64, base64url and hex forms a log could spell bytes in; and
- patterns no log line should ever hold: provisioning URIs, ``Bearer`` credentials, a JWT,
  a ``secret=`` parameter, the bytes of the test photo IDs.

Any hit fails the run, naming the kind of secret, the logger and the test. The session
summary says how much was scanned, so that a scan that saw nothing cannot pass unnoticed.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from pushd.logs import JsonFormatter

MIN_SECRET_CHARS = 10  # shorter values (a 6-digit code) would match log text by chance
_WINDOW = MIN_SECRET_CHARS
# Keys, tokens and base64/hex spellings are runs of these; a line is only searched inside
# such runs (C-speed regex), the rest (a password with spaces) by substring.
_SIMPLE = re.compile(r"[A-Za-z0-9+/=_-]+")
_RUNS = re.compile(rf"[A-Za-z0-9+/=_-]{{{MIN_SECRET_CHARS},}}")

_I = re.IGNORECASE
# (kind, what the lowercased line must contain for the pattern to be worth searching, pattern)
PATTERNS: tuple[tuple[str, tuple[str, ...], re.Pattern[str]], ...] = (
    ("provisioning_uri", ("://",), re.compile(r"(?:pushauth|mfauth|otpauth)://", _I)),
    ("bearer_token", ("bearer",), re.compile(r"\bBearer\s+[A-Za-z0-9._~+/=-]{8,}", _I)),
    ("jwt", ("eyj",), re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]{16,}")),
    ("secret_parameter", ("secret=",), re.compile(r"\bsecret=(?!\*|\[redacted)[^&\s\"]", _I)),
    (
        "photo_id",  # the test documents' bytes: their marker, base64, or a bytes repr
        ("id-document-", "/9j/4aaqskzjrg", "ivborw0kggo", "x89png", "xff\\xd8", "xff\\\\xd8"),
        re.compile(r"ID-DOCUMENT-|/9j/4AAQSkZJRg|iVBORw0KGgo|\\+x89PNG|\\+xff\\+xd8"),
    ),
)


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str
    source: str  # the logger, or the subprocess log file
    test: str
    line: str

    def describe(self) -> str:
        excerpt = self.line if len(self.line) <= 240 else self.line[:240] + "..."
        return f"{self.kind} in a line from {self.source} during {self.test}:\n    {excerpt}"


class Secrets:
    """Every secret the tests made, in every spelling a log could use."""

    def __init__(self) -> None:
        self._kinds: dict[str, str] = {}  # spelling -> kind
        self._by_window: dict[str, list[str]] = {}  # first _WINDOW characters -> spellings
        self._odd: list[str] = []  # spellings with other characters: searched as substrings
        self._lock = threading.Lock()
        self.registered = 0

    def add(self, kind: str, value: str | bytes | None) -> None:
        if not value:
            return
        with self._lock:
            self.registered += 1
            for spelling in _spellings(value):
                if len(spelling) >= MIN_SECRET_CHARS and spelling not in self._kinds:
                    self._kinds[spelling] = kind
                    if _SIMPLE.fullmatch(spelling):
                        self._by_window.setdefault(spelling[:_WINDOW], []).append(spelling)
                    else:
                        self._odd.append(spelling)

    def __len__(self) -> int:
        return len(self._kinds)

    def find(self, line: str) -> Iterator[str]:
        """The kind of each registered secret that occurs in ``line``."""
        windows = self._by_window
        for run in _RUNS.finditer(line):
            text, offset = run.group(), run.start()
            for start in range(len(text) - _WINDOW + 1):
                candidates = windows.get(text[start : start + _WINDOW])
                if candidates:
                    for spelling in candidates:
                        if line.startswith(spelling, offset + start):
                            yield self._kinds[spelling]
        for spelling in self._odd:
            if spelling in line:
                yield self._kinds[spelling]


def _spellings(value: str | bytes) -> set[str]:
    raw = value.encode("utf-8", "surrogatepass") if isinstance(value, str) else value
    spellings = {
        base64.b64encode(raw).decode().rstrip("="),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
        raw.hex(),
    }
    if isinstance(value, str):
        spellings |= {value, json.dumps(value)[1:-1]}  # as written inside a JSON line
    return spellings


def scan_line(line: str, secrets: Secrets) -> list[str]:
    """The kinds of secret in one log line (empty: the line is clean)."""
    low = line.lower()
    kinds = [
        kind
        for kind, triggers, pattern in PATTERNS
        if any(t in low for t in triggers) and pattern.search(line)
    ]
    return kinds + sorted(set(secrets.find(line)))


# --- what the session saw -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Seen:
    source: str
    test: str


class Lines:
    """Log lines, each kept once (its timestamp aside) with where it was first seen."""

    _TS = re.compile(r'^\{"ts":"[^"]*",')

    def __init__(self) -> None:
        self.unique: dict[str, Seen] = {}
        self.total = 0
        self.from_processes = 0
        self.test = "session start-up"
        self.tests_run = 0
        self.scan_seconds = 0.0
        self._lock = threading.Lock()

    def add(self, line: str, source: str) -> None:
        key = self._TS.sub("{", line, count=1)
        with self._lock:
            self.total += 1
            if key not in self.unique:
                self.unique[key] = Seen(source, self.test)

    def scan(self, secrets: Secrets) -> list[Finding]:
        return [
            Finding(kind, seen.source, seen.test, line)
            for line, seen in self.unique.items()
            for kind in scan_line(line, secrets)
        ]


class CaptureHandler(logging.Handler):
    """Formats each record as pushd does and hands the line to ``lines``."""

    def __init__(self, lines: Lines) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines = lines

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception as e:  # noqa: BLE001 - a record that cannot format still counts
            line = f"unformattable record from {record.name}: {e!r} {record.__dict__!r}"
        self.lines.add(line, record.name)


class _KeepCapture(list[logging.Handler]):
    """The root logger's handler list: ``root.handlers[:] = [...]`` (configure_logging) keeps
    the capture handler in it."""

    def __init__(self, items: Iterable[logging.Handler], keep: logging.Handler) -> None:
        super().__init__(items)
        self._keep = keep
        if keep not in self:
            self.append(keep)

    def __setitem__(self, index: Any, value: Any) -> None:
        super().__setitem__(index, value)
        if self._keep not in self:
            self.append(self._keep)

    def clear(self) -> None:
        super().clear()
        self.append(self._keep)


SECRETS = Secrets()
LINES = Lines()
CAPTURE = CaptureHandler(LINES)


def register_secret(kind: str, value: str | bytes | None) -> None:
    """Called by the test support code wherever it makes or receives a secret."""
    SECRETS.add(kind, value)


def register_uri(uri: str) -> None:
    """A pushauth://, mfauth:// or otpauth:// URI: itself and the secrets in its query."""
    register_secret("provisioning_uri", uri)
    for key, value in parse_qsl(urlsplit(uri).query):
        if key in ("s", "secret"):
            register_secret("push_secret" if key == "s" else "otp_seed", value)


# Fields that hold a secret: in what pushd answers, and in what the tests send it.
RESPONSE_FIELDS = {
    "uri": "provisioning_uri",
    "recovery_codes": "recovery_code",
    "reauth_token": "reauth_token",
}
REQUEST_FIELDS = {
    **RESPONSE_FIELDS,
    "password": "password",
    "new_password": "password",
    "token": "emailed_token",
    "code": "one_time_code",
}


def register_fields(body: object, fields: Mapping[str, str] = RESPONSE_FIELDS) -> None:
    """Register every secret-holding field of a JSON body, at any depth."""
    if isinstance(body, Mapping):
        for key, value in body.items():
            kind = fields.get(key)
            if kind == "provisioning_uri" and isinstance(value, str):
                register_uri(value)
            elif kind is not None and isinstance(value, (str, list)):
                for item in [value] if isinstance(value, str) else value:
                    register_secret(kind, item if isinstance(item, str) else None)
            else:
                register_fields(value, fields)
    elif isinstance(body, list):
        for item in body:
            register_fields(item, fields)


def add_log_file(path: Path, source: str) -> None:
    """A subprocess's log (tests/support/cluster.py hands each pushd instance's here)."""
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return
    for line in text.splitlines():
        if line.strip():
            LINES.from_processes += 1
            LINES.add(line, f"{source} ({_logger_of(line)})")


def _logger_of(line: str) -> str:
    try:
        parsed = json.loads(line)
    except ValueError:
        return "not JSON"
    return str(parsed.get("logger", "?")) if isinstance(parsed, dict) else "not JSON"


# --- the plugin --------------------------------------------------------------------------


def _install() -> None:
    root = logging.getLogger()
    if not isinstance(root.handlers, _KeepCapture):
        root.handlers = _KeepCapture(root.handlers, CAPTURE)
    elif CAPTURE not in root.handlers:
        root.handlers.append(CAPTURE)
    root.setLevel(logging.DEBUG)


def pytest_configure(config: pytest.Config) -> None:
    """Runs before pytest's logging plugin starts (it is ``trylast``)."""
    if config.getoption("log_level") is None and config.getini("log_level") is None:
        # The root logger now lets DEBUG through; pytest's own capture (caplog, the report's
        # "Captured log" section) keeps showing what it showed before: WARNING and up.
        config.option.log_level = "WARNING"
    _install()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Iterator[None]:
    _install()  # a test may have set the root level, or replaced the handler list
    LINES.test = item.nodeid
    LINES.tests_run += 1
    yield
    LINES.test = "between tests"


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    started = time.perf_counter()
    findings = LINES.scan(SECRETS)
    LINES.scan_seconds = time.perf_counter() - started
    # A run of the whole suite that saw this little means the capture is not working.
    too_little = LINES.tests_run >= 1000 and (len(LINES.unique) < 1000 or SECRETS.registered < 100)
    session.config.stash[_RESULT] = (findings, too_little)
    if findings or too_little:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    findings, too_little = config.stash.get(_RESULT, ([], False))
    write = terminalreporter.write_line
    write(
        f"log secret scan: {LINES.total} lines ({len(LINES.unique)} distinct,"
        f" {LINES.from_processes} from pushd processes) from {LINES.tests_run} tests,"
        f" {SECRETS.registered} secrets known ({len(SECRETS)} spellings),"
        f" {len(findings)} leak(s), scanned in {LINES.scan_seconds:.1f} s"
    )
    if too_little:
        write("log secret scan FAILED: it saw too little to mean anything (is it installed?)")
    for finding in findings[:50]:
        write(f"log secret scan FAILED: {finding.describe()}", red=True)


_RESULT = pytest.StashKey[tuple[list[Finding], bool]]()
