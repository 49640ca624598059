"""FCM HTTP v1 through firebase-admin, with the library's known traps handled here.

- The OAuth token refresh runs synchronously (``requests``) inside the async send,
  before it is due and again on any 401: measured, one 401 blocked the event loop for
  the library's 120 s read timeout. pushd refreshes the credential on a thread ahead
  of expiry (and after a 401), and its HTTP client only applies the cached token.
- ``delete_app()`` closes services with ``asyncio.run`` and fails inside a running
  loop: pushd builds its own messaging service (not registered on the app) and closes
  its HTTP client itself.
- The sync and async paths retry differently (the async one 4 times on 500/503):
  library retries are switched off; the dispatcher owns retries and their bounds.
- ``send_each`` starts a thread per message: only the async path is used, with
  ``dry_run=False`` spelled out (the service's async method defaults to a dry run).
- firebase-admin has no setting for the FCM URL or the CA to trust: both are set on
  the service it builds (its ``_fcm_url`` and ``_async_client``), so tests and the
  gateway exercise the library's own request, encoding and error mapping.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import ssl
import uuid
import warnings
from collections.abc import Generator

import firebase_admin
import google.auth.transport.requests
import httpx
import requests
from firebase_admin import credentials, exceptions, messaging
from firebase_admin._http_client import METRICS_HEADERS, HttpxAsyncClient
from firebase_admin._retry import HttpxRetry, HttpxRetryTransport

from pushd.delivery.base import MAX_PAYLOAD_BYTES, PushMessage, SendOutcome, SendResult
from pushd.settings import Settings

DEFAULT_ENDPOINT = "https://fcm.googleapis.com"
REFRESH_MARGIN = dt.timedelta(minutes=5)
_NO_RETRIES = HttpxRetry(max_retries=0)
_ERROR_CODES: tuple[tuple[type[Exception], str, SendOutcome], ...] = (
    (messaging.UnregisteredError, "UNREGISTERED", SendOutcome.UNREGISTERED),
    (messaging.SenderIdMismatchError, "SENDER_ID_MISMATCH", SendOutcome.BAD_TOKEN),
    (messaging.QuotaExceededError, "QUOTA_EXCEEDED", SendOutcome.RETRY),
    (messaging.ThirdPartyAuthError, "THIRD_PARTY_AUTH_ERROR", SendOutcome.REJECTED),
    (exceptions.UnavailableError, "UNAVAILABLE", SendOutcome.RETRY),
    (exceptions.InternalError, "INTERNAL", SendOutcome.RETRY),
    (exceptions.DeadlineExceededError, "DEADLINE_EXCEEDED", SendOutcome.RETRY),
    (exceptions.UnauthenticatedError, "UNAUTHENTICATED", SendOutcome.RETRY),
    (exceptions.UnknownError, "UNKNOWN", SendOutcome.RETRY),
)


class _MessagingService(messaging._MessagingService):  # type: ignore[misc]
    def __init__(self, app: firebase_admin.App, *, fcm_url: str, http: HttpxAsyncClient) -> None:
        super().__init__(app)
        self._fcm_url = fcm_url
        self._async_client = http


class FcmTransport:
    name = "fcm"

    def __init__(self, settings: Settings) -> None:
        certificate = credentials.Certificate(settings.fcm_credentials)
        project = settings.fcm_project or certificate.project_id
        self._app = firebase_admin.initialize_app(
            certificate, {"projectId": project}, name=f"pushd-{uuid.uuid4()}"
        )
        self._credential = certificate.get_credential()
        session = requests.Session()
        if settings.fcm_ca_file:
            session.verify = settings.fcm_ca_file
            session.trust_env = False  # else REQUESTS_CA_BUNDLE overrides verify
        self._session = session
        self._auth_request = google.auth.transport.requests.Request(session=session)
        self._http = _http_client(self._credential, settings)
        base = (settings.fcm_endpoint or DEFAULT_ENDPOINT).rstrip("/")
        self._service = _MessagingService(
            self._app, fcm_url=f"{base}/v1/projects/{project}/messages:send", http=self._http
        )
        self._refreshing = asyncio.Lock()
        self._refresh_now = False

    async def send(self, message: PushMessage) -> SendResult:
        data = {"messageId": message.message_id, "message": message.jwt}
        if len(json.dumps(data).encode("utf-8")) > MAX_PAYLOAD_BYTES:
            return SendResult(outcome=SendOutcome.REJECTED, reason="MESSAGE_TOO_BIG")
        ttl = max(0.0, message.expires_at - dt.datetime.now(dt.UTC).timestamp())
        with warnings.catch_warnings():
            # 7.x deprecates ``token`` for installation ids; the app gives a registration token.
            warnings.simplefilter("ignore", DeprecationWarning)
            fcm_message = messaging.Message(
                token=message.push_token,
                data=data,
                android=messaging.AndroidConfig(priority="high", ttl=dt.timedelta(seconds=ttl)),
            )
        try:
            await self._fresh_credential()
        except google.auth.exceptions.GoogleAuthError:
            return SendResult(outcome=SendOutcome.RETRY, reason="OAUTH_REFRESH_FAILED")
        batch = await self._service.send_each_async([fcm_message], dry_run=False)
        response = batch.responses[0]
        if response.success:
            return SendResult(outcome=SendOutcome.DELIVERED, status=200)
        if isinstance(response.exception, exceptions.UnauthenticatedError):
            self._refresh_now = True  # the token was refused: get a new one before the next send
        return _result(response.exception)

    async def _fresh_credential(self) -> None:
        """Refresh on a thread (google-auth's refresh blocks) before it is due."""
        if not (self._refresh_now or _due(self._credential)):
            return
        async with self._refreshing:
            if self._refresh_now or _due(self._credential):
                await asyncio.to_thread(self._credential.refresh, self._auth_request)
                self._refresh_now = False

    async def close(self) -> None:
        await self._http.aclose()
        self._session.close()
        firebase_admin.delete_app(self._app)


def _due(credential: google.auth.credentials.Credentials) -> bool:
    expiry = credential.expiry
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)  # google-auth keeps naive UTC
    return not credential.token or expiry is None or expiry - now < REFRESH_MARGIN


