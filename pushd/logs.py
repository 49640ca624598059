"""JSON log lines: one per request, plus events; never a secret, code, token or JWT."""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse

_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        line.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, separators=(",", ":"))


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


class JsonAccessLogger(AbstractAccessLogger):
    """Route templates rather than raw paths, and never the query string or a body."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        try:
            resource = request.match_info.route.resource  # type: ignore[attr-defined]
        except (AttributeError, AssertionError):  # a head aiohttp could not parse: never routed
            resource = None
        self.logger.info(
            "request",
            extra={
                "method": request.method,
                "route": resource.canonical if resource is not None else "unmatched",
                "status": response.status,
                "duration_ms": round(time * 1000, 2),
                "bytes": response.body_length,
                "remote": request.remote,
            },
        )

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)
