"""The FCM stand-in: the HTTP v1 send endpoint and Google's token endpoint (HTTPS, aiohttp).

Errors use FCM v1's body, ``{"error": {"code", "message", "status", "details":
[{"@type": ...FcmError, "errorCode"}]}}``, which firebase-admin maps to its exception
classes (UnregisteredError, SenderIdMismatchError, QuotaExceededError, ...).
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from typing import Any

from aiohttp import web

from authenticator_sim.gateway.faults import Faults
from authenticator_sim.gateway.fcm_auth import AccessTokens, OAuthError
from authenticator_sim.gateway.inbox import Delivered, Inbox
from authenticator_sim.gateway.stats import Stats

FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
MAX_DATA = 4096
# A message's one recipient: a registration token or (firebase-admin 7.7+ encodes
# ``Message(fid=...)`` so) an installation id. Topics and conditions are refused.
TARGETS = ("token", "fid", "topic", "condition")
# errorCode -> (HTTP status, canonical status, message), as FCM answers them
ERROR_CODES: dict[str, tuple[int, str, str]] = {
    "UNREGISTERED": (404, "NOT_FOUND", "Requested entity was not found."),
    "SENDER_ID_MISMATCH": (403, "PERMISSION_DENIED", "SenderId mismatch"),
    "INVALID_ARGUMENT": (400, "INVALID_ARGUMENT", "Request contains an invalid argument."),
    "QUOTA_EXCEEDED": (429, "RESOURCE_EXHAUSTED", "Quota exceeded for sending messages."),
    "UNAVAILABLE": (503, "UNAVAILABLE", "The service is currently unavailable."),
    "INTERNAL": (500, "INTERNAL", "Internal error encountered."),
    "THIRD_PARTY_AUTH_ERROR": (401, "UNAUTHENTICATED", "Auth error from APNS or Web Push Service"),
}
_BY_STATUS = {status: code for code, (status, _, _) in ERROR_CODES.items()}  # for bare faults
_CANONICAL = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
_UNAUTHENTICATED = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
    "cookie or other valid authentication credential."
)


class FcmRefusal(Exception):
    """An FCM error answer: ``errorCode`` (or none) with its HTTP and canonical status."""

    def __init__(self, error_code: str, message: str | None = None, *, status: int = 0) -> None:
        known = ERROR_CODES.get(error_code)
        self.status = known[0] if known else status or 500
        self.canonical = known[1] if known else _CANONICAL.get(self.status, "UNKNOWN")
        self.message = message or (known[2] if known else f"{error_code or 'Error'}")
        self.error_code = error_code
        super().__init__(self.message)

    def response(self) -> web.Response:
        error: dict[str, Any] = {
            "code": self.status,
            "message": self.message,
            "status": self.canonical,
        }
        if self.error_code:
            error["details"] = [{"@type": FCM_ERROR_TYPE, "errorCode": self.error_code}]
        return web.json_response({"error": error}, status=self.status)


class FcmService:
    def __init__(
        self, *, project: str, tokens: AccessTokens, faults: Faults, inbox: Inbox, stats: Stats
    ) -> None:
        self._project = project
        self._tokens = tokens
        self._faults = faults
        self._inbox = inbox
        self._stats = stats

    def app(self) -> web.Application:
        app = web.Application(client_max_size=1024 * 1024)
        app.router.add_post("/token", self.token)
        app.router.add_post("/v1/projects/{project}/messages:send", self.send)
        return app

    async def token(self, request: web.Request) -> web.Response:
        form = await request.post()
        try:
            answer = self._tokens.grant({k: v for k, v in form.items() if isinstance(v, str)})
        except OAuthError as error:
            return web.json_response(error.to_json(), status=400)
        return web.json_response(answer)

    async def send(self, request: web.Request) -> web.Response:
        self._stats.received["fcm"] += 1
        try:
            answer = await self._send(request)
        except FcmRefusal as refusal:
            self._stats.answer("fcm", refusal.status)
            response = refusal.response()
            if refusal.status == 401 and not refusal.error_code:
                response.headers["WWW-Authenticate"] = 'Bearer realm="https://accounts.google.com/"'
            return response
        self._stats.answer("fcm", 200)
        return web.json_response(answer)

    async def _send(self, request: web.Request) -> dict[str, str]:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not self._tokens.valid(token):
            raise FcmRefusal("", _UNAUTHENTICATED, status=401)
        if request.match_info["project"] != self._project:
            raise FcmRefusal("SENDER_ID_MISMATCH")
        message, target, validate_only = _parse(await request.read())
        fault = self._faults.take("fcm", target)
        if fault is not None:
            if fault.stall > 0:
                await asyncio.sleep(fault.stall)
            if fault.status != 200:
                reason = fault.reason or _BY_STATUS.get(fault.status, "")
                raise FcmRefusal(reason, status=fault.status)
        name = (
            f"projects/{self._project}/messages/0:{time.time_ns() // 1000}%{secrets.token_hex(8)}"
        )
        if not validate_only:
            self._deliver(message, target)
        return {"name": name}

    def _deliver(self, message: dict[str, Any], target: str) -> None:
        data = message.get("data") or {}
        self._stats.delivered["fcm"] += 1
        self._inbox.deliver(
            Delivered(
                platform="fcm",
                token=target,
                message_id=data.get("messageId", ""),
                jwt=data.get("message", ""),
                payload=message,
                received_at=time.time(),
            )
        )


def _parse(body: bytes) -> tuple[dict[str, Any], str, bool]:
    """The message, its target and ``validate_only`` from a send body, checked as FCM does."""
    try:
        document = json.loads(body)
    except ValueError:
        raise FcmRefusal("INVALID_ARGUMENT", "Invalid JSON payload received.") from None
    message = document.get("message") if isinstance(document, dict) else None
    if not isinstance(message, dict):
        raise FcmRefusal("INVALID_ARGUMENT", "Request contains an invalid argument.")
    targets = [(name, message[name]) for name in TARGETS if name in message]
    if len(targets) != 1:
        raise FcmRefusal("INVALID_ARGUMENT", "Exactly one of token, fid, topic or condition.")
    ((kind, target),) = targets
    if kind not in ("token", "fid") or not isinstance(target, str) or not target:
        raise FcmRefusal("INVALID_ARGUMENT", f"Invalid value at 'message.{kind}'.")
    data = message.get("data", {})
    if not isinstance(data, dict) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in data.items()
    ):
        raise FcmRefusal("INVALID_ARGUMENT", "Invalid value at 'message.data': not a string map.")
    size = sum(len(key.encode()) + len(value.encode()) for key, value in data.items())
    if size > MAX_DATA:
        raise FcmRefusal("INVALID_ARGUMENT", "Message is too big")
    for part in ("android", "apns", "notification", "webpush"):
        if part in message and not isinstance(message[part], dict):
            raise FcmRefusal("INVALID_ARGUMENT", f"Invalid value at 'message.{part}'.")
    return message, target, document.get("validate_only") is True
