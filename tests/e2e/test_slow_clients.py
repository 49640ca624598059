"""Slow clients and floods against a real ``pushd serve``: 2,000 idle connections, a body sent
a byte a second, heads and bodies over the limits, and the cap on open connections. Every
load is bounded in count and time, every wait is bounded, and each test ends by reading
pushd's log: no error line and no traceback."""

from __future__ import annotations

import asyncio
import io
import json
import os
import urllib.parse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

import aiohttp

from tests.support.cluster import Api, Instance, instance, next_notification, run_cli
from tests.support.harness import MASTER_KEY
from tests.support.phone import SimPhone

Stream = tuple[asyncio.StreamReader, asyncio.StreamWriter]


@asynccontextmanager
async def daemon(tmp: Path, **settings: str) -> AsyncIterator[tuple[Instance, str]]:
    """One ``pushd serve`` (embedded store) with these settings, and an API key for it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUSHD_")}
    env |= {"PUSHD_MASTER_KEY": MASTER_KEY, "PUSHD_LOG_LEVEL": "info"}
    env |= {f"PUSHD_{name.upper()}": value for name, value in settings.items()}
    data_dir = tmp / "pushd"
    data_dir.mkdir()
    key = await run_cli("apikey", "create", "page", env={**env, "PUSHD_DATA_DIR": str(data_dir)})
    async with instance("pushd", tmp, env) as node:
        yield node, key
    assert node.process.returncode == 0, "pushd did not shut down cleanly"
    lines = [json.loads(line) for line in node.log.read_text().splitlines() if line]
    assert not [line for line in lines if line["level"] in ("error", "critical") or "exc" in line]


def address(node: Instance) -> tuple[str, int]:
    url = urllib.parse.urlsplit(node.base)
    assert url.hostname is not None
    assert url.port is not None
    return url.hostname, url.port


async def connect(node: Instance) -> Stream:
    return await asyncio.open_connection(*address(node))


async def closed_by_pushd(stream: Stream, within: float = 10.0) -> bytes:
    """Everything pushd sends until it closes the connection."""
    reader, _ = stream
    async with asyncio.timeout(within):
        try:
            return await reader.read()
        except ConnectionResetError:
            return b""


async def exchange(node: Instance, head: bytes) -> tuple[int, bytes]:
    """One request on its own connection; pushd answers and closes it."""
    stream = await connect(node)
    try:
        stream[1].write(head)
        status, body = parse(await closed_by_pushd(stream))
    finally:
        stream[1].close()
    return status, body


async def answer_on(stream: Stream) -> tuple[int, bytes]:
    """Read one answer (with a Content-Length) and leave the connection open."""
    reader, _ = stream
    async with asyncio.timeout(10):
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        body = await reader.readexactly(length)
    return int(head.split(b" ", 2)[1]), body


def parse(response: bytes) -> tuple[int, bytes]:
    head, _, body = response.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def error_code(body: bytes) -> str:
    return str(json.loads(body)["error"]["code"])


def get(path: str, *headers: str) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", *headers, "", ""]
    return "\r\n".join(lines).encode()


async def test_two_thousand_idle_connections_are_closed_while_others_are_served(
    tmp_path: Path,
) -> None:
    async with daemon(tmp_path, header_timeout="2", access_log="false") as (node, key):
        idle: list[Stream] = []
        slow: list[asyncio.Task[None]] = []
        try:
            for _ in range(20):  # in batches: the listen queue is not what is tested here
                opened = await asyncio.gather(*(connect(node) for _ in range(100)))
                idle += opened
            async with aiohttp.ClientSession() as session:
                async with session.get(f"{node.base}/healthz") as response:
                    assert response.status == 200
                api = Api(session, node.base, key)
                phone, enrolled = await api.enrol("alice")  # its long-poll sees "confirmed"
                status, created = await api.call("POST", "/v1/users/alice/push/challenges")
                assert status == 201
                waiting = asyncio.create_task(
                    api.call("GET", f"/v1/push/challenges/{created['id']}?wait=20")
                )
                assert await phone.answer(enrolled, await next_notification(phone, enrolled)) == 200
                status, decided = await asyncio.wait_for(waiting, 10)
                assert (status, decided["state"]) == (200, "approved")
            # Heads sent a line a second: a first request's, and one after an answer on a
            # kept-alive connection (whose idle time alone would be 75 s).
            first, later = await connect(node), await connect(node)
            idle += [first, later]
            later[1].write(get("/healthz"))
            assert (await answer_on(later))[0] == 200
            slow = [asyncio.create_task(a_header_line_a_second(s[1])) for s in (first, later)]
            # pushd closes every one of them after the header timeout, without a byte.
            ends = await asyncio.gather(*(closed_by_pushd(stream, 20) for stream in idle))
            assert ends == [b""] * 2002
        finally:
            for task in slow:
                task.cancel()
            for _, writer in idle:
                writer.close()


async def a_header_line_a_second(writer: asyncio.StreamWriter) -> None:
    with suppress(ConnectionError):
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        for _ in range(60):
            await asyncio.sleep(1)  # the slow client's pace
            writer.write(b"X-Slow: 1\r\n")
            await writer.drain()


async def one_byte_a_second(writer: asyncio.StreamWriter, count: int) -> None:
    with suppress(ConnectionError):
        for _ in range(count):
            await asyncio.sleep(1)  # the slow client's pace
            writer.write(b"a")
            await writer.drain()


async def test_a_body_sent_a_byte_a_second_gets_408_while_others_are_served(
    tmp_path: Path,
) -> None:
    async with daemon(tmp_path, body_timeout="2") as (node, key):
        slow = await connect(node)
        slow[1].write(
            b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n"
        )
        trickle = asyncio.create_task(one_byte_a_second(slow[1], 100))
        try:
            async with aiohttp.ClientSession() as session:
                async with session.get(f"{node.base}/healthz") as response:
                    assert response.status == 200
                api = Api(session, node.base, key)
                status, started = await api.call("POST", "/v1/users/bob/push/registrations")
                assert status == 201
                status, seen = await api.call(
                    "GET", f"/v1/push/registrations/{started['id']}?wait=1"
                )
                assert (status, seen["state"]) == (200, "pending")  # a long-poll, answered
            status, body = await answer_on(slow)
            assert (status, error_code(body)) == (408, "request_timeout")
            assert await closed_by_pushd(slow) == b""
        finally:
            trickle.cancel()
            slow[1].close()


async def test_heads_and_bodies_over_the_limits_get_431_and_413(tmp_path: Path) -> None:
    async with daemon(tmp_path, max_header_bytes="4096", access_log="true") as (node, key):
        # Just under the limit (name and value together), then a value one byte over it.
        # (aiohttp 3.14's C parser counts the name with the value for the first header only.)
        under = get("/healthz", f"X-Filler: {'a' * (4096 - 8 - 1)}", "Connection: close")
        assert (await exchange(node, under))[0] == 200
        too_large = [
            get("/healthz", f"X-Filler: {'a' * 4097}"),
            get("/healthz?" + "a" * 4100),  # the request line
            get("/healthz", *(f"X-Header-{i}: 1" for i in range(200))),  # too many headers
        ]
        for head in too_large:
            status, body = await exchange(node, head)
            assert (status, error_code(body)) == (431, "header_too_large")
        status, body = await exchange(node, b"NOT HTTP AT ALL\r\n\r\n")
        assert (status, error_code(body)) == (400, "invalid_request")

        async with aiohttp.ClientSession() as session:
            api = Api(session, node.base, key)
            message = "a" * (70 * 1024)  # JSON bodies are at most 64 KiB
            status, body_json = await api.call(
                "POST", "/v1/users/alice/push/challenges", json={"message": message}
            )
            assert (status, body_json["error"]["code"]) == (413, "payload_too_large")
            form = io.BytesIO(b"login=alice&password=" + b"a" * (1024 * 1024))  # over 1 MiB
            headers = {
                "Accept": "application/json",
                "Content-Type": "application/x-www-form-urlencoded",
            }
            async with session.post(f"{node.base}/login", data=form, headers=headers) as response:
                assert response.status == 413
                assert (await response.json())["error"]["code"] == "payload_too_large"
    logged = [json.loads(line) for line in node.log.read_text().splitlines() if line]
    assert {line.get("status") for line in logged} >= {200, 400, 413, 431}


async def waiters(session: aiohttp.ClientSession, base: str) -> int:
    async with session.get(f"{base}/metrics") as response:
        for line in (await response.text()).splitlines():
            if line.startswith("pushd_waiters "):
                return int(float(line.split()[1]))
    raise AssertionError("no pushd_waiters")


async def until_waiters(session: aiohttp.ClientSession, base: str, count: int) -> None:
    async with asyncio.timeout(10):
        while True:
            if await waiters(session, base) == count:
                return
            await asyncio.sleep(0.05)  # another process: nothing to wait on but its metrics


async def test_at_the_connection_cap_idle_ones_make_room_and_long_polls_stay(
    tmp_path: Path,
) -> None:
    # 32 connections at most; the header timeout is far off: only the cap closes anything.
    async with daemon(tmp_path, max_connections="32", header_timeout="60") as (node, key):
        probe = aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True))
        polls = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        streams: list[Stream] = []
        long_polls: list[asyncio.Task[tuple[int, Any]]] = []
        try:
            api, on_polls = Api(probe, node.base, key), Api(polls, node.base, key)
            status, started = await api.call("POST", "/v1/users/carol/push/registrations")
            assert status == 201
            path = f"/v1/push/registrations/{started['id']}?wait=30&seen=pending"
            long_polls = [asyncio.create_task(on_polls.call("GET", path)) for _ in range(30)]
            await until_waiters(probe, node.base, 30)

            # Five idle connections on the two places left: each one past the cap closes
            # the oldest connection still waiting for its headers.
            idle = [await connect(node) for _ in range(5)]
            streams += idle
            for stream in idle[:3]:
                assert await closed_by_pushd(stream) == b""
            async with probe.get(f"{node.base}/healthz") as response:  # makes room too
                assert response.status == 200
            assert await closed_by_pushd(idle[3]) == b""

            # Two kept-alive connections that have had their answer fill the cap (the
            # second one closes the last idle one); with nothing left to close, a new
            # connection is closed at once.
            kept = [await connect(node), await connect(node)]
            streams += kept
            for stream in kept:
                stream[1].write(get("/healthz"))
                assert (await answer_on(stream))[0] == 200
            assert await closed_by_pushd(idle[4]) == b""
            refused = await connect(node)
            streams.append(refused)
            refused[1].write(get("/healthz"))
            assert await closed_by_pushd(refused) == b""

            # The long-polls were never touched: once there is room, the phone's scan
            # answers all thirty.
            for stream in kept:
                stream[1].write(get("/healthz", "Connection: close"))
                assert parse(await closed_by_pushd(stream))[0] == 200
            status, _ = await SimPhone(probe).scan(started["uri"])
            assert status == 200
            answers = await asyncio.wait_for(asyncio.gather(*long_polls), 10)
            assert {(status, body["state"]) for status, body in answers} == {(200, "registered")}
        finally:
            for task in long_polls:
                task.cancel()
            for _, writer in streams:
                writer.close()
            await probe.close()
            await polls.close()
    assert "connection limit reached" in node.log.read_text()
