"""Getting back in without the usual device: leaving a push wait for the alternative
method (codes by SMS and email, from real local SMTP and SMS endpoints), and manual
verification with a photo of an ID."""

from __future__ import annotations

from typing import Any

from PIL import Image
from playwright.async_api import Page, expect

from mfa_core.message_id import parse_message_id
from tests.browser.site import BROWSER_TESTS, Site
from tests.support.outbox import outbox

pytestmark = BROWSER_TESTS


async def test_alternative_method_with_sms_and_email_codes(make_site: Any, page: Page) -> None:
    async with outbox() as box, make_site(**box.settings()) as site:
        await site.h.create_user("alice", email="alice@example.com", phone="+442079460958")
        await site.h.call(
            "PATCH", "/v1/admin/users/alice", json={"email_verified": True}, admin=True, expect=200
        )
        phone = site.phone()
        await site.enrol_push(phone, "alice")
        await site.sign_in(page, "alice")
        await page.get_by_role("button", name="Send a notification to my phone").click()
        pending = await site.notification(phone)
        # The phone is lost: leave the wait; the pending request is withdrawn.
        await page.get_by_role("button", name="Use the alternative method").click()
        await expect(page.get_by_role("button", name="Send the codes")).to_be_visible()
        challenge_id = parse_message_id(pending.message_id).uuid
        _, challenge = await site.h.call("GET", f"/v1/push/challenges/{challenge_id}", expect=200)
        assert challenge["state"] == "cancelled"
        number = (pending.notification.numbers or (0,))[0]
        assert await phone.answer(pending, approve=True, number=number) == 400  # too late

        await page.get_by_role("button", name="Send the codes").click()
        await expect(page.locator("main")).to_contain_text("a•••@example.com")
        sms, mail = await box.text(), await box.email()
        assert sms.to == "+442079460958"
        await page.get_by_label("Code from the SMS").fill(sms.code())
        await page.get_by_label("Code from the email").fill("000000")
        await page.get_by_role("button", name="Continue").click()
        await expect(page.get_by_role("alert")).to_contain_text("That code is not right")
        await page.get_by_label("Code from the SMS").fill(sms.code())
        await page.get_by_label("Code from the email").fill(mail.code())
        await page.get_by_role("button", name="Continue").click()
        await expect(page.get_by_role("heading", name="Authentication settings")).to_be_visible()
        await expect(page.get_by_text("You signed in without your usual device")).to_be_visible()


async def test_manual_verification_with_a_photo_of_an_id(site: Site, page: Page) -> None:
    await site.h.create_user("bob", email="bob@example.com")
    await site.enrol_push(site.phone(), "bob")
    photo = site.tmp / "passport.jpg"
    Image.new("RGB", (64, 40), (200, 180, 150)).save(photo, "JPEG")
    not_an_image = site.tmp / "notes.jpg"
    not_an_image.write_text("this is not a picture")

    await site.sign_in(page, "bob")
    await page.get_by_role("link", name="Ask for manual verification").click()
    await page.get_by_label("Photo or scan of your ID").set_input_files(not_an_image)
    await page.get_by_role("button", name="Send for verification").click()
    await expect(page.get_by_role("alert")).to_contain_text("Send a photo (JPEG or PNG) or a PDF")

    await page.get_by_label("Photo or scan of your ID").set_input_files(photo)
    await page.get_by_label("Anything we should know").fill("I lost my phone on a train")
    await page.get_by_role("button", name="Send for verification").click()
    await expect(page.get_by_role("heading", name="We have your request")).to_be_visible()
    _, cases = await site.h.call("GET", "/v1/admin/cases", admin=True, expect=200)
    [case] = cases["cases"]
    assert case["username"] == "bob"
    assert case["document_type"] == "image/jpeg"
    assert case["note"] == "I lost my phone on a train"
