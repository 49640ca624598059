"""Sends notifications in the background, retries what is worth retrying, reports once.

Each attempt is bounded by a timeout; a transport that raises is logged and treated
as a transport error. RETRY outcomes (429, 5xx, timeouts, connection trouble) are
tried again after an exponential back-off with full jitter, honouring Retry-After,
never past the challenge's expiry and never once the challenge is decided. The final
result goes to ``on_result`` (the challenge service), exactly once per message.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from mfa_core.push_replies import Transport
from pushd.delivery.base import (
    TRANSPORT_LABELS,
    PushMessage,
    PushTransport,
    SendOutcome,
    SendResult,
)
from pushd.metrics import Metrics

log = logging.getLogger("pushd.delivery")
ResultHandler = Callable[[PushMessage, SendResult], Awaitable[None]]
LiveCheck = Callable[[PushMessage], Awaitable[bool]]
_jitter = secrets.SystemRandom()


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    attempts: int = 5
    base: float = 0.5
    cap: float = 8.0
    send_timeout: float = 10.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Full jitter over an exponential ceiling, but never sooner than Retry-After."""
        ceiling = min(self.cap, self.base * 2 ** (attempt - 1))
        return max(_jitter.uniform(0, ceiling), retry_after or 0.0)


class Dispatcher:
    def __init__(
        self,
        transports: Mapping[Transport, PushTransport],
        metrics: Metrics,
        *,
        policy: RetryPolicy | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._transports = dict(transports)
        self._metrics = metrics
        self._policy = policy or RetryPolicy()
        self._clock = clock
        self._tasks: set[asyncio.Task[None]] = set()
        self._on_result: ResultHandler | None = None
        self._is_live: LiveCheck | None = None

    def set_result_handler(
        self, handler: ResultHandler, *, is_live: LiveCheck | None = None
    ) -> None:
        self._on_result = handler
        self._is_live = is_live

    def can_send(self, platform: Transport) -> bool:
        return platform in self._transports

    def submit(self, message: PushMessage) -> bool:
        """Start sending; ``False`` when no transport serves the device's platform."""
        transport = self._transports.get(message.platform)
        if transport is None:
            self._metrics.sends.labels(TRANSPORT_LABELS[message.platform], "not_configured").inc()
            return False
        task = asyncio.create_task(self._deliver(transport, message))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def _deliver(self, transport: PushTransport, message: PushMessage) -> None:
        attempt = 1
        result = await self._send_once(transport, message)
        while result.outcome is SendOutcome.RETRY and attempt < self._policy.attempts:
            delay = self._policy.delay(attempt, result.retry_after)
            if self._clock() + delay >= message.expires_at:
                break  # the challenge would expire first
            await asyncio.sleep(delay)
            if self._is_live is not None and not await self._is_live(message):
                return  # answered (e.g. through the poll fallback), expired or cancelled
            attempt += 1
            self._metrics.send_retries.labels(transport.name).inc()
            result = await self._send_once(transport, message)
        if self._on_result is not None:
            await self._on_result(message, result)

    async def _send_once(self, transport: PushTransport, message: PushMessage) -> SendResult:
        self._metrics.sends_in_flight.inc()
        started = time.monotonic()
        try:
            async with asyncio.timeout(self._policy.send_timeout):
                result = await transport.send(message)
        except TimeoutError:
            result = SendResult(outcome=SendOutcome.RETRY, reason="timeout")
        except Exception:  # a transport bug must not kill the dispatcher
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
