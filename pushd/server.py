"""``pushd serve``: aiohttp's server, with deadlines and limits for slow, idle and flooding
clients.

What aiohttp 3.14 does by itself (``aiohttp/web_protocol.py``, ``RequestHandler``):

- ``connection_made`` starts the keep-alive timer, so a connection that never sends a request
  is closed after ``keepalive_timeout`` (75 s under ``web.run_app``). That one timer is also the
  only bound on a request's headers: there is no header deadline of its own.
- Nothing bounds a request body: a handler reading it waits for as long as the client trickles.
- A request head over ``max_line_size``, ``max_field_size`` or ``max_headers`` is answered
  ``400`` in text/plain by ``handle_error``, which logs the parse error with its traceback.
- Nothing limits the number of open connections.

So pushd adds, per connection, a header deadline (``PUSHD_HEADER_TIMEOUT``) and a cap on open
connections that closes those still waiting for a request's headers first
(``PUSHD_MAX_CONNECTIONS``); JSON ``431``/``400`` answers to bad request heads; and, per request,
a body deadline answered ``408`` (``PUSHD_BODY_TIMEOUT``, ``PUSHD_BODY_MIN_RATE``).
"""

from __future__ import annotations

import asyncio
import logging
import resource
import signal
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError, LineTooLong
from aiohttp.streams import StreamReader
from aiohttp.typedefs import Middleware

from pushd.appkeys import SERVICES, SHUTDOWN
from pushd.errors import ApiError
from pushd.logs import JsonAccessLogger
from pushd.settings import Settings

log = logging.getLogger("pushd.server")

FD_RESERVE = 256  # descriptors kept for the store, Redis, APNs/FCM, SMTP and logs
BACKLOG = 1024  # a burst of connections waits in the kernel rather than retrying its SYN
WARN_EVERY = 10.0  # seconds between two warnings that the connection limit was reached

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def serve(app: web.Application, settings: Settings, *, access_log: logging.Logger | None) -> None:
    """Serve ``app`` (adding the body deadline to its middlewares) until SIGINT or SIGTERM,
    then shut down gracefully. ``web.run_app`` cannot be told which protocol to use, so this
    does what it does, with ``GuardedRequestHandler`` on the listening socket."""
    asyncio.run(_serve(app, settings, access_log))


async def _serve(
    app: web.Application, settings: Settings, access_log: logging.Logger | None
) -> None:
    app.middlewares.append(body_deadline(settings.body_timeout, settings.body_min_rate))
    runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=settings.drain_timeout)
    await runner.setup()
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    listener = None
    try:
        manager = runner.server
        assert manager is not None  # noqa: S101 - set by setup()
        guard = ConnectionGuard(settings.header_timeout, connection_limit(settings))
        options: dict[str, Any] = {
            "keepalive_timeout": settings.keepalive_timeout,
            "max_line_size": settings.max_header_bytes,
            "max_field_size": settings.max_header_bytes,
            "access_log_class": JsonAccessLogger,
            "access_log": access_log,
        }
        listener = await loop.create_server(
            lambda: GuardedRequestHandler(manager, guard=guard, loop=loop, **options),
            settings.host,
            settings.port,
            backlog=BACKLOG,
        )
        await stop.wait()
        begin_drain(app, settings.drain_timeout)
    finally:
        if listener is not None:
            listener.close()  # no new connections
        # Requests in progress may finish (long-polls answer at once: see begin_drain), idle
        # connections close, then cleanup lets sends in flight finish within the deadline.
        await runner.cleanup()
    log.info("pushd stopped")


def begin_drain(app: web.Application, timeout: float) -> None:
    """Stop gracefully: readiness turns 503, every long-poll (waiting or still to come on an
    open connection) answers with its record's state now, and the deadline is set."""
    app[SHUTDOWN].deadline = asyncio.get_running_loop().time() + timeout
    woken = app[SERVICES].ctx.hub.drain()
    log.info("pushd stopping: draining", extra={"waiters": woken, "timeout": timeout})


def connection_limit(settings: Settings) -> int:
    """``PUSHD_MAX_CONNECTIONS``, or the open-files limit less what pushd needs besides."""
    if settings.max_connections:
        return settings.max_connections
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 1_000_000
    return max(soft - FD_RESERVE, 64)


class ConnectionGuard:
    """Open connections, and (oldest first) those still waiting for a request's headers:
    at the limit, the oldest of those is closed to make room; if there is none, the new one."""

    __slots__ = ("_dropped", "_warned_at", "header_timeout", "limit", "open", "waiting")

    def __init__(self, header_timeout: float, limit: int) -> None:
        self.header_timeout = header_timeout
        self.limit = limit
        self.open: set[GuardedRequestHandler] = set()
        self.waiting: dict[GuardedRequestHandler, None] = {}
        self._dropped = 0
        self._warned_at: float | None = None

    def admit(self, connection: GuardedRequestHandler, now: float) -> bool:
        if len(self.open) >= self.limit:
            oldest = next(iter(self.waiting), None)
            self._note_full(now)
            if oldest is None:
                return False
            oldest.drop()
        self.open.add(connection)
        return True

    def _note_full(self, now: float) -> None:
        self._dropped += 1
        if self._warned_at is None or now - self._warned_at >= WARN_EVERY:
            log.warning(
                "connection limit reached: closing idle or new connections",
                extra={"limit": self.limit, "closed": self._dropped},
            )
            self._warned_at, self._dropped = now, 0


