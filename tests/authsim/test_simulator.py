"""authsim against a real pushd on 127.0.0.1, through the poll fallback (no gateway)."""

from __future__ import annotations

import asyncio
import json
import os
import stat
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import segno

from authenticator_sim import wallet as wallets
from authenticator_sim.cli import main
from authenticator_sim.qr import QrError, decode_image
from authenticator_sim.simulator import AutoMode, Simulator, SimulatorError
from authenticator_sim.wallet import OathAccount, PushAccount, WalletError
from mfa_core.oath import OathKind, OathParameters, build_otpauth_uri, hotp, totp
from tests.support.harness import Harness


@pytest.fixture
async def sim(harness: Harness, tmp_path: Path) -> Any:
    async with aiohttp.ClientSession() as session:
        yield Simulator(tmp_path / "wallet.json", session, gateway=None)


async def register(h: Harness, sim: Simulator, username: str, *, ios: bool = False) -> PushAccount:
    _, started = await h.call("POST", f"/v1/users/{username}/push/registrations", expect=201)
    (account,) = await sim.scan(started["uri"], ios=ios)
    assert isinstance(account, PushAccount)
    (test,) = await sim.notifications(wait=0)
    assert await sim.answer(test, approve=True) == 200
    _, done = await h.call("GET", f"/v1/push/registrations/{started['id']}?wait=5", expect=200)
    assert done["state"] == "confirmed"
    return account


async def test_scan_approve_and_deny(harness: Harness, sim: Simulator) -> None:
    account = await register(harness, sim, "alice")
    assert sim.load().push[0].issuer == "Backstage"
    _, created = await harness.call("POST", "/v1/users/alice/push/challenges", expect=201)
    (pending,) = await sim.notifications()
    assert pending.account.account_id == account.account_id
    assert pending.summary()["message"] == "Login attempt from alice at Backstage"
    assert await sim.answer(pending, approve=False) == 200
    _, done = await harness.call("GET", f"/v1/push/challenges/{created['id']}", expect=200)
    assert done["state"] == "denied"
    assert await sim.notifications() == []  # answered ones are gone for good


async def test_ios_flavour(harness: Harness, sim: Simulator) -> None:
    account = await register(harness, sim, "ivy", ios=True)
    wallet = sim.load()
    assert account.push_token == wallet.ios_token
    assert len(wallet.ios_token) == 64
    assert wallet.ios_token == wallet.ios_token.upper()  # APNs tokens as uppercase hex
    uid = wallet.push[0].mechanism_uid
    assert uid == uid.upper()  # iOS sends uppercase UUIDs


async def test_run_auto_modes(make_harness: Any, tmp_path: Path) -> None:
    async with make_harness(push_denial_backoff=0.0) as h, aiohttp.ClientSession() as session:
        sim = Simulator(tmp_path / "w.json", session, gateway=None)
        await register(h, sim, "alice")
        results = []
        for mode, body in (
            (AutoMode.APPROVE, {}),
            (AutoMode.DENY, {}),
            (AutoMode.WRONG_NUMBER, {"type": "challenge"}),
        ):
            _, created = await h.call(
                "POST", "/v1/users/alice/push/challenges", json=body, expect=201
            )
            counts = await sim.run(mode, until=asyncio.get_running_loop().time() + 5, limit=1)
            _, done = await h.call("GET", f"/v1/push/challenges/{created['id']}?wait=5", expect=200)
            results.append((sum(counts.values()), done["state"], done.get("reason")))
        assert results == [
            (1, "approved", None),
            (1, "denied", "denied_by_user"),
            (1, "denied", "wrong_number"),
        ]
        _, created = await h.call(
            "POST", "/v1/users/alice/push/challenges", json={"type": "challenge"}, expect=201
        )
        counts = await sim.run(
            AutoMode.APPROVE,
            until=asyncio.get_running_loop().time() + 5,
            number_for=lambda _p: created["number"],
            limit=1,
        )
        assert counts["approved"] == 1


