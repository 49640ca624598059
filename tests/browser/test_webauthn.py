"""Security keys: registration and sign-in through virtual authenticators (DevTools
protocol), two keys for one user, each of which signs in."""

from __future__ import annotations

from playwright.async_api import Page, expect

from tests.browser.site import BROWSER_TESTS, Site, VirtualKey, codes_on

pytestmark = BROWSER_TESTS


async def register_key(page: Page, name: str) -> list[str]:
    await expect(page.get_by_role("heading", name="Add a security key")).to_be_visible()
    await page.get_by_label("Name for this key").fill(name)
    await page.get_by_role("button", name="Register security key").click()
    return await codes_on(page)


async def sign_in_with_key(site: Site, page: Page, username: str) -> None:
    await site.sign_in(page, username)
    await page.get_by_role("link", name="Use a security key").click()
    await page.get_by_role("button", name="Use security key").click()
    await expect(page.get_by_role("heading", name="Authentication settings")).to_be_visible()


async def test_two_security_keys_for_one_user(site: Site, page: Page) -> None:
    await site.h.create_user("alice")
    first = await VirtualKey.plug_in(page)
    await site.sign_in(page, "alice")
    await page.get_by_role("link", name="Set up").first.click()  # the security key offer
    codes = await register_key(page, "Blue key")
    await page.get_by_role("button", name="I have saved them").click()
    await expect(page.get_by_role("heading", name="Authentication settings")).to_be_visible()
    await expect(page.get_by_text("Blue key")).to_be_visible()

    # The second key: the first is unplugged (one virtual key per page), its credential kept.
    [blue] = await first.credentials()
    await first.unplug()
    second = await VirtualKey.plug_in(page, first.cdp)
    await page.get_by_role("link", name="Security key").click()
    more_codes = await register_key(page, "Green key")
    assert not set(codes) & set(more_codes)
    await page.get_by_role("button", name="I have saved them").click()
    await expect(page.get_by_text("Green key")).to_be_visible()
    await expect(page.get_by_text("Blue key")).to_be_visible()
    await expect(page.get_by_text("20 codes left")).to_be_visible()
    await site.sign_out(page)

    await sign_in_with_key(site, page, "alice")  # with the green key
    await site.sign_out(page)
    await second.unplug()
    blue_again = await VirtualKey.plug_in(page, first.cdp)
    await blue_again.add(blue)
    await sign_in_with_key(site, page, "alice")  # with the blue key
    _, devices = await site.h.call("GET", "/v1/users/alice/devices", expect=200)
    used = {d["name"]: "last_used_at" in d for d in devices["devices"]}
    assert used == {"Blue key": True, "Green key": True}


async def test_a_key_that_is_not_registered_is_refused_clearly(site: Site, page: Page) -> None:
    await site.h.create_user("bob")
    key = await VirtualKey.plug_in(page)
    await site.sign_in(page, "bob")
    await page.goto(site.url("/register/webauthn"))
    await register_key(page, "Only key")
    await page.get_by_role("button", name="I have saved them").click()
    await site.sign_out(page)
    await key.unplug()
    await VirtualKey.plug_in(page, key.cdp)  # an empty key: nothing registered on it
    await site.sign_in(page, "bob")
    await page.get_by_role("link", name="Use a security key").click()
    await page.get_by_role("button", name="Use security key").click()
    await expect(page.get_by_role("alert")).to_contain_text("cancelled or timed out")
    await expect(page.get_by_role("button", name="Use security key")).to_be_enabled()