class _CachedTokenAuth(httpx.Auth):
    """Applies the credential's current token; never refreshes inside the event loop."""

    def __init__(self, credential: google.auth.credentials.Credentials) -> None:
        self._credential = credential

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        self._credential.apply(request.headers)  # type: ignore[no-untyped-call]
        yield request


def _http_client(
    credential: google.auth.credentials.Credentials, settings: Settings
) -> HttpxAsyncClient:
    client = HttpxAsyncClient(
        credential=None, timeout=int(settings.push_send_timeout), retry_config=_NO_RETRIES
    )
    verify: ssl.SSLContext | bool = (
        ssl.create_default_context(cafile=settings.fcm_ca_file) if settings.fcm_ca_file else True
    )
    transport = HttpxRetryTransport(retry=_NO_RETRIES, verify=verify)
    client._async_client = httpx.AsyncClient(  # see the module note
        http2=True,
        timeout=settings.push_send_timeout,
        headers=METRICS_HEADERS,
        auth=_CachedTokenAuth(credential),
        mounts={"https://": transport, "http://": transport},
        verify=verify,
    )
    return client


def _result(error: Exception | None) -> SendResult:
    status = getattr(getattr(error, "http_response", None), "status_code", None)
    for cls, reason, outcome in _ERROR_CODES:
        if isinstance(error, cls):
            return SendResult(
                outcome=outcome, reason=reason, status=status, retry_after=_retry_after(error)
            )
    code = str(getattr(error, "code", "")) or "UNKNOWN"
    text = str(error).lower()
    if code == exceptions.INVALID_ARGUMENT and "token" in text:
        return SendResult(outcome=SendOutcome.BAD_TOKEN, reason="INVALID_ARGUMENT", status=status)
    return SendResult(outcome=SendOutcome.REJECTED, reason=code, status=status)


def _retry_after(error: Exception) -> float | None:
    response = getattr(error, "http_response", None)
    value = response.headers.get("Retry-After") if response is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
