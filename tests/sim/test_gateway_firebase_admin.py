"""End to end through firebase-admin itself: its encoding, auth flow and error mapping."""

from __future__ import annotations

import asyncio
import ssl
import uuid
from collections.abc import AsyncIterator
from typing import Any

import firebase_admin
import httpx
import pytest
from firebase_admin import _http_client, _retry, credentials, messaging

from authenticator_sim.gateway import Gateway
from tests.sim.fcm_clients import refresh


@pytest.fixture
async def service(gateway: Gateway) -> AsyncIterator[Any]:
    app = firebase_admin.initialize_app(
        credentials.Certificate(str(gateway.fcm_credentials_file)),
        {"projectId": gateway.fcm_project},
        name=f"gateway-{uuid.uuid4()}",
    )
    fcm = messaging._MessagingService(app)
    credential = app.credential.get_credential()
    await asyncio.to_thread(refresh, gateway, credential)  # its own refresh would not trust the CA
    await fcm._async_client.aclose()
    client = _http_client.HttpxAsyncClient(credential=credential)
    await client.aclose()
    context = ssl.create_default_context(cafile=gateway.ca_file)
    client._async_client = httpx.AsyncClient(
        http2=True,
        headers=client._headers,
        auth=_http_client.GoogleAuthCredentialFlow(credential),
        mounts={"https://": _retry.HttpxRetryTransport(verify=context)},
    )
    fcm._async_client = client
    fcm._fcm_url = f"{gateway.fcm_endpoint}/v1/projects/{gateway.fcm_project}/messages:send"
    try:
        yield fcm
    finally:
        await client.aclose()  # not fcm.close(): it calls asyncio.run inside this loop
        fcm._client.close()
        firebase_admin.delete_app(app)


async def test_send_each_async_delivers(gateway: Gateway, service: Any) -> None:
    data = {"messageId": "m-9", "message": "j.w.t"}
    with pytest.warns(DeprecationWarning, match="Message.token is deprecated"):
        by_token = messaging.Message(token="fcm-a", data=data)
    by_fid = messaging.Message(fid="fcm-b", data=data)  # encoded as "fid" on the wire
    batch = await service.send_each_async([by_token, by_fid], dry_run=False)
    assert batch.success_count == 2
    assert batch.responses[0].message_id.startswith(f"projects/{gateway.fcm_project}/messages/")
    for token in ("fcm-a", "fcm-b"):
        item = await gateway.inbox.next(token, within=5)
        assert item is not None
        assert (item.message_id, item.jwt) == ("m-9", "j.w.t")


async def test_dry_run_delivers_nothing(gateway: Gateway, service: Any) -> None:
    batch = await service.send_each_async([messaging.Message(fid="fcm-c", data={"a": "b"})])
    assert batch.success_count == 1  # send_each_async defaults to dry_run=True
    assert gateway.inbox.take("fcm-c") == []


@pytest.mark.parametrize(
    ("error_code", "exception"),
    [
        ("UNREGISTERED", messaging.UnregisteredError),
        ("SENDER_ID_MISMATCH", messaging.SenderIdMismatchError),
        ("QUOTA_EXCEEDED", messaging.QuotaExceededError),
        ("INVALID_ARGUMENT", firebase_admin.exceptions.InvalidArgumentError),
    ],
)
async def test_errors_map_to_firebase_admin_exceptions(
    gateway: Gateway, service: Any, error_code: str, exception: type[Exception]
) -> None:
    gateway.faults.add(platform="fcm", token="fcm-d", status=500, reason=error_code)
    sent = messaging.Message(fid="fcm-d", data={"a": "b"})
    batch = await service.send_each_async([sent], dry_run=False)
    assert batch.failure_count == 1
    assert isinstance(batch.responses[0].exception, exception)
    assert gateway.inbox.take("fcm-d") == []
