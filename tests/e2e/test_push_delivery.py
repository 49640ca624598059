"""The whole flow through APNs (aioapns) and FCM (firebase-admin) to authsim's gateway."""

from __future__ import annotations

from typing import Any

import pytest

from authenticator_sim.gateway import Gateway
from authenticator_sim.simulator import Simulator
from tests.support.harness import Harness

PLATFORMS = [pytest.param(True, id="iphone-apns"), pytest.param(False, id="android-fcm")]


async def enrol(h: Harness, sim: Simulator, username: str, *, ios: bool) -> None:
    _, started = await h.call("POST", f"/v1/users/{username}/push/registrations", expect=201)
    await sim.scan(started["uri"], ios=ios)
    (test,) = await sim.notifications(wait=10)  # the test notification, through the gateway
    assert await sim.answer(test, approve=True) == 200
    _, done = await h.call("GET", f"/v1/push/registrations/{started['id']}?wait=10", expect=200)
    assert done["state"] == "confirmed", done


@pytest.mark.parametrize("ios", PLATFORMS)
async def test_approve_through_the_push_service(
    make_delivering: Any, gateway: Gateway, ios: bool
) -> None:
    async with make_delivering() as (h, sim):
        await enrol(h, sim, "alice", ios=ios)
        created = await h.push_login("alice")
        (pending,) = await sim.notifications(wait=10)
        assert pending.summary()["message"] == "Login attempt from alice at Backstage"
        assert await sim.answer(pending, approve=True) == 200
        assert (await h.outcome(created["id"]))["state"] == "approved"
        answered = gateway.stats()["answered"]["apns" if ios else "fcm"]
        assert answered == {"200": 2}


@pytest.mark.parametrize("ios", PLATFORMS)
async def test_deny_and_wrong_number(make_delivering: Any, ios: bool) -> None:
    async with make_delivering(push_denial_backoff=0.0) as (h, sim):
        await enrol(h, sim, "bob", ios=ios)
        created = await h.push_login("bob")
        (pending,) = await sim.notifications(wait=10)
        await sim.answer(pending, approve=False)
        assert (await h.outcome(created["id"]))["reason"] == "denied_by_user"
        created = await h.push_login("bob", type="challenge")
        (pending,) = await sim.notifications(wait=10)
        assert pending.notification.numbers is not None
        wrong = next(n for n in pending.notification.numbers if n != created["number"])
        await sim.answer(pending, approve=True, number=wrong)
        assert (await h.outcome(created["id"]))["reason"] == "wrong_number"


@pytest.mark.parametrize("ios", PLATFORMS)
async def test_expiry_when_the_phone_stays_silent(make_delivering: Any, ios: bool) -> None:
    async with make_delivering(challenge_ttl=1.0) as (h, sim):
        await enrol(h, sim, "carol", ios=ios)
        created = await h.push_login("carol")
        (pending,) = await sim.notifications(wait=10)
        assert (await h.outcome(created["id"]))["state"] == "expired"
        assert await sim.answer(pending, approve=True) == 400


@pytest.mark.parametrize("ios", PLATFORMS)
async def test_a_dead_token_fails_at_once_and_refresh_revives_it(
    make_delivering: Any, gateway: Gateway, ios: bool
) -> None:
    async with make_delivering() as (h, sim):
        await enrol(h, sim, "dave", ios=ios)
        reason = "Unregistered" if ios else "UNREGISTERED"
        gateway.faults.add(status=410 if ios else 404, reason=reason, count=1)
        created = await h.push_login("dave")
        result = await h.outcome(created["id"])
        assert (result["state"], result["reason"]) == ("delivery_failed", reason)
        status, body = await h.call("POST", "/v1/users/dave/push/challenges", json={})
        assert (status, body["error"]["code"]) == (409, "push_device_unreachable")
        (account,) = sim.load().push
        assert await sim.refresh(account) == 200  # the app refreshes its token
        created = await h.push_login("dave")
        (pending,) = await sim.notifications(wait=10)
        await sim.answer(pending, approve=True)
        assert (await h.outcome(created["id"]))["state"] == "approved"


@pytest.mark.parametrize("ios", PLATFORMS)
async def test_5xx_then_success_is_retried_into_one_decision(
    make_delivering: Any, gateway: Gateway, ios: bool
) -> None:
    async with make_delivering() as (h, sim):
        await enrol(h, sim, "erin", ios=ios)
        reason = "ServiceUnavailable" if ios else "UNAVAILABLE"
        gateway.faults.add(status=503, reason=reason, count=2)
        created = await h.push_login("erin")
        (pending,) = await sim.notifications(wait=10)  # the third attempt got through
        await sim.answer(pending, approve=True)
        assert (await h.outcome(created["id"]))["state"] == "approved"
        metrics = await (await h.client.get("/metrics")).text()
        transport = "apns" if ios else "fcm"
        assert f'pushd_push_retries_total{{transport="{transport}"}} 2.0' in metrics
        assert (
            f'pushd_push_sends_total{{outcome="{reason}",transport="{transport}"}} 2.0' in metrics
        )


async def test_delivered_twice_is_still_one_decision(
    make_delivering: Any, gateway: Gateway
) -> None:
    async with make_delivering() as (h, sim):
        await enrol(h, sim, "fay", ios=True)
        created = await h.push_login("fay")
        (pending,) = await sim.notifications(wait=10)
        assert await sim.answer(pending, approve=True) == 200
        sim.load()  # the phone answers the same notification again (a duplicate delivery)
        from dataclasses import replace

        assert await sim.answer(replace(pending), approve=False) == 400
        assert (await h.outcome(created["id"]))["state"] == "approved"


@pytest.mark.parametrize("ios", PLATFORMS)
async def test_a_dead_token_is_counted_under_the_transport_of_its_sends(
    make_delivering: Any, gateway: Gateway, ios: bool
) -> None:
    """One ``transport`` label per push service across the metrics (FCM's is ``fcm``, never
    the wire's ``gcm``), so stale tokens and sends can be read side by side."""
    async with make_delivering() as (h, sim):
        await enrol(h, sim, "gus", ios=ios)
        reason = "Unregistered" if ios else "UNREGISTERED"
        gateway.faults.add(status=410 if ios else 404, reason=reason, count=1)
        created = await h.push_login("gus")
        assert (await h.outcome(created["id"]))["state"] == "delivery_failed"
        metrics = await (await h.client.get("/metrics")).text()
        transport = "apns" if ios else "fcm"
        assert f'pushd_push_stale_tokens_total{{transport="{transport}"}} 1.0' in metrics
        assert (
            f'pushd_push_sends_total{{outcome="{reason}",transport="{transport}"}} 1.0' in metrics
        )
        assert 'transport="gcm"' not in metrics
