"""What a push transport (APNs, FCM) is asked to do, and what it answers."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from mfa_core.push import PushType
from mfa_core.push_replies import Transport

MAX_PAYLOAD_BYTES = 4096
# The ``transport`` label of every push metric: the transports' names, so a dead FCM token
# is counted under "fcm" like its sends (not the wire's communicationType "gcm").
TRANSPORT_LABELS = {Transport.APNS: "apns", Transport.FCM: "fcm"}


class SendOutcome(enum.StrEnum):
    DELIVERED = "delivered"  # the push service accepted it
    UNREGISTERED = "unregistered"  # the token is dead (APNs 410, FCM UNREGISTERED)
    BAD_TOKEN = "bad_token"  # noqa: S105 - the token is not valid for us (APNs 400, SENDER_ID_MISMATCH)
    RETRY = "retry"  # 429, 5xx, timeout or connection trouble: worth trying again
    REJECTED = "rejected"  # refused for good (payload, credentials, configuration)


@dataclass(frozen=True, slots=True, kw_only=True)
class PushMessage:
    key: str  # the challenge id: results are routed back by it
    message_id: str
    jwt: str
    push_token: str
    platform: Transport
    push_type: PushType
    alert: str
    expires_at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class SendResult:
    outcome: SendOutcome
    reason: str = ""  # the provider's reason, e.g. "BadDeviceToken"
    status: int | None = None
    retry_after: float | None = None


class PushTransport(Protocol):
    name: str

    async def send(self, message: PushMessage) -> SendResult: ...

    async def close(self) -> None: ...
