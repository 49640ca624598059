"""Sign-up, the email link, signing in; the first login's Skip and Opt out; the keyboard."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Page, expect

from tests.browser.site import BROWSER_TESTS, Site
from tests.support.outbox import outbox

pytestmark = BROWSER_TESTS
PASSWORD = "a long enough passphrase"


async def test_sign_up_verify_the_email_then_sign_in(make_site: Any, page: Page) -> None:
    async with outbox() as box, make_site(**box.settings()) as site:
        await page.goto(site.url("/"))
        await page.get_by_role("link", name="Create an account").click()
        await page.get_by_label("Username").fill("carol")
        await page.get_by_label("Email address").fill("carol@example.com")
        await page.get_by_label("Mobile phone number").fill("+44 20 7946 0958")
        await page.get_by_label("Password", exact=True).fill(PASSWORD)
        await page.get_by_label("Password again").fill(PASSWORD + "!")
        await page.get_by_role("button", name="Create account").click()
        await expect(page.get_by_role("alert")).to_contain_text("not the same")
        await page.get_by_label("Password", exact=True).fill(PASSWORD)
        await page.get_by_label("Password again").fill(PASSWORD)
        await page.get_by_role("button", name="Create account").click()
        await expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
        await expect(page.locator("main")).to_contain_text("c•••@example.com")

        mail = await box.email()
        link = next(word for word in mail.body.split() if "/verify-email?token=" in word)
        assert link.startswith(site.url("/verify-email?token="))
        await page.goto(link)
        await page.get_by_role("button", name="Verify my email address").click()
        await expect(page.get_by_role("heading", name="Email verified")).to_be_visible()
        await page.get_by_role("link", name="Sign in").click()

        await site.sign_in(page, "carol@example.com", PASSWORD)  # the email works as a login
        await expect(page.get_by_role("heading", name="Protect your account")).to_be_visible()
        _, user = await site.h.call("GET", "/v1/admin/users/carol", admin=True, expect=200)
        assert user["email_verified"] is True


async def test_skip_opt_out_and_opt_back_in(site: Site, page: Page) -> None:
    await site.h.create_user("dave")
    await site.sign_in(page, "dave")
    for name in ("Security key or passkey", "Push Auth", "One-time password", "Skip", "Opt out"):
        await expect(page.get_by_role("heading", name=name)).to_be_visible()
    await expect(page.get_by_text("Not recommended")).to_be_visible()
    await page.get_by_role("button", name="Skip for now").click()
    await expect(page.get_by_role("heading", name="Authentication settings")).to_be_visible()
    await expect(page.get_by_text("Two-step verification is not set up")).to_be_visible()
    await site.sign_out(page)

    await site.sign_in(page, "dave")  # skipped: asked again
    await page.get_by_role("button", name="Opt out").click()
    await expect(page.get_by_text("Two-step verification is off")).to_be_visible()
    await site.sign_out(page)

    await site.sign_in(page, "dave")  # opted out: straight in
    await expect(page.get_by_role("heading", name="Authentication settings")).to_be_visible()
    await page.get_by_role("button", name="Turn two-step verification back on").click()
    await expect(page.get_by_role("status")).to_contain_text("back on")
    await site.sign_out(page)
    await site.sign_in(page, "dave")
    await expect(page.get_by_role("heading", name="Protect your account")).to_be_visible()


async def test_the_keyboard_reaches_everything_with_a_visible_focus(site: Site, page: Page) -> None:
    await site.h.create_user("erin")
    await page.goto(site.url("/login"))
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    await page.keyboard.press("Enter")
    order = [
        page.get_by_label("Username or email"),
        page.get_by_label("Password", exact=True),
        page.get_by_role("button", name="Sign in"),
    ]
    await page.keyboard.press("Tab")
    if not await order[0].evaluate("element => element === document.activeElement"):
        await page.keyboard.press("Tab")  # past the site name
    for index, target in enumerate(order):
        await expect(target).to_be_focused()
        outline = await target.evaluate("element => getComputedStyle(element).outlineStyle")
        assert outline == "solid"  # :focus-visible draws a ring
        if index == 0:
            await page.keyboard.type("erin")
        if index == 1:
            await page.keyboard.type("correct horse battery")
        if index < len(order) - 1:
            await page.keyboard.press("Tab")
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Protect your account")).to_be_visible()
    skip = page.get_by_role("button", name="Skip for now")
    await skip.focus()
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Authentication settings")).to_be_visible()
