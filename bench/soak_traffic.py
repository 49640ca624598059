"""The soak's login pages and phones: every challenge they meet goes into the ledger.

Each user has one phone (an iPhone on APNs or an Android phone on FCM, registered through
the QR flow) and one login page that asks for push approvals over and over. What the
phone does with each is drawn from ``WEIGHTS``; the gateway's failures (a dead token, 5xx
before success) are scripted through its control API, per token, before the login.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from authenticator_sim.responder import (
    HttpRequest,
    Phone,
    authentication_request,
    read_notification,
    refresh_request,
    registration_request,
)
from bench.soak_ledger import (
    FINAL_STATES,
    RETRY_FAULTS,
    STALE_FAULT,
    Entry,
    Kind,
    Ledger,
    parse_metrics,
)
from mfa_core.errors import MfaError
from mfa_core.message_id import parse_message_id
from mfa_core.push import Notification, PushRegistration, parse_registration_uri

WEIGHTS = {
    Kind.APPROVE: 30,
    Kind.DENY: 12,
    Kind.IGNORE: 10,
    Kind.WRONG_NUMBER: 12,
    Kind.STALE_TOKEN: 12,
    Kind.RETRY: 24,
}
NUMBER_MATCHING = 0.35  # share of the other kinds' challenges sent with number matching
ABANDON = 0.12  # share of long-polls the login page hangs up on early
IDLE_WITHIN = 15.0  # seconds an instance gets to show 0 waiters after the load


@dataclass(slots=True)
class User:
    name: str
    ios: bool
    registration: PushRegistration
    mechanism_uid: str
    token: str
    tokens: list[str] = field(default_factory=list)  # every token it has had

    @property
    def platform(self) -> str:
        return "apns" if self.ios else "fcm"

    @property
    def phone(self) -> Phone:
        return Phone(ios=self.ios, name="iPhone 16" if self.ios else "Pixel 9",
                     push_token=self.token)  # fmt: skip

    def new_token(self) -> None:
        self.token = push_token(ios=self.ios)
        self.tokens.append(self.token)


def push_token(*, ios: bool) -> str:
    return uuid.uuid4().hex.upper() * 2 if ios else f"fcm:{uuid.uuid4()}"


def at(url: str, base: str) -> str:
    """The same device URL on another instance (as a load balancer would route it)."""
    return base + url[url.index("/push/") :]


class Soak:
    """The login pages and the phones; everything they see goes into ``ledger``."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        bases: list[str],
        control: str,
        api_key: str,
        rng: random.Random,
        ttl: float,
        think: float,
    ) -> None:
        self.ttl = ttl  # pushd's challenge TTL
        self.think = think  # mean seconds between one user's logins
        self.session = session
        self.bases = bases
        self.control = control
        self.auth = {"Authorization": f"Bearer {api_key}"}
        self.rng = rng
        self.ledger = Ledger()
        self.users: list[User] = []

    def anomaly(self, text: str) -> None:
        self.ledger.anomalies.append(text)

    def pick(self) -> str:
        return self.rng.choice(self.bases)

    async def api(
        self, method: str, path: str, *, json_body: object = None
    ) -> tuple[int, dict[str, Any]]:
        """The login page's call, on any instance (as a load balancer would send it)."""
        url = self.pick() + path
        async with self.session.request(method, url, json=json_body, headers=self.auth) as r:
            body = await r.json()
            return r.status, body if isinstance(body, dict) else {"body": body}

    async def send(self, request: HttpRequest) -> int:
        async with self.session.post(
            request.url, data=request.body, headers=request.headers
        ) as response:
            await response.read()
            return response.status

    async def inbox(self, token: str, wait: float) -> list[dict[str, Any]]:
        url = f"{self.control}/inbox?wait={max(0.0, min(wait, 20.0)):.1f}"
        async with self.session.post(url, json={"tokens": [token]}) as response:
            items: list[dict[str, Any]] = (await response.json())["notifications"]
            return items

    async def add_fault(self, user: User, fault: tuple[int, str], count: int) -> None:
        body = {"platform": user.platform, "token": user.token, "status": fault[0],
                "reason": fault[1], "count": count}  # fmt: skip
        async with self.session.post(f"{self.control}/faults", json=body) as response:
            if response.status != 201:
                raise RuntimeError(f"the gateway refused a fault: {await response.text()}")

    # --- set-up: the QR code, the app's registration, its test notification ----------

    async def enrol(self, name: str, *, ios: bool) -> None:
        status, started = await self.api("POST", f"/v1/users/{name}/push/registrations")
        if status != 201:
            raise RuntimeError(f"{name}: registration refused: {status} {started}")
        registration = parse_registration_uri(started["uri"])
        uid = str(uuid.uuid4())
        token = push_token(ios=ios)
        user = User(name, ios, registration, uid.upper() if ios else uid, token, [token])
        request = registration_request(registration, phone=user.phone, mechanism_uid=uid)
        if (status := await self.send(request)) != 200:
            raise RuntimeError(f"{name}: the device registration got HTTP {status}")
        loop = asyncio.get_running_loop()
        until = loop.time() + 30
        items: list[dict[str, Any]] = []
        while not items and loop.time() < until:
            items = await self.inbox(user.token, until - loop.time())
        if len(items) != 1:
            raise RuntimeError(f"{name}: {len(items)} test notifications arrived, not 1")
        reply = authentication_request(
            authentication_url=at(registration.authentication_url, self.pick()),
            message_id=items[0]["messageId"],
            notification=read_notification(items[0]["jwt"], registration.secret),
            secret=registration.secret, phone=user.phone, approve=True,
        )  # fmt: skip
        if (status := await self.send(reply)) != 200:
            raise RuntimeError(f"{name}: the test notification's answer got HTTP {status}")
        path = f"/v1/push/registrations/{started['id']}?wait=20"
        status, done = await self.api("GET", path)
        if done.get("state") != "confirmed":
            raise RuntimeError(f"{name}: registration ended {status} {done}")
        self.ledger.registrations[user.platform] += 1
        self.users.append(user)

    # --- the load -----------------------------------------------------------------------

    async def run(
        self, until: float, *, mix: dict[Kind, int] = WEIGHTS, think: float | None = None
    ) -> None:
        """Every user logs in again and again until ``until`` (loop time), pausing about
        ``think`` seconds between logins; in-flight logins then finish (each bounded)."""
        pause = self.think if think is None else think
        await asyncio.gather(*(self.user_loop(user, until, mix, pause) for user in self.users))

    async def user_loop(self, user: User, until: float, mix: dict[Kind, int], think: float) -> None:
        loop = asyncio.get_running_loop()
        kinds, weights = list(mix), list(mix.values())
        await asyncio.sleep(self.rng.uniform(0, think))
        while loop.time() < until:
            kind = self.rng.choices(kinds, weights)[0]
            try:
                async with asyncio.timeout(self.ttl * 3 + 60):
                    await self.login(user, kind)
            except (TimeoutError, aiohttp.ClientError, MfaError, LookupError, ValueError,
                    RuntimeError) as e:  # fmt: skip
                self.anomaly(f"{user.name}: a {kind} login failed: {e!r}")
            await asyncio.sleep(self.rng.uniform(0.25, 1.75) * think)

    async def login(self, user: User, kind: Kind) -> None:
        """One login page and one phone: create, long-poll, act, read the outcome."""
        fault: tuple[int, str] | None = None
        faults = 0
        if kind is Kind.STALE_TOKEN:
            fault, faults = STALE_FAULT[user.platform], 1
        elif kind is Kind.RETRY:
            fault, faults = self.rng.choice(RETRY_FAULTS[user.platform]), self.rng.choice((1, 2))
        if fault is not None:
            await self.add_fault(user, fault, faults)
        numbered = kind is Kind.WRONG_NUMBER or (
            kind is not Kind.STALE_TOKEN and self.rng.random() < NUMBER_MATCHING
        )
        push_type = "challenge" if numbered else "default"
        path = f"/v1/users/{user.name}/push/challenges"
        status, created = await self.api("POST", path, json_body={"type": push_type})
        if status != 201:
            self.anomaly(f"{user.name}: a {kind} login could not start: {status} {created}")
            return
        entry = Entry(challenge_id=created["id"], user=user.name, platform=user.platform,
                      kind=kind, push_type=push_type, fault=fault, faults=faults)  # fmt: skip
        self.ledger.entries.append(entry)
        until = asyncio.get_running_loop().time() + self.ttl + 30
        poll = asyncio.create_task(self.follow(entry, until))
        try:
            if kind is Kind.STALE_TOKEN:
                await poll
                await self.after_stale(user, entry)
            else:
                got = await self.notification(user, entry, until)
                if got is not None:
                    await self.act(user, entry, created, got, poll)
                await poll
        finally:
            poll.cancel()
        status, body = await self.api("GET", f"/v1/push/challenges/{entry.challenge_id}")
        entry.final = (body["state"], body.get("reason")) if status == 200 else (str(status), None)

    async def follow(self, entry: Entry, until: float) -> None:
        """The login page's long-poll: re-poll while pending, sometimes hang up early."""
        loop = asyncio.get_running_loop()
        path = f"/v1/push/challenges/{entry.challenge_id}?wait="
        while loop.time() < until:
            wait = round(self.rng.uniform(0.5, self.ttl + 2), 1)
            abandon = self.rng.random() < ABANDON
            try:
                async with asyncio.timeout(self.rng.uniform(0.05, wait) if abandon else wait + 30):
                    status, body = await self.api("GET", f"{path}{wait}")
            except TimeoutError:
                if abandon:
                    entry.aborted += 1
                    continue
                raise
            if status != 200:
                self.anomaly(f"{entry.challenge_id}: a long-poll got {status} {body}")
                return
            if body["state"] in FINAL_STATES:
                entry.polls.append((body["state"], body.get("reason")))
                return
            entry.repolls += 1
        self.anomaly(f"{entry.challenge_id}: still not final when the page gave up")

    async def notification(
        self, user: User, entry: Entry, until: float
    ) -> tuple[str, Notification] | None:
        """The phone's next notification, which must be this challenge's."""
        loop = asyncio.get_running_loop()
        found: tuple[str, Notification] | None = None
        while found is None and loop.time() < until:
            for item in await self.inbox(user.token, until - loop.time()):
                found = self.claim(user, entry, item) or found
        if found is None:
            self.anomaly(f"{entry.challenge_id}: no notification reached {user.name}'s phone")
        return found

    def claim(
        self, user: User, entry: Entry, item: dict[str, Any]
    ) -> tuple[str, Notification] | None:
        message_id = item["messageId"]
        if parse_message_id(message_id).uuid != entry.challenge_id:
            self.anomaly(f"{user.name}: a stray notification {message_id}")
            return None
        entry.notified += 1
        return message_id, read_notification(item["jwt"], user.registration.secret)

    async def reply(
        self, user: User, message: tuple[str, Notification], *, approve: bool, number: int | None
    ) -> int:
        request = authentication_request(
            authentication_url=at(user.registration.authentication_url, self.pick()),
            message_id=message[0], notification=message[1], secret=user.registration.secret,
            phone=user.phone, approve=approve, number=number,
        )  # fmt: skip
        return await self.send(request)

    async def act(
        self,
        user: User,
        entry: Entry,
        created: dict[str, Any],
        message: tuple[str, Notification],
        poll: asyncio.Task[None],
    ) -> None:
        number: int | None = created.get("number")
        choices = message[1].numbers
        if (entry.push_type == "challenge") != (number is not None and choices is not None) or (
            number is not None and choices is not None and number not in choices
        ):
            self.anomaly(f"{entry.challenge_id}: number {number} and choices {choices} disagree")
        if entry.kind is Kind.IGNORE:
            await poll  # until it expires; then the phone answers, too late
            entry.late_status = await self.reply(user, message, approve=True, number=number)
        elif entry.kind is Kind.DENY:
            entry.reply_status = await self.reply(user, message, approve=False, number=None)
        elif entry.kind is Kind.WRONG_NUMBER:
            wrong = self.rng.choice([n for n in choices or (10, 11) if n != number])
            entry.reply_status = await self.reply(user, message, approve=True, number=wrong)
        else:
            entry.reply_status = await self.reply(user, message, approve=True, number=number)

    async def after_stale(self, user: User, entry: Entry) -> None:
        """The dead token: nothing reached the phone, the next login is refused, and the
        app's token refresh brings the device back."""
        for item in await self.inbox(user.token, 0):
            self.claim(user, entry, item)
        path = f"/v1/users/{user.name}/push/challenges"
        status, body = await self.api("POST", path, json_body={})
        entry.followup = (status, str(body.get("error", {}).get("code", "")))
        if status == 201:  # not refused after all: withdraw it so the user can go on
            await self.api("DELETE", f"/v1/push/challenges/{body['id']}")
        user.new_token()
        request = refresh_request(
            registration_url=at(user.registration.registration_url, self.pick()),
            mechanism_uid=user.mechanism_uid, username=user.name,
            secret=user.registration.secret, phone=user.phone,
            load_balancer_cookie=user.registration.load_balancer_cookie,
        )  # fmt: skip
        entry.refresh_status = await self.send(request)

    # --- after the load ----------------------------------------------------------------

    async def leftovers(self) -> None:
        """No notification nobody asked for, and every scripted fault used up."""
        for user in self.users:
            async with self.session.post(
                f"{self.control}/inbox?wait=0", json={"tokens": user.tokens}
            ) as response:
                for item in (await response.json())["notifications"]:
                    self.anomaly(f"{user.name}: a notification left over: {item['messageId']}")
        async with self.session.get(f"{self.control}/faults") as response:
            for fault in (await response.json())["faults"]:
                self.anomaly(f"a gateway fault never used: {fault}")

    async def gateway_stats(self) -> dict[str, Any]:
        async with self.session.get(f"{self.control}/stats") as response:
            stats: dict[str, Any] = await response.json()
            return stats

    async def metrics(self, base: str) -> dict[str, float]:
        async with self.session.get(f"{base}/metrics") as response:
            return parse_metrics(await response.text())

    async def idle_metrics(self, base: str) -> dict[str, float]:
        """The instance's metrics once nothing waits or sends (or after IDLE_WITHIN)."""
        loop = asyncio.get_running_loop()
        give_up = loop.time() + IDLE_WITHIN
        while True:
            metrics = await self.metrics(base)
            idle = metrics.get("pushd_waiters") == 0 == metrics.get("pushd_push_sends_in_flight")
            if idle or loop.time() >= give_up:
                return metrics
            await asyncio.sleep(0.2)
