"""Login challenges through the API: outcomes, the long-poll, and the fatigue defences."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from authenticator_sim.responder import read_notification
from pushd.delivery.base import SendOutcome, SendResult
from pushd.waiters import Change, LocalBus
from tests.pushd.store.conftest import FakeClock
from tests.support.harness import Harness
from tests.support.waiting import waiters_reach

STORES = ("sqlite", "redis")  # every test here runs on both stores


async def test_deny_is_a_denial_and_a_fraud_signal(harness: Harness) -> None:
    phone, enrolled, _ = await harness.enrol("alice")
    created = await harness.push_login("alice")
    message = await harness.transport.next()
    assert await phone.answer(enrolled, message, approve=False) == 200
    assert await harness.outcome(created["id"]) == {
        "id": created["id"],
        "state": "denied",
        "reason": "denied_by_user",
        "expires_at": created["expires_at"],
    }
    metrics = (await (await harness.client.get("/metrics")).text()).splitlines()
    assert 'pushd_fraud_signals_total{kind="denied"} 1.0' in metrics
    assert 'pushd_challenges_total{outcome="denied",type="default"} 1.0' in metrics


async def test_number_matching(harness: Harness) -> None:
    phone, enrolled, _ = await harness.enrol("alice")
    created = await harness.push_login("alice", type="challenge", message="Sign in to payroll")
    number = created["number"]
    message = await harness.transport.next()
    notification = read_notification(message.jwt, enrolled.secret)
    assert notification.numbers is not None
    assert number in notification.numbers
    assert notification.message == "Sign in to payroll"
    wrong = next(n for n in notification.numbers if n != number)
    assert await phone.answer(enrolled, message, number=wrong) == 200
    assert await harness.outcome(created["id"]) == {
        "id": created["id"],
        "state": "denied",
        "reason": "wrong_number",
        "expires_at": created["expires_at"],
    }


async def test_the_right_number_approves_and_no_number_is_wrong(make_harness: Any) -> None:
    async with make_harness(push_denial_backoff=0.0) as h:
        phone, enrolled, _ = await h.enrol("alice")
        created = await h.push_login("alice", type="challenge")
        message = await h.transport.next()
        assert await phone.answer(enrolled, message, number=created["number"]) == 200
        assert (await h.outcome(created["id"]))["state"] == "approved"
        created = await h.push_login("alice", type="challenge")
        message = await h.transport.next()
        assert await phone.answer(enrolled, message) == 200  # approve without a number
        assert (await h.outcome(created["id"]))["reason"] == "wrong_number"


async def test_number_matching_can_be_required_for_every_challenge(make_harness: Any) -> None:
    async with make_harness(require_number_matching=True) as h:
        await h.enrol("alice")
        created = await h.push_login("alice", type="default")
        assert 10 <= created["number"] <= 99


async def test_biometric_type_and_login_context_reach_the_phone(harness: Harness) -> None:
    _, enrolled, _ = await harness.enrol("alice")
    context = {
        "remote_ip": "203.0.113.7",
        "user_agent": "Firefox/140",
        "location": {"city": "Oslo", "latitude": 59.91},
    }
    await harness.push_login("alice", type="biometric", context=context)
    message = await harness.transport.next()
    notification = read_notification(message.jwt, enrolled.secret)
    assert notification.push_type == "biometric"
    assert notification.context_json == (
        '{"remoteIp":"203.0.113.7","userAgent":"Firefox/140",'
        '"location":{"city":"Oslo","latitude":59.91}}'
    )
    assert notification.username == "alice"
    assert notification.ttl_seconds == 120


async def test_expiry_is_owned_by_pushd(make_harness: Any) -> None:
    async with make_harness(challenge_ttl=0.5) as h:
        phone, enrolled, _ = await h.enrol("alice")
        created = await h.push_login("alice")
        message = await h.transport.next()
        result = await h.outcome(created["id"], wait=10)  # returns at expiry, not at 10 s
        assert (result["state"], result["reason"]) == ("expired", "timeout")
        assert await phone.answer(enrolled, message) == 400  # a late reply changes nothing
        assert (await h.outcome(created["id"]))["state"] == "expired"
        await h.push_login("alice")  # the expired one no longer blocks a new one


async def test_the_sweeper_expires_challenges_nobody_waits_for(make_harness: Any) -> None:
    clock = FakeClock(time.time())
    async with make_harness(clock=clock) as h:
        await h.enrol("alice")
        created = await h.push_login("alice")
        await h.transport.next()
        assert await h.services.sweeper.sweep() == 0
        clock.now += 120
        assert await h.services.sweeper.sweep() == 1
        record = await h.services.ctx.store.challenges.get(created["id"])
        assert record is not None
        assert record.record.txn.state == "expired"
        assert (await h.outcome(created["id"], wait=0))["reason"] == "timeout"


class HeldBus(LocalBus):
    """While ``gate`` is clear, a publish from a request (not the sweeper) waits for it."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.gate.set()
        self.held = asyncio.Event()
        self.published = asyncio.Event()  # a held publish went through

    async def publish(self, change: Change) -> None:
        task = asyncio.current_task()
        if not self.gate.is_set() and task is not None and task.get_name() != "pushd-expiry":
            self.held.set()
            await self.gate.wait()
            self.published.set()
        await super().publish(change)


