"""The real aioapns client, pointed at the gateway instead of Apple."""

from __future__ import annotations

import secrets
import ssl
import time
from functools import partial
from typing import Any

import jwt
from aioapns.common import NotificationRequest, NotificationResult
from aioapns.connection import (
    APNsBaseClientProtocol,
    APNsCertConnectionPool,
    APNsKeyConnectionPool,
    APNsProductionClientProtocol,
    AuthorizationHeaderProvider,
)

from authenticator_sim.gateway import Gateway


def device_token() -> str:
    return secrets.token_hex(32)


def notification(token: str, message_id: str = "m-1", jwt_text: str = "a.b.c", **kw: Any) -> Any:
    message = {"aps": {"messageId": message_id, "data": jwt_text, "content-available": 1}}
    return NotificationRequest(device_token=token, message=message, **kw)


def _protocol(gateway: Gateway) -> type[APNsProductionClientProtocol]:
    host, port = gateway.apns_endpoint.rsplit(":", 1)

    class Local(APNsProductionClientProtocol):
        APNS_SERVER = host
        APNS_PORT = int(port)

    return Local


def key_pool(gateway: Gateway, **options: Any) -> Any:
    """aioapns's token-auth pool, as pushd would build it from ``gateway.pushd_env()``."""
    pool = APNsKeyConnectionPool(
        key=gateway.apns_key_file.read_text(),
        key_id=gateway.apns_key_id,
        team_id=gateway.apns_team_id,
        topic=gateway.apns_topic,
        ssl_context=ssl.create_default_context(cafile=gateway.ca_file),
        **options,
    )
    pool.protocol_class = _protocol(gateway)
    return pool


def cert_pool(gateway: Gateway, **options: Any) -> Any:
    """aioapns's certificate-auth pool. The topic is given: without it aioapns reads the
    certificate's UID through a deprecated pyOpenSSL call (a DeprecationWarning)."""
    pool = APNsCertConnectionPool(
        cert_file=str(gateway.apns_client_cert_file),
        topic=gateway.apns_topic,
        ssl_context=ssl.create_default_context(cafile=gateway.ca_file),
        **options,
    )
    pool.protocol_class = _protocol(gateway)
    return pool


class _Preset(AuthorizationHeaderProvider):
    def __init__(self, header: str) -> None:
        self.header = header

    def get_header(self) -> str:
        return self.header


class _PresetTokenPool(APNsKeyConnectionPool):
    """aioapns's key pool presenting a given provider token (old, foreign, ...)."""

    header: str

    async def create_connection(self) -> APNsBaseClientProtocol:
        on_lost: Any = self.discard_connection  # aioapns annotates it as NoReturn
        factory = partial(
            self.protocol_class, self.apns_topic or "", self.loop, on_lost, _Preset(self.header)
        )
        return await self._create_connection(factory)


def provider_token(
    gateway: Gateway,
    *,
    iat: float | None = None,
    key: Any = None,
    key_id: str | None = None,
    team_id: str | None = None,
) -> str:
    claims = {
        "iss": team_id or gateway.apns_team_id,
        "iat": int(time.time() if iat is None else iat),
    }
    signing_key = key if key is not None else gateway.apns_key_file.read_text()
    headers = {"kid": key_id or gateway.apns_key_id}
    return f"bearer {jwt.encode(claims, signing_key, algorithm='ES256', headers=headers)}"


def preset_pool(gateway: Gateway, header: str) -> Any:
    pool = _PresetTokenPool(
        key="unused",
        key_id=gateway.apns_key_id,
        team_id=gateway.apns_team_id,
        topic=gateway.apns_topic,
        ssl_context=ssl.create_default_context(cafile=gateway.ca_file),
        max_connection_attempts=1,
    )
    pool.header = header
    pool.protocol_class = _protocol(gateway)
    return pool


async def send(pool: Any, request: Any) -> NotificationResult:
    result: NotificationResult = await pool.send_notification(request)
    return result
