"""The simulated phone at work: scanning, fetching notifications, answering them.

Notifications arrive two ways: from ``authsim gateway`` (the APNs/FCM stand-in
pushd sends through) and from pushd's poll fallback. Both are checked against the
account's secret before they are shown or answered, as the real app does.
"""

from __future__ import annotations

import enum
import json
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import aiohttp

from authenticator_sim import wallet as wallets
from authenticator_sim.responder import (
    HttpRequest,
    Phone,
    authentication_request,
    pending_request,
    read_notification,
    refresh_request,
    registration_request,
)
from authenticator_sim.wallet import OathAccount, PushAccount, Received, Wallet, WalletError
from mfa_core.errors import MfaError
from mfa_core.oath import OathKind, code_at, parse_otpauth_uri, totp_step
from mfa_core.push import Notification, parse_combined_uri, parse_registration_uri

NumberFor = Callable[["Pending"], int | None]


class AutoMode(enum.StrEnum):
    APPROVE = "approve"
    DENY = "deny"
    IGNORE = "ignore"
    WRONG_NUMBER = "wrong-number"


class SimulatorError(Exception):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class Pending:
    account: PushAccount
    message_id: str
    jwt: str
    notification: Notification
    received_at: float

    def summary(self) -> dict[str, object]:
        n = self.notification
        return {
            "messageId": self.message_id,
            "account": self.account.account_id,
            "label": self.account.label,
            "type": str(n.push_type),
            "message": n.message,
            "numbers": list(n.numbers) if n.numbers else None,
            "context": json.loads(n.context_json) if n.context_json else None,
            "expires_at": n.created_at_ms / 1000 + n.ttl_seconds,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class OathCode:
    account: OathAccount
    code: str
    valid_for: float | None  # seconds left for TOTP; None for HOTP


class Simulator:
    def __init__(
        self,
        path: Path,
        session: aiohttp.ClientSession,
        *,
        gateway: str | None = None,
        poll_fallback: bool = True,
    ) -> None:
        """``gateway``: the stand-in's control URL; ``poll_fallback``: also ask pushd."""
        self.path = path
        self.session = session
        self.gateway = gateway.rstrip("/") if gateway else None
        self.poll_fallback = poll_fallback

    # --- the wallet ---------------------------------------------------------------

    def load(self) -> Wallet:
        return wallets.load(self.path)

    def _change(self, change: Callable[[Wallet], Wallet]) -> Wallet:
        with wallets.locked(self.path):
            updated = change(wallets.load(self.path))
            wallets.save(self.path, updated)
        return updated

    # --- scanning -----------------------------------------------------------------

    async def scan(self, uri: str, *, ios: bool) -> list[PushAccount | OathAccount]:
        """Register what the code offers: push, OATH, or both (``mfauth://``)."""
        wallet = self._change(Wallet.with_tokens)
        try:
            if uri.startswith("otpauth://"):
                oath = wallets.new_oath_account(parse_otpauth_uri(uri), ios=ios)
                self._change(lambda w: replace(w, oath=(*w.oath, oath)))
                return [oath]
            if uri.startswith("mfauth://"):
                combined = parse_combined_uri(uri)
                push = await self._register(combined.push, wallet, ios=ios)
                oath = wallets.new_oath_account(combined.oath, ios=ios)
                self._change(lambda w: replace(w, oath=(*w.oath, oath)))
                return [push, oath]
            return [await self._register(parse_registration_uri(uri), wallet, ios=ios)]
        except MfaError as e:
            raise SimulatorError(f"not a code the app accepts: {e.detail}") from e

    async def _register(self, registration: Any, wallet: Wallet, *, ios: bool) -> PushAccount:
        mechanism_uid = str(uuid.uuid4())
        account = wallets.new_push_account(
            registration, mechanism_uid=mechanism_uid, ios=ios, push_token=wallet.token(ios=ios)
        )
        status, _ = await self._send(
            registration_request(registration, phone=_phone(account), mechanism_uid=mechanism_uid)
        )
        if status != 200:
            raise SimulatorError(f"the server refused the registration (HTTP {status})")
        self._change(lambda w: replace(w, push=(*w.push, replace(
            account, mechanism_uid=mechanism_uid.upper() if ios else mechanism_uid
        ))))  # fmt: skip
        return account

    # --- notifications --------------------------------------------------------------

    async def notifications(self, *, wait: float = 0.0) -> list[Pending]:
        """Everything pending: the wallet's inbox, the gateway's, and the poll fallback."""
        wallet = self.load()
        arrived = await self._from_gateway(wallet, wait) + await self._from_pushd(wallet)
        known = {r.message_id for r in wallet.inbox} | set(wallet.handled)
        fresh = [r for r in arrived if r.message_id not in known]
        if fresh:
            wallet = self._change(lambda w: replace(w, inbox=(*w.inbox, *_unique(fresh, w))))
        return [p for r in wallet.inbox if (p := self._read(wallet, r)) is not None]

    async def answer(self, pending: Pending, *, approve: bool, number: int | None = None) -> int:
        request = authentication_request(
            authentication_url=pending.account.authentication_url,
            message_id=pending.message_id,
            notification=pending.notification,
            secret=pending.account.secret_bytes,
            phone=_phone(pending.account),
            approve=approve,
            number=number,
        )
        status, _ = await self._send(request)
        self.forget(pending.message_id)
        return status

    def forget(self, message_id: str) -> None:
        self._change(lambda w: replace(
            w,
            inbox=tuple(r for r in w.inbox if r.message_id != message_id),
            handled=(*w.handled, message_id),
        ))  # fmt: skip

    async def run(
        self,
        mode: AutoMode,
        *,
        until: float,
        number_for: NumberFor | None = None,
        limit: int | None = None,
    ) -> dict[str, int]:
        """Answer everything that arrives, the same way, until ``until`` (monotonic)."""
        counts = {"approved": 0, "denied": 0, "ignored": 0, "wrong_number": 0, "refused": 0}
        while time.monotonic() < until and (limit is None or sum(counts.values()) < limit):
            for pending in await self.notifications(wait=min(20.0, until - time.monotonic())):
                outcome = await self._auto(pending, mode, number_for)
                counts[outcome] += 1
        return counts

    async def _auto(self, pending: Pending, mode: AutoMode, number_for: NumberFor | None) -> str:
        choices = pending.notification.numbers
        if mode is AutoMode.IGNORE:
            self.forget(pending.message_id)
            return "ignored"
        if mode is AutoMode.DENY:
            status = await self.answer(pending, approve=False)
            return "denied" if status == 200 else "refused"
        if mode is AutoMode.WRONG_NUMBER:
            wrong = next(n for n in range(10, 100) if not choices or n not in choices)
            status = await self.answer(pending, approve=True, number=wrong)
            return "wrong_number" if status == 200 else "refused"
        number = number_for(pending) if (number_for and choices) else None
        if choices and number is None:
            self.forget(pending.message_id)  # a person would have to read the login page
            return "ignored"
        status = await self.answer(pending, approve=True, number=number)
        return "approved" if status == 200 else "refused"

    async def refresh(self, account: PushAccount, *, new_token: str | None = None) -> int:
        if new_token:
            token: str = new_token

            def with_token(w: Wallet) -> Wallet:
                push = tuple(
                    replace(a, push_token=token) if a.ios == account.ios else a for a in w.push
                )
                if account.ios:
                    return replace(w, ios_token=token, push=push)
                return replace(w, android_token=token, push=push)

            self._change(with_token)
            account = replace(account, push_token=new_token)
        status, _ = await self._send(
            refresh_request(
                registration_url=account.registration_url,
                mechanism_uid=account.mechanism_uid,
                username=account.account,
                secret=account.secret_bytes,
                phone=_phone(account),
                load_balancer_cookie=account.lb_cookie,
            )
        )
        return status

    # --- OATH ---------------------------------------------------------------------

    def code(self, account: OathAccount, *, now: float | None = None) -> OathCode:
        """The code the app shows; HOTP moves its counter on, as pressing refresh does."""
        params = account.parameters
        if params.kind is OathKind.TOTP:
            moment = time.time() if now is None else now
            step = totp_step(moment, params.period)
            left = (step + 1) * params.period - moment
            return OathCode(account=account, code=code_at(params, step), valid_for=left)
        # Android increments before generating (first code: counter+1); iOS does not.
        factor = account.counter if account.ios else account.counter + 1
        code = code_at(params, factor)
        moved = replace(account, counter=account.counter + 1)
        self._change(lambda w: replace(
            w, oath=tuple(moved if a.account_id == account.account_id else a for a in w.oath)
        ))  # fmt: skip
        return OathCode(account=moved, code=code, valid_for=None)

    # --- plumbing -------------------------------------------------------------------

    async def _send(self, request: HttpRequest) -> tuple[int, Any]:
        try:
            async with self.session.post(
                request.url, data=request.body, headers=request.headers
            ) as response:
                body = await response.read()
                return response.status, json.loads(body) if body else None
        except (aiohttp.ClientError, TimeoutError, ValueError) as e:
            raise SimulatorError(f"cannot reach {request.url}: {e}") from e

    async def _from_gateway(self, wallet: Wallet, wait: float) -> list[Received]:
        tokens = sorted({a.push_token for a in wallet.push})
        if not self.gateway or not tokens:
            return []
        url = f"{self.gateway}/inbox?wait={max(0.0, min(wait, 60.0)):.1f}"
        try:
            async with self.session.post(url, json={"tokens": tokens}) as response:
                data = await response.json()
        except (aiohttp.ClientError, TimeoutError, ValueError) as e:
            raise SimulatorError(f"cannot reach the gateway at {self.gateway}: {e}") from e
        by_token = {a.push_token.lower(): a for a in wallet.push}
        return [
            Received(
                account_id=_owner(wallet, item["token"], item["jwt"], by_token),
                message_id=item["messageId"],
                jwt=item["jwt"],
                received_at=time.time(),
            )
            for item in data.get("notifications", [])
        ]

    async def _from_pushd(self, wallet: Wallet) -> list[Received]:
        if not self.poll_fallback:
            return []
        received = []
        for account in wallet.push:
            request = pending_request(
                registration_url=account.registration_url,
                mechanism_uid=account.mechanism_uid,
                secret=account.secret_bytes,
                phone=_phone(account),
                now=time.time(),
                rng=secrets.token_bytes,
                load_balancer_cookie=account.lb_cookie,
            )
            try:
                status, body = await self._send(request)
            except SimulatorError:
                continue  # that server is down; others may answer
            if status != 200 or not isinstance(body, dict):
                continue
            received += [
                Received(
                    account_id=account.account_id,
                    message_id=str(item.get("messageId", "")),
                    jwt=str(item.get("message", "")),
                    received_at=time.time(),
                )
                for item in body.get("notifications", [])
            ]
        return received

    def _read(self, wallet: Wallet, received: Received) -> Pending | None:
        try:
            account = wallet.find(received.account_id)
        except WalletError:
            return None
        if not isinstance(account, PushAccount):
            return None
        try:
            notification = read_notification(received.jwt, account.secret_bytes)
        except MfaError:
            return None  # not signed with this account's secret: the app ignores it
        return Pending(
            account=account,
            message_id=received.message_id,
            jwt=received.jwt,
            notification=notification,
            received_at=received.received_at,
        )


def _phone(account: PushAccount) -> Phone:
    return Phone(ios=account.ios, name="authsim iPhone" if account.ios else "authsim Pixel",
                 push_token=account.push_token)  # fmt: skip


def _owner(wallet: Wallet, token: str, jwt: str, by_token: dict[str, PushAccount]) -> str:
    """Which account a notification is for: the one whose secret verifies it."""
    for account in wallet.push:
        if account.push_token.lower() != token.lower():
            continue
        try:
            read_notification(jwt, account.secret_bytes)
        except MfaError:
            continue
        return account.account_id
    fallback = by_token.get(token.lower())
    return fallback.account_id if fallback else ""


def _unique(fresh: list[Received], wallet: Wallet) -> list[Received]:
    seen = {r.message_id for r in wallet.inbox} | set(wallet.handled)
    out = []
    for received in fresh:
        if received.message_id not in seen:
            seen.add(received.message_id)
            out.append(received)
    return out
