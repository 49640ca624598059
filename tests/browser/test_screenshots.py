"""The README's pictures of the pages; CI leaves them alone. To rewrite them:
``PUSHD_SCREENSHOTS=1 .venv/bin/pytest tests/browser/test_screenshots.py``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.browser.site import BROWSER_TESTS, Site, VirtualKey, codes_on, number_on
from tests.support.outbox import outbox

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
pytestmark = [
    *BROWSER_TESTS,
    pytest.mark.skipif(
        os.environ.get("PUSHD_SCREENSHOTS") != "1", reason="set PUSHD_SCREENSHOTS=1 to rewrite"
    ),
]


async def shoot(page: Page, name: str) -> None:
    await page.mouse.move(0, 0)
    await page.evaluate("document.activeElement && document.activeElement.blur()")
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True, animations="disabled")


async def test_screenshots_of_the_main_pages(make_site: Any, page: Page) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.set_viewport_size({"width": 760, "height": 900})
    async with outbox() as box, make_site(**box.settings(), contact_review_days=180) as site:
        await page.goto(site.url("/signup"))
        await page.get_by_label("Username").fill("alice")
        await page.get_by_label("Email address").fill("alice@example.com")
        await shoot(page, "sign-up")

        await site.h.create_user("alice", email="alice@example.com", phone="+442079460958")
        await site.h.call(
            "PATCH", "/v1/admin/users/alice", json={"email_verified": True}, admin=True, expect=200
        )
        await site.h.call("POST", "/v1/users/alice/contact", json={}, expect=200)
        await page.goto(site.url("/login"))
        await page.get_by_label("Username or email").fill("alice")
        await shoot(page, "sign-in")
        await site.sign_in(page, "alice")
        await expect(page.get_by_role("heading", name="Protect your account")).to_be_visible()
        await shoot(page, "mfa-choice")

        await page.get_by_role("button", name="Set up Push Auth").click()
        await expect(page.get_by_text("Waiting for your phone")).to_be_visible()
        await shoot(page, "push-registration")
        phone = site.phone()
        await phone.scan(
            await page.get_by_role("link", name="Open the link").get_attribute("href") or "",
            ios=False,
        )
        assert await phone.answer(await site.notification(phone), approve=True) == 200
        await codes_on(page)
        await shoot(page, "recovery-codes")
        await page.get_by_role("button", name="I have saved them").click()

        await settings_with_two_devices(site, page)

        await site.sign_in(page, "alice")
        await shoot(page, "methods")
        await page.get_by_role("button", name="Send a notification to my phone").click()
        await number_on(page)
        await shoot(page, "push-waiting")
        pending = await site.notification(phone)
        await page.get_by_role("button", name="Use the alternative method").click()
        phone.forget(pending.message_id)
        await page.get_by_role("button", name="Send the codes").click()
        await box.text()
        await box.email()
        await expect(page.get_by_label("Code from the SMS")).to_be_visible()
        await shoot(page, "alternative")


async def settings_with_two_devices(site: Site, page: Page) -> None:
    """A security key next to the phone, and the phone given a friendlier name."""
    key = await VirtualKey.plug_in(page)
    await page.get_by_role("link", name="Security key").click()
    await page.get_by_label("Name for this key").fill("YubiKey 5C")
    await page.get_by_role("button", name="Register security key").click()
    await page.get_by_role("button", name="I have saved them").click()
    await page.get_by_role("link", name="Rename or remove authsim Pixel").click()
    await page.get_by_label("New name").fill("Pixel 9")
    await page.get_by_role("button", name="Save name").click()
    await page.goto(site.url("/settings"))
    await expect(page.get_by_text("YubiKey 5C")).to_be_visible()
    await shoot(page, "settings")
    await key.unplug()
    await site.sign_out(page)
