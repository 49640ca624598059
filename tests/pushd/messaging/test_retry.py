"""The retry helper: bounded jittered back-off, transient vs permanent, one final error."""

from __future__ import annotations

import dataclasses

import pytest

from pushd.messaging import DeliveryError, RetryPolicy
from pushd.messaging.retry import Permanent, Transient, deliver
from pushd.settings import Settings
from tests.pushd.messaging.conftest import FAST_RETRY


class Flaky:
    """Raises the queued errors in turn, then succeeds."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> None:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)


def test_delays_grow_with_jitter_and_stay_capped() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=4.0)
    for _ in range(50):
        assert 0.5 <= policy.delay(1) <= 1.0
        assert 1.0 <= policy.delay(2) <= 2.0
        assert 2.0 <= policy.delay(3) <= 4.0
        assert policy.delay(30) <= 4.0
    assert len({policy.delay(1) for _ in range(20)}) > 1  # jittered


def test_default_back_off_totals_a_few_seconds() -> None:
    policy = RetryPolicy(attempts=5)
    assert sum(policy.delay(n) for n in range(1, policy.attempts)) <= 5.5


def test_attempts_come_from_the_settings() -> None:
    from pushd.messaging import retry_policy

    assert retry_policy(Settings(message_retries=5)).attempts == 5
    assert retry_policy(Settings(message_retries=0)).attempts == 1


async def test_transient_errors_are_retried_until_success() -> None:
    attempt = Flaky(Transient("smtp 421"), ConnectionResetError(), TimeoutError())
    await deliver(
        attempt,
        channel="email",
        to="a@b.example",
        policy=dataclasses.replace(FAST_RETRY, attempts=4),
    )
    assert attempt.calls == 4


async def test_permanent_error_stops_at_once() -> None:
    attempt = Flaky(Permanent("http 400"))
    with pytest.raises(DeliveryError) as raised:
        await deliver(attempt, channel="sms", to="+442079460958", policy=FAST_RETRY)
    assert attempt.calls == 1
    assert str(raised.value) == "sms delivery failed after 1 attempt(s): http 400"


async def test_a_bug_is_not_mistaken_for_a_delivery_failure() -> None:
    attempt = Flaky(KeyError("oops"))
    with pytest.raises(KeyError):
        await deliver(attempt, channel="sms", to="+442079460958", policy=FAST_RETRY)


async def test_zero_attempts_still_tries_once() -> None:
    attempt = Flaky(Transient("http 503"))
    with pytest.raises(DeliveryError):
        await deliver(
            attempt,
            channel="sms",
            to="+442079460958",
            policy=dataclasses.replace(FAST_RETRY, attempts=0),
        )
    assert attempt.calls == 1
