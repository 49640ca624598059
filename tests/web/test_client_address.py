"""The address the per-address throttle counts: the peer, or a trusted proxy's last hop."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import make_mocked_request

from pushd.web.security import client_ip


async def test_behind_a_proxy_its_own_entry_wins_over_a_client_header_line(
    make_harness: Any,
) -> None:
    async with make_harness(web_forwarded_for=True) as h:
        # The client sent its own header line; the proxy appended another (as HAProxy does).
        headers = [("X-Forwarded-For", "203.0.113.9"), ("X-Forwarded-For", "198.51.100.7")]
        request = make_mocked_request("GET", "/login", headers=headers, app=h.app)
        assert client_ip(request) == "198.51.100.7"
        joined = [("X-Forwarded-For", "203.0.113.9, 198.51.100.8")]
        request = make_mocked_request("GET", "/login", headers=joined, app=h.app)
        assert client_ip(request) == "198.51.100.8"


async def test_without_a_trusted_proxy_the_header_is_ignored(make_harness: Any) -> None:
    async with make_harness() as h:
        headers = [("X-Forwarded-For", "203.0.113.9")]
        request = make_mocked_request("GET", "/login", headers=headers, app=h.app)
        assert client_ip(request) != "203.0.113.9"