async def test_a_long_poll_that_hangs_up_mid_expiry_still_settles_the_challenge(
    make_harness: Any,
) -> None:
    """Found by the soak: a login page hung up just as its long-poll expired the challenge;
    the write landed but the handler was cancelled before the expiry's effects (waking
    other waiters, metrics, audit, the user's guard), so the expiry was never counted."""
    clock = FakeClock(time.time())
    bus = HeldBus()
    async with make_harness(clock=clock, bus=bus, push_rate_limit=0) as h:
        await h.enrol("alice")
        for _ in range(3):  # the sweeper may expire it first (it runs every second): again
            created = await h.push_login("alice")
            await h.transport.next()
            clock.now += 121
            bus.gate.clear()
            bus.held.clear()
            poll = asyncio.create_task(h.outcome(created["id"], wait=30))
            held = asyncio.create_task(bus.held.wait())
            await asyncio.wait({poll, held}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
            held.cancel()
            if bus.held.is_set() and not poll.done():
                break  # the long-poll's handler wrote "expired" and is publishing it
            bus.gate.set()
            await poll
        else:
            pytest.fail("the sweeper expired every challenge before the long-poll did")
        poll.cancel()  # the login page hangs up
        await asyncio.gather(poll, return_exceptions=True)
        await waiters_reach(h.services.ctx.hub, 0)  # the server cancelled the handler
        bus.gate.set()
        async with asyncio.timeout(5):  # the expiry goes on: its waiters are told...
            await bus.published.wait()
        metrics = (await (await h.client.get("/metrics")).text()).splitlines()
        assert 'pushd_challenges_total{outcome="expired",type="default"} 1.0' in metrics  # counted


async def test_cancel(harness: Harness) -> None:
    phone, enrolled, _ = await harness.enrol("alice")
    created = await harness.push_login("alice")
    message = await harness.transport.next()
    poll = asyncio.create_task(harness.outcome(created["id"], wait=30))
    _, cancelled = await harness.call("DELETE", f"/v1/push/challenges/{created['id']}", expect=200)
    assert cancelled["state"] == "cancelled"
    assert (await poll)["state"] == "cancelled"
    assert await phone.answer(enrolled, message) == 400
    _, again = await harness.call("DELETE", f"/v1/push/challenges/{created['id']}", expect=409)
    assert again["error"] == {
        "code": "already_final",
        "message": "the challenge is already cancelled",
        "state": "cancelled",
    }


async def test_one_pending_challenge_per_user(harness: Harness) -> None:
    await harness.enrol("alice")
    first = await harness.push_login("alice")
    status, body = await harness.call("POST", "/v1/users/alice/push/challenges", json={})
    assert status == 409
    assert body["error"]["code"] == "challenge_pending"
    assert body["error"]["challenge_id"] == first["id"]
    await harness.transport.next()
    assert harness.transport.sent.empty()  # no second notification went out


async def test_rate_limit(make_harness: Any) -> None:
    async with make_harness(push_rate_limit=2, push_rate_window=60.0) as h:
        await h.enrol("alice")
        for _ in range(2):
            created = await h.push_login("alice")
            await h.call("DELETE", f"/v1/push/challenges/{created['id']}", expect=200)
        response = await h.client.post("/v1/users/alice/push/challenges", headers=h.auth)
        assert response.status == 429
        assert 55 <= int(response.headers["Retry-After"]) <= 60
        assert (await response.json())["error"]["code"] == "rate_limited"


async def test_backoff_grows_after_each_denial(make_harness: Any) -> None:
    async with make_harness(push_denial_backoff=0.3, push_suspend_after=0) as h:
        phone, enrolled, _ = await h.enrol("alice")
        for denials in (1, 2):
            created = await h.push_login("alice")
            assert await phone.answer(enrolled, await h.transport.next(), approve=False) == 200
            await h.outcome(created["id"])
            status, body = await h.call("POST", "/v1/users/alice/push/challenges", json={})
            assert (status, body["error"]["code"]) == (429, "rate_limited")
            await asyncio.sleep(0.3 * 2 ** (denials - 1))  # the back-off itself is time
        created = await h.push_login("alice")
        assert await phone.answer(enrolled, await h.transport.next()) == 200
        assert (await h.outcome(created["id"]))["state"] == "approved"
        await h.push_login("alice")  # an approval resets the back-off


async def test_push_is_suspended_after_n_fraud_signals(make_harness: Any) -> None:
    from pushd.cli import main

    async with make_harness(push_suspend_after=2, push_denial_backoff=0.0) as h:
        phone, enrolled, _ = await h.enrol("alice")
        for _ in range(2):
            created = await h.push_login("alice")
            assert await phone.answer(enrolled, await h.transport.next(), approve=False) == 200
            await h.outcome(created["id"])
        status, body = await h.call("POST", "/v1/users/alice/push/challenges", json={})
        assert (status, body["error"]["code"]) == (403, "push_suspended")
        with pytest.MonkeyPatch.context() as patch:
            for name, value in h.cli_env().items():
                patch.setenv(name, value)
            assert await asyncio.to_thread(main, ["push", "unsuspend", "alice"]) == 0
        await h.push_login("alice")
        _, log = await h.call("GET", "/v1/admin/audit?username=alice", expect=200, admin=True)
        kinds = [event["kind"] for event in log["events"]]
        assert kinds.count("fraud_signal") == 2
        assert kinds.count("push_suspended") == 1  # recorded with the real clock too


async def test_dead_tokens_fail_at_once_and_refresh_revives(harness: Harness) -> None:
    phone, enrolled, _ = await harness.enrol("alice")
    harness.transport.script.append(
        SendResult(outcome=SendOutcome.UNREGISTERED, reason="Unregistered", status=410)
    )
    created = await harness.push_login("alice")
    result = await harness.outcome(created["id"])
    assert (result["state"], result["reason"]) == ("delivery_failed", "Unregistered")
    status, body = await harness.call("POST", "/v1/users/alice/push/challenges", json={})
    assert (status, body["error"]["code"]) == (409, "push_device_unreachable")
    assert await phone.refresh(enrolled, new_token="fcm:fresh") == 200
    await harness.push_login("alice")


async def test_many_waiters_on_one_challenge_all_wake(harness: Harness) -> None:
    phone, enrolled, _ = await harness.enrol("alice")
    created = await harness.push_login("alice")
    message = await harness.transport.next()
    polls = [asyncio.create_task(harness.outcome(created["id"], wait=30)) for _ in range(50)]
    hub = harness.services.ctx.hub
    await waiters_reach(hub, 50)
    assert await phone.answer(enrolled, message) == 200
    results = await asyncio.gather(*polls)
    assert {r["state"] for r in results} == {"approved"}
    assert hub.count == 0


async def test_a_client_that_disconnects_leaves_no_waiter(harness: Harness) -> None:
    await harness.enrol("alice")
    created = await harness.push_login("alice")
    poll = asyncio.create_task(harness.outcome(created["id"], wait=30))
    hub = harness.services.ctx.hub
    await waiters_reach(hub, 1)
    poll.cancel()
    await asyncio.gather(poll, return_exceptions=True)
    # handler_cancellation is on: the server sees the disconnect and drops the waiter
    await waiters_reach(hub, 0)


async def test_wait_zero_answers_at_once(harness: Harness) -> None:
    await harness.enrol("alice")
    created = await harness.push_login("alice")
    assert (await harness.outcome(created["id"], wait=0))["state"] == "pending"


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        ("/v1/users/alice/push/challenges", {"type": "telepathy"}, 400, "invalid_request"),
        ("/v1/users/alice/push/challenges", {"message": ""}, 400, "invalid_request"),
        ("/v1/users/alice/push/challenges", {"message": "x" * 257}, 400, "invalid_request"),
        ("/v1/users/alice/push/challenges", {"surprise": 1}, 400, "invalid_request"),
        (
            "/v1/users/alice/push/challenges",
            {"context": {"remote_ip": "nope"}},
            400,
            "invalid_request",
        ),
        ("/v1/users/alice/push/challenges", {"context": {"location": [1]}}, 400, "invalid_request"),
        ("/v1/users/alice/push/challenges", {"context": "x"}, 400, "invalid_request"),
        ("/v1/users/alice/push/challenges", [1, 2], 400, "invalid_request"),
        ("/v1/users/nobody/push/challenges", {}, 404, "user_not_found"),
        ("/v1/users/bob/push/challenges", {}, 409, "no_push_device"),
        ("/v1/users/bo%20b/push/challenges", {}, 400, "invalid_request"),
        ("/v1/users/bob/push/registrations", {"issuer": 5}, 400, "invalid_request"),
        ("/v1/users/bob/push/registrations", {"issuer": "a\u0000b"}, 400, "invalid_request"),
        ("/v1/users/" + "x" * 129 + "/push/registrations", {}, 400, "invalid_request"),
    ],
)
async def test_bad_requests_get_clear_errors(
    harness: Harness, path: str, body: object, status: int, code: str
) -> None:
    await harness.call("POST", "/v1/users/bob/push/registrations", expect=201)
    got_status, got = await harness.call("POST", path, json=body)
    assert (got_status, got["error"]["code"]) == (status, code)


@pytest.mark.parametrize("query", ["wait=61", "wait=-1", "wait=soon", "wait=nan"])
async def test_bad_waits(harness: Harness, query: str) -> None:
    await harness.enrol("alice")
    created = await harness.push_login("alice")
    status, body = await harness.call("GET", f"/v1/push/challenges/{created['id']}?{query}")
    assert (status, body["error"]["code"]) == (400, "invalid_request")


async def test_unknown_ids_are_404(harness: Harness) -> None:
    for method in ("GET", "DELETE"):
        for kind in ("challenges", "registrations"):
            status, body = await harness.call(method, f"/v1/push/{kind}/nope")
            assert (status, body["error"]["code"]) == (404, "not_found")


async def test_a_registration_test_challenge_is_not_visible_as_a_login(harness: Harness) -> None:
    _, started = await harness.call("POST", "/v1/users/bob/push/registrations", expect=201)
    await harness.phone().scan(started["uri"])
    test = await harness.transport.next()
    test_id = test.message_id.split(":", 1)[1][:36]
    status, _ = await harness.call("GET", f"/v1/push/challenges/{test_id}")
    assert status == 404