class GuardedRequestHandler(web.RequestHandler):
    """aiohttp's protocol, plus a deadline on each request's headers, a place under the
    connection limit, and JSON answers to request heads it cannot parse."""

    __slots__ = ("_admitted", "_guard", "_head_deadline")

    def __init__(self, manager: web.Server, *, guard: ConnectionGuard, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._guard = guard
        self._admitted = False
        self._head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if not self._guard.admit(self, self._loop.time()):
            transport.close()  # at the limit, and no connection is waiting for its headers
            return
        self._admitted = True
        super().connection_made(transport)
        self._expect_head()  # the first request's headers, from the moment it connects

    def data_received(self, data: bytes) -> None:
        if not self._admitted:
            return
        heads = self._request_count  # aiohttp's count of heads parsed on this connection
        between_requests = self._head_deadline is None and self._parked()
        super().data_received(data)
        if self._request_count != heads:  # a whole head arrived (or one that cannot parse)
            self._head_arrived()
        elif between_requests and data:  # a later request has begun, its head still partial
            self._expect_head()

    def connection_lost(self, exc: BaseException | None) -> None:
        if not self._admitted:
            return
        self._head_arrived()
        self._guard.open.discard(self)
        super().connection_lost(exc)

    def drop(self) -> None:
        """Close at once, giving up the place under the limit now."""
        self._head_arrived()
        self._guard.open.discard(self)
        self.force_close()

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if not isinstance(exc, HttpProcessingError):
            return super().handle_error(request, status, exc, message)
        # aiohttp's parser raises LineTooLong for a request line or header over its limit.
        if isinstance(exc, LineTooLong) or "Too many headers" in exc.message:
            error = ApiError(431, "header_too_large", "the request's headers are too large")
        else:
            error = ApiError(400, "invalid_request", "the request could not be read as HTTP")
        # Never the parser's message: it quotes the header, which may carry a key.
        log.debug("unreadable request head", extra={"error": type(exc).__name__})
        response = web.json_response(error.body(), status=error.status)
        response.force_close()
        return response

    def _parked(self) -> bool:
        """aiohttp waits for the next request (the state its own keep-alive check uses)."""
        waiter = self._waiter
        return waiter is not None and not waiter.done()

    def _expect_head(self) -> None:
        self._head_deadline = self._loop.call_later(self._guard.header_timeout, self._head_late)
        self._guard.waiting[self] = None

    def _head_arrived(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None
            self._guard.waiting.pop(self, None)

    def _head_late(self) -> None:
        self._head_deadline = None
        self._guard.waiting.pop(self, None)
        if self._parked():
            self.force_close()


class BodyTimeout(TimeoutError):
    """Set on a request body that did not arrive in time. A ``TimeoutError`` so that aiohttp,
    reading what is left of the body after the answer, stops quietly and closes the
    connection (``RequestHandler.start``'s lingering read catches ``TimeoutError``)."""


def body_deadline(timeout: float, min_rate: int) -> Middleware:
    """A request's body must arrive within ``timeout`` seconds of its headers, plus one second
    per ``min_rate`` bytes received: a slow but steady upload goes on, a trickle gets 408."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.content.is_eof():  # no body, or all of it came with the headers
            return await handler(request)
        deadline = _BodyDeadline(request.content, timeout, min_rate)
        try:
            return await handler(request)
        except BodyTimeout:
            raise ApiError(
                408,
                "request_timeout",
                "the request body did not arrive in time",
                headers={"Connection": "close"},
            ) from None
        finally:
            deadline.cancel()

    return middleware


class _BodyDeadline:
    __slots__ = ("_body", "_first_due", "_loop", "_min_rate", "_timer")

    def __init__(self, body: StreamReader, timeout: float, min_rate: int) -> None:
        self._body, self._min_rate = body, min_rate
        self._loop = asyncio.get_running_loop()
        self._first_due = self._loop.time() + timeout  # the due time before any byte earns more
        self._timer = self._loop.call_at(self._first_due, self._check, self._first_due)

    def _check(self, scheduled: float) -> None:
        if self._body.is_eof():
            return
        earned = self._body.total_bytes / self._min_rate if self._min_rate else 0.0
        due = self._first_due + earned
        if due <= scheduled:  # nothing received since the last check earned more time
            self._body.set_exception(BodyTimeout())
        else:
            self._timer = self._loop.call_at(due, self._check, due)

    def cancel(self) -> None:
        self._timer.cancel()
