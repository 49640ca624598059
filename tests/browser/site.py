"""What the browser tests share: the site under test, authsim's phone, virtual keys."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import CDPSession, Page, expect

from authenticator_sim.simulator import Pending, Simulator
from tests.support.harness import PASSWORD, Harness

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Every browser test module: skipped without Debian's Chromium (CI installs it), and run on
# the module's event loop, which the module's one browser lives on.
BROWSER_TESTS = [
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs Debian's Chromium at /usr/bin/chromium"
    ),
    pytest.mark.asyncio(loop_scope="module"),
]
expect.set_options(timeout=10_000)


class Site:
    def __init__(self, harness: Harness, tmp_path: Path) -> None:
        self.h = harness
        self.tmp = tmp_path
        self.base = harness.services.ctx.settings.base_url
        assert self.base.startswith("http://localhost:")

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def phone(self, name: str = "phone") -> Simulator:
        """authsim's phone; no gateway: it fetches notifications by pushd's poll fallback."""
        return Simulator(self.tmp / f"{name}.json", self.h.session, gateway=None)

    async def sign_in(self, page: Page, login: str, password: str = PASSWORD) -> None:
        await page.goto(self.url("/login"))
        await page.get_by_label("Username or email").fill(login)
        await page.get_by_label("Password", exact=True).fill(password)
        await page.get_by_role("button", name="Sign in").click()

    async def sign_out(self, page: Page) -> None:
        await page.get_by_role("button", name="Sign out").click()
        await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()

    async def notification(self, phone: Simulator) -> Pending:
        """The one notification pushd just sent (it is sent once it is stored)."""
        await self.h.transport.next()
        pending = await phone.notifications()
        assert len(pending) == 1, pending
        return pending[0]

    async def enrol_push(self, phone: Simulator, username: str) -> list[str]:
        """A push device registered over the API, the way authsim does it."""
        _, started = await self.h.call(
            "POST", f"/v1/users/{username}/push/registrations", expect=201
        )
        await phone.scan(started["uri"], ios=False)
        assert await phone.answer(await self.notification(phone), approve=True) == 200
        _, done = await self.h.call(
            "GET", f"/v1/push/registrations/{started['id']}?wait=5", expect=200
        )
        assert done["state"] == "confirmed"
        codes: list[str] = done["recovery_codes"]
        return codes


async def codes_on(page: Page) -> list[str]:
    await expect(page.get_by_role("heading", name="Save your recovery codes")).to_be_visible()
    codes = [c.strip() for c in await page.locator("#recovery-codes code").all_inner_texts()]
    assert len(codes) == 10
    return codes


async def number_on(page: Page) -> int:
    text = await page.locator(".match-number").inner_text()
    match = re.search(r"\d+", text)
    assert match, text
    return int(match.group())


class VirtualKey:
    """A virtual security key through the DevTools protocol: CTAP2 over USB, resident
    keys and user verification, touched automatically."""

    def __init__(self, cdp: CDPSession, authenticator_id: str) -> None:
        self.cdp = cdp
        self.id = authenticator_id

    @classmethod
    async def plug_in(cls, page: Page, cdp: CDPSession | None = None) -> VirtualKey:
        if cdp is None:
            cdp = await page.context.new_cdp_session(page)
            await cdp.send("WebAuthn.enable", {"enableUI": False})
        added = await cdp.send(
            "WebAuthn.addVirtualAuthenticator",
            {
                "options": {
                    "protocol": "ctap2",
                    "transport": "usb",
                    "hasResidentKey": True,
                    "hasUserVerification": True,
                    "isUserVerified": True,
                    "automaticPresenceSimulation": True,
                }
            },
        )
        return cls(cdp, str(added["authenticatorId"]))

    async def credentials(self) -> list[dict[str, Any]]:
        found = await self.cdp.send("WebAuthn.getCredentials", {"authenticatorId": self.id})
        credentials: list[dict[str, Any]] = found["credentials"]
        return credentials

    async def add(self, credential: dict[str, Any]) -> None:
        await self.cdp.send(
            "WebAuthn.addCredential", {"authenticatorId": self.id, "credential": credential}
        )

    async def unplug(self) -> None:
        await self.cdp.send("WebAuthn.removeVirtualAuthenticator", {"authenticatorId": self.id})
