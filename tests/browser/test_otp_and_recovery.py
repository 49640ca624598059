"""One-time passwords with authsim's codes, recovery codes, and the settings page:
removing a device with the password asked again, regenerating codes."""

from __future__ import annotations

import time

from playwright.async_api import Page, expect

from authenticator_sim.qr import decode_image
from authenticator_sim.wallet import OathAccount
from tests.browser.site import BROWSER_TESTS, Site, codes_on
from tests.support.harness import PASSWORD

pytestmark = BROWSER_TESTS


async def test_otp_registration_and_sign_in(site: Site, page: Page) -> None:
    await site.h.create_user("alice")
    await site.sign_in(page, "alice")
    await page.get_by_role("button", name="Set up one-time passwords").click()
    picture = site.tmp / "otp.png"
    await page.locator(".qr").screenshot(path=str(picture))
    phone = site.phone()
    [account] = await phone.scan(decode_image(picture), ios=True)
    assert isinstance(account, OathAccount)

    await page.get_by_label("Code from the app").fill("000000")
    await page.get_by_role("button", name="Confirm").click()
    await expect(page.get_by_role("alert")).to_contain_text("That code is not right")
    await page.get_by_label("Code from the app").fill(phone.code(account).code)
    await page.get_by_role("button", name="Confirm").click()
    await codes_on(page)
    await page.get_by_role("button", name="I have saved them").click()
    await expect(page.get_by_text("One-time passwords · added")).to_be_visible()
    await site.sign_out(page)

    await site.sign_in(page, "alice")
    await page.get_by_role("link", name="Enter a code from my app").click()
    # The next 30-second code: the one used to register is never accepted twice.
    await page.get_by_label("One-time code").fill(phone.code(account, now=time.time() + 30).code)
    await page.get_by_role("button", name="Continue").click()
    await expect(page.get_by_role("heading", name="Authentication settings")).to_be_visible()


async def test_recovery_code_then_remove_the_lost_phone(site: Site, page: Page) -> None:
    await site.h.create_user("bob")
    phone = site.phone()
    codes = await site.enrol_push(phone, "bob")
    await site.sign_in(page, "bob")
    await page.get_by_role("link", name="Use a recovery code").click()
    await page.get_by_label("Recovery code").fill(codes[3])
    await page.get_by_role("button", name="Continue").click()
    await expect(page.get_by_text("You signed in without your usual device")).to_be_visible()
    await expect(page.get_by_text("9 codes left")).to_be_visible()

    await page.get_by_role("link", name="Rename or remove authsim Pixel").click()
    await page.get_by_label("New name").fill("Lost phone")
    await page.get_by_role("button", name="Save name").click()
    await expect(page.get_by_role("status")).to_contain_text("renamed")
    await page.get_by_role("link", name="Rename or remove Lost phone").click()
    await page.get_by_label("Confirm your password").fill("not the password")
    await page.get_by_role("button", name="Remove Lost phone").click()
    await expect(page.get_by_role("alert")).to_contain_text("That password is not right")
    await page.get_by_label("Confirm your password").fill(PASSWORD)
    await page.get_by_role("button", name="Remove Lost phone").click()
    await expect(page.get_by_role("status")).to_contain_text("removed")
    await expect(page.get_by_text("Lost phone")).to_have_count(0)
    await expect(page.get_by_text("Two-step verification is not set up")).to_be_visible()


async def test_regenerate_recovery_codes(site: Site, page: Page) -> None:
    await site.h.create_user("carol")
    old = await site.enrol_push(site.phone(), "carol")
    await site.sign_in(page, "carol")
    await page.get_by_role("link", name="Use a recovery code").click()
    await page.get_by_label("Recovery code").fill(old[0])
    await page.get_by_role("button", name="Continue").click()

    await page.get_by_role("link", name="Regenerate recovery codes").click()
    await page.get_by_label("Confirm your password").fill(PASSWORD)
    await page.get_by_role("button", name="Make new codes").click()
    new = await codes_on(page)
    assert not set(new) & set(old)
    await page.get_by_role("button", name="I have saved them").click()
    await expect(page.get_by_text("10 codes left")).to_be_visible()
    await site.sign_out(page)

    await site.sign_in(page, "carol")
    await page.get_by_role("link", name="Use a recovery code").click()
    await page.get_by_label("Recovery code").fill(old[1])
    await page.get_by_role("button", name="Continue").click()
    await expect(page.get_by_role("alert")).to_contain_text("That code is not right")
    await page.get_by_label("Recovery code").fill(new[0])
    await page.get_by_role("button", name="Continue").click()
    await expect(page.get_by_role("heading", name="Authentication settings")).to_be_visible()
