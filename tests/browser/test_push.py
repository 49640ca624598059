"""Push Auth in the browser: registration by scanning a screenshot of the QR code, then
logins that authsim approves, denies, or answers with the number the page shows."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Page, expect

from authenticator_sim.qr import decode_image
from tests.browser.site import BROWSER_TESTS, Site, codes_on, number_on

pytestmark = BROWSER_TESTS


async def test_push_registration_by_scanning_the_qr_code(site: Site, page: Page) -> None:
    await site.h.create_user("alice")
    await site.sign_in(page, "alice")
    await page.get_by_role("button", name="Set up Push Auth").click()
    await expect(page.get_by_role("heading", name="Set up Push Auth")).to_be_visible()
    waiting = page.get_by_text("Waiting for your phone to scan the code")
    await expect(waiting).to_be_visible()

    picture = site.tmp / "qr.png"
    await page.locator(".qr").screenshot(path=str(picture))
    uri = decode_image(picture)
    assert uri.startswith("pushauth://push/Backstage:alice?")
    assert (
        await page.get_by_role("link", name="Open the link in the app").get_attribute("href") == uri
    )

    phone = site.phone()
    await phone.scan(uri, ios=False)
    # The long-poll moves the page on by itself: scanned, now the test notification.
    await expect(page.get_by_text("Your phone is connected")).to_be_visible()
    await expect(waiting).to_be_hidden()
    assert await phone.answer(await site.notification(phone), approve=True) == 200

    codes = await codes_on(page)  # the page followed the registration to its codes
    await expect(page.get_by_role("button", name="Copy")).to_be_visible()
    await expect(page.get_by_role("button", name="Print")).to_be_visible()
    async with page.expect_download() as downloading:
        await page.get_by_role("link", name="Download as text").click()
    download = await downloading.value
    saved = site.tmp / "codes.txt"
    await download.save_as(saved)
    assert all(code in saved.read_text() for code in codes)
    assert download.suggested_filename == "backstage-recovery-codes.txt"

    await page.get_by_role("button", name="I have saved them").click()
    await expect(page.get_by_role("heading", name="Authentication settings")).to_be_visible()
    await expect(page.get_by_text("Push Auth · added")).to_be_visible()
    await expect(page.get_by_text("10 codes left")).to_be_visible()


async def test_push_login_with_number_matching(site: Site, page: Page) -> None:
    await site.h.create_user("bob")
    phone = site.phone()
    await site.enrol_push(phone, "bob")
    await site.sign_in(page, "bob")
    await page.get_by_role("button", name="Send a notification to my phone").click()
    await expect(page.get_by_role("heading", name="Check your phone")).to_be_visible()
    number = await number_on(page)
    pending = await site.notification(phone)
    choices = pending.notification.numbers
    assert choices is not None
    assert number in choices
    assert len(choices) == 3
    assert await phone.answer(pending, approve=True, number=number) == 200
    await expect(page.get_by_role("heading", name="Authentication settings")).to_be_visible()


async def test_push_login_denied_then_approved(make_site: Any, page: Page) -> None:
    async with make_site(web_number_matching=False, push_denial_backoff=0.0) as site:
        await site.h.create_user("carol")
        phone = site.phone()
        await site.enrol_push(phone, "carol")
        await site.sign_in(page, "carol")
        await page.get_by_role("button", name="Send a notification to my phone").click()
        await expect(page.get_by_text("Waiting for a response")).to_be_visible()
        assert await phone.answer(await site.notification(phone), approve=False) == 200
        await expect(page.get_by_role("heading", name="Sign-in denied")).to_be_visible()
        await expect(page.get_by_role("button", name="Use a recovery code")).to_be_visible()

        await page.get_by_role("button", name="Send a new request").click()
        await expect(page.get_by_text("Waiting for a response")).to_be_visible()
        assert await phone.answer(await site.notification(phone), approve=True) == 200
        await expect(page.get_by_role("heading", name="Authentication settings")).to_be_visible()


async def test_a_wrong_number_is_refused_and_explained(site: Site, page: Page) -> None:
    await site.h.create_user("dan")
    phone = site.phone()
    await site.enrol_push(phone, "dan")
    await site.sign_in(page, "dan")
    await page.get_by_role("button", name="Send a notification to my phone").click()
    number = await number_on(page)
    pending = await site.notification(phone)
    wrong = next(n for n in pending.notification.numbers or () if n != number)
    assert await phone.answer(pending, approve=True, number=wrong) == 200
    await expect(page.get_by_role("heading", name="The wrong number was tapped")).to_be_visible()
    await page.get_by_role("button", name="Use the alternative method").click()
    await expect(page.get_by_role("heading", name="Get back in with SMS and email")).to_be_visible()
