"""What Apple answers to one ``POST /3/device/{token}``, checked in Apple's order (sans-IO)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from authenticator_sim.gateway.apns_auth import ProviderTokens

MAX_PAYLOAD = 4096
PUSH_TYPES = frozenset(
    b"alert background controls location voip complication fileprovider mdm liveactivity "
    b"pushtotalk widgets".split()
)
_PATH = re.compile(rb"/3/device/([^/?#]+)")
_TOKEN = re.compile(rb"[0-9a-fA-F]{64}")
_UUID = re.compile(rb"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_INTEGER = re.compile(rb"-?[0-9]{1,19}")
# Optional headers: (name, valid value?, Apple's reason when not), checked in this order.
_HEADER_RULES: tuple[tuple[bytes, Callable[[bytes], bool], str], ...] = (
    (b"apns-collapse-id", lambda value: len(value) <= 64, "BadCollapseId"),
    (b"apns-priority", lambda value: value in (b"5", b"10", b"1"), "BadPriority"),
    (b"apns-push-type", lambda value: value in PUSH_TYPES, "InvalidPushType"),
    (b"apns-expiration", lambda value: bool(_INTEGER.fullmatch(value)), "BadExpirationDate"),
    (b"apns-id", lambda value: bool(_UUID.fullmatch(value)), "BadMessageId"),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ApnsRequest:
    method: bytes
    path: bytes
    headers: dict[bytes, bytes]
    body: bytes  # at most MAX_PAYLOAD + 1 bytes are kept: enough to know it is too large
    cert_topic: str | None  # the client certificate's topic (UID), if one was presented


@dataclass(frozen=True, slots=True, kw_only=True)
class Verdict:
    status: int
    reason: str = ""
    token: str = ""
    payload: dict[str, Any] | None = None  # set when accepted


def error_body(status: int, reason: str, *, clock: float | None = None) -> bytes:
    """Apple's error body; an Unregistered (410) answer also says since when (epoch ms)."""
    body: dict[str, Any] = {"reason": reason}
    if status == 410:
        body["timestamp"] = int((time.time() if clock is None else clock) * 1000)
    return json.dumps(body, separators=(",", ":")).encode()


class ApnsRules:
    def __init__(self, *, topic: str, provider_tokens: ProviderTokens) -> None:
        self._topics = frozenset({topic.encode(), f"{topic}.voip".encode()})
        self._provider_tokens = provider_tokens

    def judge(self, request: ApnsRequest) -> Verdict:
        if request.method != b"POST":
            return Verdict(status=405, reason="MethodNotAllowed")
        path = _PATH.fullmatch(request.path)
        if path is None:
            return Verdict(status=404, reason="BadPath")
        token = path.group(1)
        refused = self._authenticate(request) or _check_headers(token, request.headers)
        if refused:
            return refused
        payload = _read_payload(request.body)
        if isinstance(payload, Verdict):
            return payload
        return Verdict(status=200, token=token.decode(), payload=payload)

    def _authenticate(self, request: ApnsRequest) -> Verdict | None:
        if request.cert_topic is None:
            refused = self._provider_tokens.check(request.headers.get(b"authorization"))
            if refused:
                status = 429 if refused == "TooManyProviderTokenUpdates" else 403
                return Verdict(status=status, reason=refused)
            allowed, mismatch = self._topics, "TopicDisallowed"
        else:
            topic = request.cert_topic
            allowed = frozenset({topic.encode(), f"{topic}.voip".encode()})
            mismatch = "DeviceTokenNotForTopic"
        topic_header = request.headers.get(b"apns-topic")
        if not topic_header:
            return Verdict(status=400, reason="MissingTopic")
        if topic_header not in allowed:
            return Verdict(status=400, reason=mismatch)
        return None


def _check_headers(token: bytes, headers: dict[bytes, bytes]) -> Verdict | None:
    if not _TOKEN.fullmatch(token):
        return Verdict(status=400, reason="BadDeviceToken")
    for name, valid, reason in _HEADER_RULES:
        value = headers.get(name)
        if value is not None and not valid(value):
            return Verdict(status=400, reason=reason)
    return None


def _read_payload(body: bytes) -> dict[str, Any] | Verdict:
    if not body:
        return Verdict(status=400, reason="PayloadEmpty")
    if len(body) > MAX_PAYLOAD:
        return Verdict(status=413, reason="PayloadTooLarge")
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    return payload if isinstance(payload, dict) else Verdict(status=400, reason="BadPayload")
