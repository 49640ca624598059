"""A person at the hosted pages without JavaScript: an aiohttp client with its own cookies
that reads each page's CSRF token and submits forms the way a browser would."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from http.cookies import Morsel

import aiohttp
from multidict import CIMultiDictProxy
from yarl import URL

from tests.support.harness import PASSWORD, Harness
from tests.support.log_scan import register_secret

_TOKEN = re.compile(r'<meta name="csrf-token" content="([^"]*)">')


@dataclass(frozen=True)
class Answer:
    status: int
    path: str  # where the browser ended up (after redirects, if followed)
    text: str
    headers: CIMultiDictProxy[str]

    @property
    def location(self) -> str:
        return self.headers.get("Location", "")

    def has(self, words: str) -> bool:
        return words in html.unescape(self.text)

    def first(self, pattern: str) -> str:
        match = re.search(pattern, html.unescape(self.text))
        assert match, f"{pattern!r} not on the page:\n{self.text}"
        return match.group(1)


class Visitor:
    def __init__(self, base: URL) -> None:
        self.base = base
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.token = ""

    async def close(self) -> None:
        await self.session.close()

    def url(self, path: str) -> URL:
        return self.base.join(URL(path))

    async def _answer(self, response: aiohttp.ClientResponse) -> Answer:
        text = await response.text()
        if match := _TOKEN.search(text):
            self.token = match.group(1)
            register_secret("csrf_token", self.token)
        for morsel in self.session.cookie_jar:
            register_secret("session_cookie", morsel.value)
        return Answer(response.status, response.url.path_qs, text, response.headers)

    async def get(self, path: str, *, follow: bool = True) -> Answer:
        async with self.session.get(self.url(path), allow_redirects=follow) as response:
            return await self._answer(response)

    async def post(
        self,
        path: str,
        data: Mapping[str, str] | None = None,
        *,
        csrf: bool = True,
        follow: bool = True,
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        fields = dict(data or {})
        if csrf:
            fields.setdefault("csrf", self.token)
        async with self.session.post(
            self.url(path), data=fields, allow_redirects=follow, headers=headers
        ) as response:
            return await self._answer(response)

    def cookie(self) -> Morsel[str] | None:
        for morsel in self.session.cookie_jar:
            if morsel.key.endswith("pushd_session"):
                return morsel
        return None

    async def sign_in(self, login: str, password: str = PASSWORD) -> Answer:
        await self.get("/login")
        return await self.post("/login", {"login": login, "password": password})

    async def sign_out(self) -> Answer:
        return await self.post("/logout")


@asynccontextmanager
async def visitor(harness: Harness) -> AsyncIterator[Visitor]:
    person = Visitor(harness.client.make_url("/"))
    try:
        yield person
    finally:
        await person.close()
