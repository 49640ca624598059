"""Real local endpoints for pushd's messages: an SMTP server (aiosmtpd) and an SMS webhook."""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.support.harness import free_port
from tests.support.log_scan import register_secret


@dataclass
class Received:
    to: str
    subject: str
    body: str

    def link_token(self) -> str:
        match = re.search(r"token=([A-Za-z0-9_-]+)", self.body)
        assert match, self.body
        return match.group(1)

    def code(self) -> str:
        match = re.search(r"\b(\d{6})\b", self.body)
        assert match, self.body
        return match.group(1)


@dataclass
class Outbox:
    """Everything pushd sent, by recipient."""

    emails: asyncio.Queue[Received] = field(default_factory=asyncio.Queue)
    texts: asyncio.Queue[Received] = field(default_factory=asyncio.Queue)
    smtp_port: int = 0
    sms_url: str = ""
    sms_status: list[int] = field(default_factory=list)  # scripted answers, then 200

    def settings(self) -> dict[str, Any]:
        register_secret("sms_token", "sms-secret")  # the webhook's bearer token
        return {
            "email_mode": "smtp", "smtp_host": "127.0.0.1", "smtp_port": self.smtp_port,
            "email_from": "Backstage <no-reply@backstage.test>",
            "sms_mode": "webhook", "sms_url": self.sms_url, "sms_token": "sms-secret",
            "message_retries": 2,
        }  # fmt: skip

    async def email(self, within: float = 5.0) -> Received:
        async with asyncio.timeout(within):
            return await self.emails.get()

    async def text(self, within: float = 5.0) -> Received:
        async with asyncio.timeout(within):
            return await self.texts.get()


class _Handler:
    def __init__(self, outbox: Outbox, loop: asyncio.AbstractEventLoop) -> None:
        self._outbox = outbox
        self._loop = loop

    async def handle_DATA(self, _server: SMTP, _session: Session, envelope: Envelope) -> str:  # noqa: N802
        raw = envelope.original_content or b""
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        body = parsed.get_body(("plain",))
        text = body.get_content() if body is not None else ""
        received = Received(to=str(parsed["To"]), subject=str(parsed["Subject"]), body=text)
        for token in re.findall(r"token=([A-Za-z0-9_-]+)", text):
            register_secret("emailed_token", token)
        self._loop.call_soon_threadsafe(self._outbox.emails.put_nowait, received)
        return "250 OK"


@asynccontextmanager
async def outbox() -> AsyncIterator[Outbox]:
    box = Outbox()
    box.smtp_port = free_port()
    controller = Controller(
        _Handler(box, asyncio.get_running_loop()), hostname="127.0.0.1", port=box.smtp_port
    )
    controller.start()

    async def sms(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != "Bearer sms-secret":
            return web.json_response({"error": "unauthorized"}, status=401)
        if box.sms_status:
            status = box.sms_status.pop(0)
            if status != 200:
                return web.json_response({"error": "scripted"}, status=status)
        data = await request.json()
        await box.texts.put(Received(to=data["to"], subject="", body=data["body"]))
        return web.json_response({"id": "m1"})

    app = web.Application()
    app.router.add_post("/sms", sms)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    box.sms_url = str(server.make_url("/sms"))
    try:
        yield box
    finally:
        await server.close()
        controller.stop()