async def test_oath_codes(sim: Simulator) -> None:
    params = OathParameters(
        kind=OathKind.TOTP, secret=bytes(range(20)), issuer="Backstage", account="alice"
    )
    (account,) = await sim.scan(build_otpauth_uri(params), ios=False)
    assert isinstance(account, OathAccount)
    shown = sim.code(account, now=1_000_000.0)
    assert shown.code == totp(params.secret, 1_000_000.0)
    assert shown.valid_for is not None
    assert 0 < shown.valid_for <= 30
    hotp_params = OathParameters(
        kind=OathKind.HOTP, secret=bytes(20), issuer="Backstage", account="bob", counter=5
    )
    for ios, first in ((False, 6), (True, 5)):  # Android shows counter+1 first, iOS counter+0
        (h,) = await sim.scan(build_otpauth_uri(hotp_params), ios=ios)
        assert isinstance(h, OathAccount)
        assert sim.code(h).code == hotp(hotp_params.secret, first)
        moved = sim.load().find(h.account_id)
        assert isinstance(moved, OathAccount)
        assert sim.code(moved).code == hotp(hotp_params.secret, first + 1)


async def test_refusals(harness: Harness, sim: Simulator) -> None:
    with pytest.raises(SimulatorError, match="not a code"):
        await sim.scan("pushauth://push/x?r=nope", ios=False)
    _, started = await harness.call("POST", "/v1/users/zed/push/registrations", expect=201)
    await harness.call("DELETE", f"/v1/push/registrations/{started['id']}", expect=200)
    with pytest.raises(SimulatorError, match="refused the registration"):
        await sim.scan(started["uri"], ios=False)
    with pytest.raises(WalletError):
        sim.load().find("nobody")


def test_the_wallet_is_private_and_written_atomically(tmp_path: Path) -> None:
    path = tmp_path / "w" / "wallet.json"
    wallet = wallets.Wallet().with_tokens()
    with wallets.locked(path):
        wallets.save(path, wallet)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert wallets.load(path) == wallet
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".wallet-")] == []
    path.write_text('{"version": 99}')
    with pytest.raises(WalletError):
        wallets.load(path)
    path.write_text("not json")
    with pytest.raises(WalletError):
        wallets.load(path)


def test_qr_pictures(tmp_path: Path) -> None:
    uri = "otpauth://totp/Backstage:alice?secret=AAAQEAYEAUDAOCAJBIFQYDIOB4&issuer=Backstage"
    picture = tmp_path / "code.png"
    segno.make(uri, error="m").save(str(picture), scale=6)
    assert decode_image(picture) == uri
    other = tmp_path / "other.png"
    segno.make("https://example.com").save(str(other), scale=6)
    with pytest.raises(QrError, match="not an authenticator"):
        decode_image(other)
    blank = tmp_path / "blank.png"
    segno.make("x").save(str(blank), scale=1, border=0, dark="white")
    with pytest.raises(QrError, match="no QR code"):
        decode_image(blank)
    with pytest.raises(QrError, match="cannot read"):
        decode_image(tmp_path / "missing.png")


async def test_the_cli(harness: Harness, tmp_path: Path) -> None:
    wallet = str(tmp_path / "cli.json")
    common = ["--wallet", wallet, "--gateway", "", "--json"]

    async def authsim(*args: str) -> tuple[int, Any]:
        import contextlib
        import io

        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = await asyncio.to_thread(main, [*args, *common])
        return code, json.loads(out.getvalue() or "null")

    _, started = await harness.call("POST", "/v1/users/carl/push/registrations", expect=201)
    picture = tmp_path / "qr.png"
    segno.make(started["uri"], error="m").save(str(picture), scale=4)
    code, accounts = await authsim("scan", str(picture))
    assert code == 0
    assert accounts[0]["type"] == "push"
    assert (await authsim("approve"))[0] == 0  # the registration's test notification
    _, done = await harness.call(
        "GET", f"/v1/push/registrations/{started['id']}?wait=5", expect=200
    )
    assert done["state"] == "confirmed"
    _, created = await harness.call(
        "POST", "/v1/users/carl/push/challenges", json={"type": "challenge"}, expect=201
    )
    code, listing = await authsim("notifications")
    assert listing[0]["type"] == "challenge"
    assert created["number"] in listing[0]["numbers"]
    code, error = await authsim("approve")
    assert code == 1
    assert "--number" in error["error"]
    assert (await authsim("approve", "--number", str(created["number"])))[0] == 0
    _, done = await harness.call("GET", f"/v1/push/challenges/{created['id']}", expect=200)
    assert done["state"] == "approved"
    code, accounts = await authsim("accounts")
    assert [a["issuer"] for a in accounts] == ["Backstage"]
    assert (await authsim("deny"))[0] == 1  # nothing pending
    assert (await authsim("refresh", accounts[0]["id"], "--token", "fcm:new"))[0] == 0
    assert (await authsim("code", accounts[0]["id"]))[0] == 1  # push accounts have no codes
