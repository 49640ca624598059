"""APNs through aioapns, with the library's known traps handled here.

- No request or connect timeout: the dispatcher bounds every send, and a send that
  times out closes the connection it was waiting on. (A cancelled send's future stays
  in the connection's table, and aioapns's ``connection_lost`` then fails on it before
  releasing waiting streams: those futures are dropped first.)
- Received DATA is never acknowledged, so after ~64 KiB of error bodies a connection
  stalls: the protocol below returns flow-control credit.
- ``request_streams`` grows with every successful send: entries are dropped when
  their stream ends (an error answered without a body is resolved there too).
- Each new connection signed a new provider token, and idle connections close after
  10 s: Apple refuses token updates more often than every 20 minutes. One token
  provider is shared by all connections and idle connections live for 5 minutes.
- A send that finds the HTTP/2 send window exhausted raises FlowControlError and is
  retried a second later, so a burst of concurrent sends stalls: pushd keeps the
  payload bytes in flight under half the 64 KiB initial window instead (about 40
  typical notifications at once per process).
- 429 and 5xx come back as results: they map to RETRY for the dispatcher.
- The proxy route hangs on Python 3.11: pushd does not offer it.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import time
import uuid
from functools import partial
from typing import Any

from aioapns.common import NotificationRequest, NotificationResult
from aioapns.common import PushType as ApnsPushType
from aioapns.connection import (
    APNsBaseClientProtocol,
    APNsCertConnectionPool,
    APNsKeyConnectionPool,
    APNsProductionClientProtocol,
    JWTAuthorizationHeaderProvider,
)
from aioapns.exceptions import ConnectionError as ApnsConnectionError
from aioapns.exceptions import MaxAttemptsExceeded

from mfa_core.push import PushType
from pushd.delivery.base import MAX_PAYLOAD_BYTES, PushMessage, SendOutcome, SendResult
from pushd.settings import Settings

PRODUCTION = "api.push.apple.com:443"
SANDBOX = "api.development.push.apple.com:443"
CATEGORIES = {
    PushType.DEFAULT: "authentication",
    PushType.CHALLENGE: "authentication_challenge",
    PushType.BIOMETRIC: "authentication_biometric",
}
# HTTP/2's initial window is 65,535 bytes and peers credit it back in batches (h2 does so
# once half is used), so up to half can be owed at any moment: keep in flight under the rest.
IN_FLIGHT_BYTES = 30_000
_BAD_TOKEN_REASONS = frozenset({"BadDeviceToken", "DeviceTokenNotForTopic"})
_RETRY_STATUSES = frozenset({"429", "500", "503"})


class _SoundProtocol(APNsProductionClientProtocol):
    """aioapns's HTTP/2 protocol with flow-control credit and no per-send leak."""

    INACTIVITY_TIME = 300

    def on_data_received(self, data: bytes, stream_id: int) -> None:
        self.conn.acknowledge_received_data(len(data), stream_id)
        super().on_data_received(data, stream_id)

    def connection_lost(self, exc: Exception | None) -> None:
        for notification_id, future in list(self.requests.items()):
            if future.done():  # cancelled by a timeout: set_exception would raise
                del self.requests[notification_id]
        super().connection_lost(exc)

    def on_stream_ended(self, stream_id: int) -> None:
        notification_id = self.request_streams.pop(stream_id, None)
        if notification_id is not None:
            status = self.request_statuses.pop(notification_id, None)
            future = self.requests.pop(notification_id, None)
            if future is not None and not future.done():
                future.set_result(NotificationResult(notification_id, status or "0"))
        super().on_stream_ended(stream_id)


class _SharedTokenKeyPool(APNsKeyConnectionPool):
    """Every connection presents the same provider token until it is due for renewal."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._provider = JWTAuthorizationHeaderProvider(
            key=self.key, key_id=self.key_id, team_id=self.team_id
        )

    async def create_connection(self) -> APNsBaseClientProtocol:
        factory = partial(
            self.protocol_class,
            self.apns_topic or "",
            self.loop,
            self.discard_connection,  # type: ignore[arg-type]  # aioapns types it NoReturn
            self._provider,
        )
        return await self._create_connection(factory)


class ByteBudget:
    """Lets senders proceed while the bytes they hold stay under ``limit``."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._held = 0
        self._changed = asyncio.Condition()

    async def acquire(self, size: int) -> None:
        async with self._changed:
            await self._changed.wait_for(
                lambda: self._held == 0 or self._held + size <= self._limit
            )
            self._held += size

    async def release(self, size: int) -> None:
        async with self._changed:
            self._held -= size
            self._changed.notify_all()


