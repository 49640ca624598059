"""Debian's Chromium driven by Playwright against a real pushd on http://localhost:PORT.

One browser per test module (its tests share the module's event loop), a fresh context
(cookies, storage) per test. WebAuthn needs a secure context: ``localhost`` is one, an IP
address is not, so pushd binds 127.0.0.1 and the browser browses ``localhost``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, async_playwright

from tests.browser.site import CHROMIUM, CHROMIUM_ARGS, Site


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest_asyncio.fixture(loop_scope="module")
async def page(browser: Browser) -> AsyncIterator[Page]:
    """A fresh context; the test fails on any script error or CSP violation it caused."""
    context = await browser.new_context(viewport={"width": 900, "height": 1000})
    context.set_default_timeout(15_000)
    tab = await context.new_page()
    problems: list[str] = []
    tab.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    tab.on(
        "console",
        lambda message: (
            problems.append(message.text)
            if message.type == "error" and "Content Security Policy" in message.text
            else None
        ),
    )
    try:
        yield tab
    finally:
        await context.close()
    assert problems == []


@pytest_asyncio.fixture(loop_scope="module")
async def site(make_harness: Any, tmp_path: Path) -> AsyncIterator[Site]:
    async with make_harness(public_host="localhost") as harness:
        yield Site(harness, tmp_path)


@pytest.fixture
def make_site(make_harness: Any, tmp_path: Path) -> Any:
    """``async with make_site(**settings) as site`` for tests that need other settings."""

    @asynccontextmanager
    async def start(**changes: Any) -> AsyncIterator[Site]:
        async with make_harness(public_host="localhost", **changes) as harness:
            yield Site(harness, tmp_path)

    return start
