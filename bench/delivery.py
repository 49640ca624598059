"""Delivery sends per second: pushd's APNs and FCM transports against the bare libraries.

Both send the same notifications to the same ``authsim gateway`` process in the
same run, at the same concurrency; the figure that matters is the ratio.
"""

from __future__ import annotations

import asyncio
import dataclasses
import ssl
import tempfile
import time
import warnings
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path

import firebase_admin
import google.auth.transport.requests
import httpx
import requests
from aioapns.common import NotificationRequest, PushType
from aioapns.connection import APNsKeyConnectionPool, APNsProductionClientProtocol
from firebase_admin import credentials, messaging
from firebase_admin._http_client import HttpxAsyncClient
from firebase_admin._retry import HttpxRetry, HttpxRetryTransport

from bench.common import Row
from bench.gateway import RunningGateway, gateway_process
from mfa_core.push import PushType as Kind
from mfa_core.push_replies import Transport
from pushd.delivery.apns import ApnsTransport, apns_payload
from pushd.delivery.base import PushMessage, SendOutcome
from pushd.delivery.fcm import FcmTransport
from pushd.settings import Settings

TOKEN = "b2" * 32
JWT = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9." + "x" * 420 + ".sig"


def _message(platform: Transport) -> PushMessage:
    return PushMessage(
        key="c", message_id="AUTHENTICATE:0f8fad5b-d9cb-469f-a165-70867728950e1700000000000",
        jwt=JWT, push_token=TOKEN if platform is Transport.APNS else "fcm-bench-token",
        platform=platform, push_type=Kind.DEFAULT, alert="Login attempt from alice at Backstage",
        expires_at=time.time() + 3600,
    )  # fmt: skip


async def _rate(send: Callable[[], Awaitable[bool]], count: int, concurrency: int) -> float:
    remaining = count
    failures = 0

    async def worker() -> None:
        nonlocal remaining, failures
        while remaining > 0:
            remaining -= 1
            failures += not await send()

    for _ in range(min(50, count)):  # warm-up: connections, TLS, tokens
        await send()
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"{failures} sends failed")
    return count / elapsed


def _settings(gw: RunningGateway) -> Settings:
    values = {k.removeprefix("PUSHD_").lower(): v for k, v in gw.env.items()}
    return dataclasses.replace(Settings(**values), push_send_timeout=30.0)


async def _bare_aioapns(gw: RunningGateway, count: int, concurrency: int) -> float:
    host, _, port = gw.env["PUSHD_APNS_ENDPOINT"].rpartition(":")
    protocol = type(
        "Bench", (APNsProductionClientProtocol,), {"APNS_SERVER": host, "APNS_PORT": int(port)}
    )
    key = await asyncio.to_thread(Path(gw.env["PUSHD_APNS_KEY_FILE"]).read_text, "ascii")
    pool = APNsKeyConnectionPool(
        key=key,
        key_id=gw.env["PUSHD_APNS_KEY_ID"],
        team_id=gw.env["PUSHD_APNS_TEAM_ID"],
        topic=gw.env["PUSHD_APNS_TOPIC"],
        ssl_context=ssl.create_default_context(cafile=gw.env["PUSHD_APNS_CA_FILE"]),
    )
    pool.protocol_class = protocol
    payload = apns_payload(_message(Transport.APNS))

    async def send() -> bool:
        request = NotificationRequest(device_token=TOKEN, message=payload, time_to_live=3600,
                                      priority=10, push_type=PushType.ALERT)  # fmt: skip
        return (await pool.send_notification(request)).is_successful

    try:
        return await _rate(send, count, concurrency)
    finally:
        pool.close()


async def _pushd_transport(
    make: Callable[[], ApnsTransport | FcmTransport], platform: Transport, count: int, c: int
) -> float:
    transport = make()
    message = _message(platform)

    async def send() -> bool:
        return (await transport.send(message)).outcome is SendOutcome.DELIVERED

    try:
        return await _rate(send, count, c)
    finally:
        await transport.close()


async def _bare_firebase(gw: RunningGateway, count: int, concurrency: int) -> float:
    cert = credentials.Certificate(gw.env["PUSHD_FCM_CREDENTIALS"])
    app = firebase_admin.initialize_app(cert, {"projectId": gw.env["PUSHD_FCM_PROJECT"]},
                                        name=f"bench-bare-{concurrency}")  # fmt: skip
    credential = cert.get_credential()
    session = requests.Session()
    session.verify, session.trust_env = gw.env["PUSHD_FCM_CA_FILE"], False
    await asyncio.to_thread(credential.refresh, google.auth.transport.requests.Request(session))
    service = messaging._MessagingService(app)  # the library's own path, as pushd uses it
    service._fcm_url = (
        f"{gw.env['PUSHD_FCM_ENDPOINT']}/v1/projects/{gw.env['PUSHD_FCM_PROJECT']}/messages:send"
    )
    http = HttpxAsyncClient(credential=credential, retry_config=HttpxRetry(max_retries=0))
    verify = ssl.create_default_context(cafile=gw.env["PUSHD_FCM_CA_FILE"])
    http._async_client = httpx.AsyncClient(
        http2=True, auth=http.async_client.auth, verify=verify,
        mounts={"https://": HttpxRetryTransport(retry=HttpxRetry(max_retries=0), verify=verify)},
    )  # fmt: skip
    service._async_client = http
    message = _message(Transport.FCM)

    async def send() -> bool:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            fcm = messaging.Message(token=message.push_token,
                                    data={"messageId": message.message_id, "message": JWT},
                                    android=messaging.AndroidConfig(priority="high"))  # fmt: skip
        batch = await service.send_each_async([fcm], dry_run=False)
        return bool(batch.responses[0].success)

    try:
        return await _rate(send, count, concurrency)
    finally:
        await http.aclose()
        firebase_admin.delete_app(app)


async def run(*, quick: bool) -> list[Row]:
    count, levels = (100, (8,)) if quick else (5000, (16, 64))
    rows = []
    with tempfile.TemporaryDirectory(prefix="pushd-bench-gw-") as tmp:
        async with gateway_process(Path(tmp)) as gw:
            settings = _settings(gw)
            for concurrency in levels:
                bare_apns = await _bare_aioapns(gw, count, concurrency)
                ours_apns = await _pushd_transport(
                    partial(ApnsTransport, settings), Transport.APNS, count, concurrency
                )
                bare_fcm = await _bare_firebase(gw, count, concurrency)
                ours_fcm = await _pushd_transport(
                    partial(FcmTransport, settings), Transport.FCM, count, concurrency
                )
                note = f"{count:,} sends at concurrency {concurrency}; target >= 80%"
                rows += [
                    Row(f"APNs sends/s, pushd transport vs bare aioapns, c={concurrency}",
                        f"{ours_apns:,.0f}/s", f"{bare_apns:,.0f}/s ({ours_apns / bare_apns:.0%})",
                        note + "; PERFORMANCE.md bare aioapns ~2,200-2,800/s"),
                    Row(f"FCM sends/s, pushd transport vs bare firebase-admin, c={concurrency}",
                        f"{ours_fcm:,.0f}/s", f"{bare_fcm:,.0f}/s ({ours_fcm / bare_fcm:.0%})",
                        note + "; PERFORMANCE.md bare firebase-admin ~800-1,000/s"),
                ]  # fmt: skip
    return rows