class ApnsTransport:
    name = "apns"

    def __init__(self, settings: Settings) -> None:
        endpoint = settings.apns_endpoint or (SANDBOX if settings.apns_sandbox else PRODUCTION)
        host, _, port = endpoint.rpartition(":")
        protocol = type(
            "PushdApnsProtocol", (_SoundProtocol,), {"APNS_SERVER": host, "APNS_PORT": int(port)}
        )
        context = ssl.create_default_context(cafile=settings.apns_ca_file or None)
        self._pool: APNsKeyConnectionPool | APNsCertConnectionPool
        if settings.apns_cert_file:
            self._pool = APNsCertConnectionPool(
                cert_file=settings.apns_cert_file,
                topic=settings.apns_topic,
                ssl_context=context,
                max_connection_attempts=2,
            )
        else:
            with open(settings.apns_key_file, encoding="ascii") as key_file:
                key = key_file.read()
            self._pool = _SharedTokenKeyPool(
                key=key,
                key_id=settings.apns_key_id,
                team_id=settings.apns_team_id,
                topic=settings.apns_topic,
                ssl_context=context,
                max_connection_attempts=2,
            )
        self._pool.protocol_class = protocol
        self._budget = ByteBudget(IN_FLIGHT_BYTES)

    async def send(self, message: PushMessage) -> SendResult:
        payload = apns_payload(message)
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        if len(body) > MAX_PAYLOAD_BYTES:
            return SendResult(outcome=SendOutcome.REJECTED, reason="PayloadTooLarge")
        request = NotificationRequest(
            device_token=message.push_token,
            message=payload,
            notification_id=str(uuid.uuid4()),
            time_to_live=max(0, int(message.expires_at - time.time())),
            priority=10,
            collapse_key=message.message_id[:64],
            push_type=ApnsPushType.ALERT,
        )
        await self._budget.acquire(len(body))
        try:
            result = await self._pool.send_notification(request)
        except (MaxAttemptsExceeded, ApnsConnectionError, ConnectionError, ssl.SSLError):
            return SendResult(outcome=SendOutcome.RETRY, reason="ConnectionFailed")
        except BaseException:
            self._close_waiting_on(request.notification_id)  # timed out or cancelled: a stall
            raise
        finally:
            await self._budget.release(len(body))
        return _result(result)

    def _close_waiting_on(self, notification_id: str) -> None:
        for connection in list(self._pool.connections):
            if notification_id in connection.requests:
                connection.close()

    async def close(self) -> None:
        self._pool.close()


def apns_payload(message: PushMessage) -> dict[str, object]:
    """push-protocol section 3: messageId and the JWT inside ``aps``."""
    return {
        "aps": {
            "alert": message.alert,
            "sound": "default",
            "category": CATEGORIES[message.push_type],
            "interruption-level": "time-sensitive",
            "messageId": message.message_id,
            "data": message.jwt,
            "content-available": 1,
            "mutable-content": 1,
        }
    }


def _result(result: NotificationResult) -> SendResult:
    status, reason = result.status, result.description or ""
    code = int(status) if status.isdigit() else None
    if result.is_successful:
        return SendResult(outcome=SendOutcome.DELIVERED, status=code)
    if status == "410":
        outcome = SendOutcome.UNREGISTERED
    elif reason in _BAD_TOKEN_REASONS:
        outcome = SendOutcome.BAD_TOKEN
    elif status in _RETRY_STATUSES or reason == "ExpiredProviderToken":
        outcome = SendOutcome.RETRY
    else:
        outcome = SendOutcome.REJECTED
    return SendResult(outcome=outcome, reason=reason or f"HTTP{status}", status=code)
