"""The dispatcher's retries: back-off, Retry-After, the expiry bound, the live check."""

from __future__ import annotations

import asyncio
import time

from mfa_core.push import PushType
from mfa_core.push_replies import Transport
from pushd.delivery.base import PushMessage, SendOutcome, SendResult
from pushd.delivery.dispatcher import Dispatcher, RetryPolicy
from pushd.metrics import Metrics

FAST = RetryPolicy(attempts=4, base=0.001, cap=0.002, send_timeout=0.5)


class ScriptedTransport:
    name = "scripted"

    def __init__(self, *results: SendResult | None) -> None:
        self.results = list(results)
        self.calls = 0
        self.closed = False

    async def send(self, _message: PushMessage) -> SendResult:
        self.calls += 1
        result = self.results.pop(0) if self.results else SendResult(outcome=SendOutcome.DELIVERED)
        if result is None:
            await asyncio.sleep(10)  # a stalled connection
            raise AssertionError("not reached")
        return result

    async def close(self) -> None:
        self.closed = True


def message(expires_in: float = 60.0) -> PushMessage:
    return PushMessage(
        key="c1",
        message_id="AUTHENTICATE:x",
        jwt="j",
        push_token="t",
        platform=Transport.FCM,
        push_type=PushType.DEFAULT,
        alert="hi",
        expires_at=time.time() + expires_in,
    )


RETRY = SendResult(outcome=SendOutcome.RETRY, reason="ServiceUnavailable", status=503)


async def dispatch(
    transport: ScriptedTransport, msg: PushMessage, policy: RetryPolicy = FAST, live: bool = True
) -> list[SendResult]:
    metrics = Metrics()
    dispatcher = Dispatcher({Transport.FCM: transport}, metrics, policy=policy)
    results: list[SendResult] = []
    done = asyncio.Event()

    async def on_result(_m: PushMessage, result: SendResult) -> None:
        results.append(result)
        done.set()

    async def is_live(_m: PushMessage) -> bool:
        if not live:
            done.set()
        return live

    dispatcher.set_result_handler(on_result, is_live=is_live)
    assert dispatcher.submit(msg)
    async with asyncio.timeout(5):
        await done.wait()
    await dispatcher.close()
    assert transport.closed
    return results


async def test_5xx_then_success_is_retried() -> None:
    transport = ScriptedTransport(RETRY, RETRY)
    assert [r.outcome for r in await dispatch(transport, message())] == [SendOutcome.DELIVERED]
    assert transport.calls == 3


async def test_attempts_are_bounded() -> None:
    transport = ScriptedTransport(RETRY, RETRY, RETRY, RETRY, RETRY)
    results = await dispatch(transport, message())
    assert [r.reason for r in results] == ["ServiceUnavailable"]
    assert transport.calls == 4


async def test_permanent_failures_are_not_retried() -> None:
    gone = SendResult(outcome=SendOutcome.UNREGISTERED, reason="Unregistered", status=410)
    transport = ScriptedTransport(gone)
    assert await dispatch(transport, message()) == [gone]
    assert transport.calls == 1


async def test_no_retry_past_the_challenges_expiry() -> None:
    # The next try would come 30 s later (Retry-After: jitter alone may be short), the
    # challenge expires in 2: the send gives up at once instead.
    later = SendResult(outcome=SendOutcome.RETRY, reason="Unavailable", retry_after=30)
    transport = ScriptedTransport(later, RETRY)
    slow = RetryPolicy(attempts=5, base=30, cap=30, send_timeout=1)
    results = await dispatch(transport, message(expires_in=2.0), policy=slow)
    assert (transport.calls, results[0].outcome) == (1, SendOutcome.RETRY)


async def test_retry_after_is_honoured_within_the_expiry() -> None:
    throttled = SendResult(outcome=SendOutcome.RETRY, reason="QUOTA_EXCEEDED", retry_after=120)
    transport = ScriptedTransport(throttled)
    results = await dispatch(transport, message(expires_in=60))
    assert (transport.calls, results[0].reason) == (1, "QUOTA_EXCEEDED")
    assert FAST.delay(1, 3.0) == 3.0
    assert 0 <= FAST.delay(10, None) <= FAST.cap


async def test_a_stalled_send_times_out_and_is_retried() -> None:
    transport = ScriptedTransport(None)
    results = await dispatch(transport, message())
    assert (transport.calls, results[0].outcome) == (2, SendOutcome.DELIVERED)


async def test_retries_stop_once_the_challenge_is_decided() -> None:
    transport = ScriptedTransport(RETRY, RETRY)
    assert await dispatch(transport, message(), live=False) == []
    assert transport.calls == 1


async def test_a_raising_transport_is_a_transport_error() -> None:
    class Broken(ScriptedTransport):
        async def send(self, _message: PushMessage) -> SendResult:
            self.calls += 1
            if self.calls == 1:
                raise RuntimeError("library bug")
            return SendResult(outcome=SendOutcome.DELIVERED)

    transport = Broken()
    assert [r.outcome for r in await dispatch(transport, message())] == [SendOutcome.DELIVERED]


async def test_no_transport_for_the_platform() -> None:
    dispatcher = Dispatcher({}, Metrics())
    assert not dispatcher.submit(message())
    assert not dispatcher.can_send(Transport.APNS)
