"""Sends notifications in the background and reports each final result.

Every send is bounded by a timeout; a transport that raises is logged and treated
as a transport error. Results go to ``on_result`` (the challenge service).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping

from mfa_core.push_replies import Transport
from pushd.delivery.base import PushMessage, PushTransport, SendOutcome, SendResult
from pushd.metrics import Metrics

log = logging.getLogger("pushd.delivery")
ResultHandler = Callable[[PushMessage, SendResult], Awaitable[None]]


class Dispatcher:
    def __init__(
        self,
        transports: Mapping[Transport, PushTransport],
        metrics: Metrics,
        *,
        send_timeout: float = 10.0,
    ) -> None:
        self._transports = dict(transports)
        self._metrics = metrics
        self._send_timeout = send_timeout
        self._tasks: set[asyncio.Task[None]] = set()
        self._on_result: ResultHandler | None = None

    def set_result_handler(self, handler: ResultHandler) -> None:
        self._on_result = handler

    def can_send(self, platform: Transport) -> bool:
        return platform in self._transports

    def submit(self, message: PushMessage) -> bool:
        """Start sending; ``False`` when no transport serves the device's platform."""
        transport = self._transports.get(message.platform)
        if transport is None:
            self._metrics.sends.labels(str(message.platform), "not_configured").inc()
            return False
        task = asyncio.create_task(self._deliver(transport, message))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def _deliver(self, transport: PushTransport, message: PushMessage) -> None:
        result = await self._send_once(transport, message)
        if self._on_result is not None:
            await self._on_result(message, result)

    async def _send_once(self, transport: PushTransport, message: PushMessage) -> SendResult:
        self._metrics.sends_in_flight.inc()
        started = time.monotonic()
        try:
            async with asyncio.timeout(self._send_timeout):
                result = await transport.send(message)
        except TimeoutError:
            result = SendResult(outcome=SendOutcome.RETRY, reason="timeout")
        except Exception:
            log.exception("push transport failed", extra={"transport": transport.name})
            result = SendResult(outcome=SendOutcome.RETRY, reason="transport_error")
        finally:
            self._metrics.sends_in_flight.dec()
        self._metrics.send_seconds.labels(transport.name).observe(time.monotonic() - started)
        self._metrics.sends.labels(transport.name, result.reason or str(result.outcome)).inc()
        return result

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    async def close(self, grace: float = 5.0) -> None:
        """Let in-flight sends finish (up to ``grace`` seconds), then close the transports."""
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        for transport in self._transports.values():
            await transport.close()
