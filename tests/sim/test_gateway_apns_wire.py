"""The APNs stand-in at the HTTP/2 level: headers aioapns never sends, flow control, resets."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aioapns.exceptions import MaxAttemptsExceeded

from authenticator_sim.gateway import Gateway
from tests.sim.apns_clients import device_token, key_pool, notification, provider_token, send
from tests.sim.raw_h2 import RawH2

TOPIC = "com.forgerock.ios.authenticator"
ERROR_BODY = b'{"reason":"BadDeviceToken"}'


@pytest.fixture
async def client(gateway: Gateway) -> AsyncIterator[RawH2]:
    raw = await RawH2.connect(gateway, certificate=True)
    yield raw
    await raw.close()


def headers(
    token: str | None = None, *, method: str = "POST", path: str | None = None, **extra: str
) -> list[tuple[str, str]]:
    listed = [
        (":method", method),
        (":scheme", "https"),
        (":path", path or f"/3/device/{token or device_token()}"),
        (":authority", "api.push.apple.com"),
        ("apns-topic", TOPIC),
    ]
    listed += [(name.replace("_", "-"), value) for name, value in extra.items()]
    return listed


BODY = json.dumps({"aps": {"messageId": "m", "data": "j"}}).encode()


async def test_the_server_speaks_h2_with_1000_streams(client: RawH2) -> None:
    async with asyncio.timeout(5):
        await client.settings_received.wait()
    assert client.alpn == "h2"
    assert client.conn.remote_settings.max_concurrent_streams == 1000


@pytest.mark.parametrize(
    ("request_headers", "body", "status", "reason"),
    [
        (headers(method="GET"), BODY, 405, "MethodNotAllowed"),
        (headers(path="/3/devices/abc"), BODY, 404, "BadPath"),
        (headers(path="/2/device/" + "ab" * 32), BODY, 404, "BadPath"),
        ([h for h in headers() if h[0] != "apns-topic"], BODY, 400, "MissingTopic"),
        (headers(apns_push_type="shout"), BODY, 400, "InvalidPushType"),
        (headers(apns_expiration="soon"), BODY, 400, "BadExpirationDate"),
        (headers(apns_priority="10", apns_push_type="background"), BODY, 200, None),
        (headers(), b"", 400, "PayloadEmpty"),
        (headers(), b"not json", 400, "BadPayload"),
        (headers(), b"[1, 2]", 400, "BadPayload"),
    ],
)
async def test_requests_aioapns_cannot_send(
    client: RawH2, request_headers: list[tuple[str, str]], body: bytes, status: int, reason: str
) -> None:
    response = await client.request(request_headers, body)
    assert response.status == status
    assert uuid.UUID(response.headers["apns-id"])  # always present, a new one if none was sent
    assert (json.loads(response.body)["reason"] if response.body else None) == reason


async def test_the_apns_id_is_echoed_as_sent(client: RawH2) -> None:
    apns_id = str(uuid.uuid4()).upper()
    ok = await client.request(headers(apns_id=apns_id), BODY)
    failed = await client.request(headers("bad", apns_id=apns_id), BODY)
    assert ok.headers["apns-id"] == failed.headers["apns-id"] == apns_id


async def test_provider_token_missing(gateway: Gateway) -> None:
    raw = await RawH2.connect(gateway)  # no client certificate
    try:
        missing = await raw.request(headers(), BODY)
        assert json.loads(missing.body) == {"reason": "MissingProviderToken"}
        authorization = provider_token(gateway)
        signed = await raw.request(headers(authorization=authorization), BODY)
        assert signed.status == 200
    finally:
        await raw.close()


async def test_bodies_wait_for_credit_and_resume_after_it(gateway: Gateway) -> None:
    raw = await RawH2.connect(gateway, certificate=True, acknowledge=False)
    try:
        fit = 65_535 // len(ERROR_BODY)
        streams: list[int] = []
        while len(streams) < fit + 5:  # in batches: the requests need window too
            batch = [
                raw.start(headers("bad"), BODY) for _ in range(min(500, fit + 5 - len(streams)))
            ]
            await raw.headers_of(batch[-1])
            streams += batch
        for stream_id in streams[:fit]:
            assert (await raw.response(stream_id)).body == ERROR_BODY
        for stream_id in streams[fit:]:  # answered, but the bodies wait for window
            assert (await raw.headers_of(stream_id)).status == 400
        assert not any(raw.done(stream_id) for stream_id in streams[fit:])
        raw.credit()
        for stream_id in streams[fit:]:
            assert (await raw.response(stream_id)).body == ERROR_BODY
    finally:
        await raw.close()


async def test_unmodified_aioapns_stalls_after_64_kib_of_error_bodies(gateway: Gateway) -> None:
    """aioapns never acknowledges received DATA: the gateway must not hide that bug."""
    pool = key_pool(gateway, max_connections=1, max_connection_attempts=1)
    sends = [asyncio.create_task(send(pool, notification("bad"))) for _ in range(2500)]
    answered = 65_535 // len(ERROR_BODY)  # 2,427 bodies fit in the window aioapns got
    try:
        results = []
        async with asyncio.timeout(15):
            for finished in asyncio.as_completed(sends):
                results.append(await finished)
                if len(results) == answered:
                    break
        assert {(r.status, r.description) for r in results} == {("400", "BadDeviceToken")}
        done, stalled = await asyncio.wait(sends, timeout=0.5)
        assert len(done) == answered
        assert len(stalled) == 2500 - answered
        assert gateway.stats()["answered"]["apns"] == {"400": 2500}
    finally:
        pool.close()  # the stalled sends fail (ConnectionClosed, then MaxAttemptsExceeded)
        outcomes = await asyncio.gather(*sends, return_exceptions=True)
    assert sum(isinstance(o, MaxAttemptsExceeded) for o in outcomes) == 2500 - answered


async def test_a_reset_stream_is_forgotten(gateway: Gateway, client: RawH2) -> None:
    token = device_token()
    gateway.faults.add(token=token, status=200, stall=0.2, count=1)
    stalled = client.start(headers(token), BODY)
    client.reset(stalled)
    after = await client.request(headers(), BODY)  # the connection carries on
    assert after.status == 200
    assert await gateway.inbox.next(token, within=0.5) is None
    assert gateway.stats()["answered"]["apns"] == {"200": 1}


async def test_connection_loss_and_goaway_leave_nothing_behind(gateway: Gateway) -> None:
    token = device_token()
    gateway.faults.add(token=token, status=200, stall=0.2)
    lost = await RawH2.connect(gateway, certificate=True)
    lost.start(headers(token), BODY)
    lost.writer.transport.abort()
    await lost.close()
    polite = await RawH2.connect(gateway, certificate=True)
    polite.start(headers(token), BODY)
    polite.conn.close_connection()
    polite.flush()
    async with asyncio.timeout(5):
        await polite.terminated.wait()  # the gateway closes its side
    await polite.close()
    assert await gateway.inbox.next(token, within=0.5) is None
    fresh = await RawH2.connect(gateway, certificate=True)
    try:
        assert (await fresh.request(headers(), BODY)).status == 200
    finally:
        await fresh.close()


async def test_stopping_closes_client_connections(gateway: Gateway) -> None:
    pool: Any = key_pool(gateway)
    assert (await send(pool, notification(device_token()))).status == "200"
    raw = await RawH2.connect(gateway, certificate=True)
    await gateway.stop()
    async with asyncio.timeout(5):
        await raw.terminated.wait()
    await raw.close()
    pool.close()
