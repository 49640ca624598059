"""Stopping gracefully (the drain) and re-sealing secrets under a new master key, in process."""

from __future__ import annotations

import asyncio
import secrets

from pushd.keys import Vault, key_id_of
from pushd.server import begin_drain
from pushd.services.rekey import _sealed_values, census, reseal
from pushd.store.records import SealedValue
from tests.support.harness import MASTER_KEY, Harness
from tests.support.waiting import waiters_reach

STORES = ("sqlite", "redis")  # every test here runs on both stores
BOUND = 15  # seconds: far beyond a drain's answer, far below a long-poll's 60


async def test_a_drain_answers_every_long_poll_with_its_state_now(harness: Harness) -> None:
    await harness.enrol("alice")
    created = await harness.push_login("alice")
    _, started = await harness.call("POST", "/v1/users/bob/push/registrations", expect=201)
    hub = harness.services.ctx.hub
    login = asyncio.create_task(harness.outcome(created["id"], wait=60))
    enrolment = asyncio.create_task(
        harness.call("GET", f"/v1/push/registrations/{started['id']}?wait=60&seen=pending")
    )
    await waiters_reach(hub, 2)

    begin_drain(harness.app, timeout=5)

    async with asyncio.timeout(BOUND):  # without the drain: 60 s, then the same "pending"
        assert (await login)["state"] == "pending"
        assert (await enrolment)[1]["state"] == "pending"
        # A long-poll that arrives on an open connection during the drain answers at once.
        assert (await harness.outcome(created["id"], wait=60))["state"] == "pending"
    response = await harness.client.get("/readyz")
    assert (response.status, await response.json()) == (503, {"status": "draining"})
    assert hub.count == 0


async def test_a_decision_during_the_drain_is_still_taken_and_shown(harness: Harness) -> None:
    phone, enrolled, _ = await harness.enrol("carol")
    created = await harness.push_login("carol")
    begin_drain(harness.app, timeout=5)
    assert await phone.answer(enrolled, await harness.transport.next(), approve=True) == 200
    async with asyncio.timeout(BOUND):
        assert (await harness.outcome(created["id"], wait=60))["state"] == "approved"


async def test_reseal_moves_every_secret_to_the_new_key(harness: Harness) -> None:
    await harness.enrol("alice")
    await harness.push_login("alice")  # a challenge carries the device's sealed secret too
    await harness.call("POST", "/v1/users/bob/push/registrations", expect=201)
    store = harness.services.ctx.store
    old_key, new_key = bytes.fromhex(MASTER_KEY), secrets.token_bytes(32)
    before = await census(store)
    assert set(before) == {key_id_of(old_key).hex()}
    total = before.total()
    assert total >= 4  # the hash key, the device, the challenge, the registration

    rotated = Vault([new_key, old_key])
    report = await reseal(store, rotated)
    assert (report.values, report.unopened) == (total, 0)
    assert dict(await census(store)) == {key_id_of(new_key).hex(): total}
    again = await reseal(store, rotated)
    assert (again.records, again.values) == (0, 0)  # nothing left to do: safe to re-run

    only_new = Vault([new_key])  # the old key can go: every value opens without it
    opened = 0
    for table in store.tables():
        for _, found in await table.scan_page(limit=10_000):
            for sealed in _sealed_values(found.record):
                assert only_new.open(sealed)
                opened += 1
    assert opened == total


async def test_values_under_an_unconfigured_key_are_kept_and_reported(harness: Harness) -> None:
    store = harness.services.ctx.store
    stranger = Vault([secrets.token_bytes(32)])
    await store.meta.insert("left-behind", SealedValue(sealed=stranger.seal(b"secret")))
    new_key = secrets.token_bytes(32)
    report = await reseal(store, Vault([new_key, bytes.fromhex(MASTER_KEY)]))
    assert report.unopened == 1
    kept = await store.meta.get("left-behind")
    assert kept is not None
    assert stranger.open(kept.record.sealed) == b"secret"
    assert (await census(store))[stranger.current_key_id.hex()] == 1
