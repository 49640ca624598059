"""Operating a real ``pushd serve``: the health probe, a graceful stop under load, and a
master-key rotation across restarts with ``pushd keys``."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp

from authenticator_sim.gateway import Gateway
from mfa_core.push_state import PushState
from pushd.keys import key_id_of
from pushd.store.sqlite import SQLiteEngine
from pushd.store.tables import Store
from tests.support.cluster import Api, Instance, instance, next_notification, run_cli, via
from tests.support.harness import MASTER_KEY
from tests.support.log_scan import register_secret
from tests.support.phone import Enrolled, SimPhone

BOUND = 30.0  # seconds: generous bounds on things that happen in well under one


def serve_env(gateway: Gateway | None = None, /, **extra: str) -> dict[str, str]:
    env = {**os.environ, "PUSHD_MASTER_KEY": MASTER_KEY, "PUSHD_ACCESS_LOG": "false",
           "PUSHD_LOG_LEVEL": "warning", **(gateway.pushd_env() if gateway else {}),
           **extra}  # fmt: skip
    for name in ("PUSHD_CONFIG", "PUSHD_REDIS_URL"):
        env.pop(name, None)
    return env


async def check(*args: str, env: dict[str, str]) -> int:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pushd", "check", *args, env=env, stderr=asyncio.subprocess.DEVNULL
    )
    return await asyncio.wait_for(process.wait(), BOUND)


async def stop(node: Instance) -> int:
    node.process.send_signal(signal.SIGTERM)
    return await asyncio.wait_for(node.process.wait(), BOUND)


@asynccontextmanager
async def login_api(
    node: Instance, env: dict[str, str], session: aiohttp.ClientSession | None = None
) -> AsyncIterator[Api]:
    key = await run_cli("apikey", "create", "login-page", env={**env, **_own(node)})
    async with aiohttp.ClientSession() as own:
        yield Api(session or own, node.base, key)


def _own(node: Instance) -> dict[str, str]:
    """The data directory ``instance`` gave the node (its embedded store and key file)."""
    return {"PUSHD_DATA_DIR": str(node.log.parent / node.name)}


async def test_pushd_check_reports_readiness_and_liveness(tmp_path: Path) -> None:
    env = serve_env()
    async with instance("a", tmp_path, env) as node:
        port = node.base.rsplit(":", 1)[1]
        probe_env = {**env, "PUSHD_PORT": port}
        assert await check(env=probe_env) == 0
        assert await check("--live", env=probe_env) == 0
        assert await check("--url", f"{node.base}/nothing-here", env=probe_env) == 1
        assert await stop(node) == 0
        assert await check(env=probe_env) == 1  # nobody listens any more


async def test_a_stop_answers_long_polls_and_finishes_sends_in_flight(
    tmp_path: Path, gateway: Gateway
) -> None:
    env = serve_env(gateway, PUSHD_DRAIN_TIMEOUT="20")
    async with instance("a", tmp_path, env) as node, login_api(node, env) as api:
        await api.enrol("alice")
        # The next send stalls at "FCM" for longer than an ordinary close would wait (5 s).
        gateway.faults.add(platform="fcm", status=200, stall=7.0, count=1)
        status, created = await api.call("POST", "/v1/users/alice/push/challenges", json={})
        assert status == 201
        long_poll = asyncio.create_task(
            api.call("GET", f"/v1/push/challenges/{created['id']}?wait=60")
        )
        await asyncio.sleep(0.5)  # the long-poll is waiting and the send is in flight
        node.process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(BOUND):
            status, body = await long_poll  # answered at once, with the state as it is
            assert (status, body["state"]) == (200, "pending")
            assert await node.process.wait() == 0
    # The stalled send was finished, not cancelled: its delivery is recorded.
    data_dir = Path(_own(node)["PUSHD_DATA_DIR"])
    store = Store(await SQLiteEngine.open(data_dir / "pushd.db", clock=time.time))
    try:
        found = await store.challenges.get(created["id"])
        assert found is not None
        assert found.record.txn.state is PushState.DELIVERED
    finally:
        await store.close()
    assert gateway.stats()["delivered"]["fcm"] >= 2  # the registration's test push, the login


async def _approve_one(api: Api, phone: SimPhone, enrolled: Enrolled, user: str) -> None:
    status, created = await api.call("POST", f"/v1/users/{user}/push/challenges", json={})
    assert status == 201, created
    assert await phone.answer(enrolled, await next_notification(phone, enrolled)) == 200
    status, body = await api.call("GET", f"/v1/push/challenges/{created['id']}?wait=10")
    assert body["state"] == "approved", body


async def test_master_key_rotation_across_restarts(tmp_path: Path) -> None:
    old, new = MASTER_KEY, secrets.token_hex(32)
    register_secret("master_key", new)

    async with aiohttp.ClientSession() as session:  # the phone's, across the restarts
        await _rotate(tmp_path, session, old, new)


async def _rotate(tmp_path: Path, session: aiohttp.ClientSession, old: str, new: str) -> None:
    old_id, new_id = (key_id_of(bytes.fromhex(k)).hex() for k in (old, new))
    async with (
        instance("a", tmp_path, serve_env()) as node,
        login_api(node, serve_env(), session) as api,
    ):
        phone, enrolled = await api.enrol("alice")
        await _approve_one(api, phone, enrolled, "alice")
        data = _own(node)

    async def status(env: dict[str, str]) -> dict[str, int]:
        out = await run_cli("keys", "status", env={**env, **data})
        return {line.split()[0]: int(line.split()[1]) for line in out.splitlines()[1:]}

    before = await status(serve_env())
    assert set(before) == {old_id}
    assert before[old_id] > 0

    # Step 3 of the runbook: seal with the new key, still open the old one.
    both = serve_env(PUSHD_MASTER_KEY=new, PUSHD_OTHER_MASTER_KEYS=old, **data)
    async with instance("a", tmp_path, both) as node, login_api(node, both, session) as api:
        await _approve_one(api, phone, via(enrolled, node.base), "alice")
        await run_cli("keys", "reseal", env=both)
    after = await status(both)
    assert after.get(old_id, 0) == 0
    assert after[new_id] >= before[old_id]

    # Step 5: the old key is gone; every secret (the hash key, the device's) still opens.
    only_new = serve_env(PUSHD_MASTER_KEY=new, **data)
    async with instance("a", tmp_path, only_new) as node, login_api(node, only_new, session) as api:
        await _approve_one(api, phone, via(enrolled, node.base), "alice")
