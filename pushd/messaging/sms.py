"""SMS over HTTP: a generic JSON webhook, or Twilio's Messages API.

Each sender keeps one aiohttp session for its lifetime (opened on first use, closed by
``close()``). HTTP 429 and 5xx, timeouts and connection trouble are retried; any other
answer outside success fails at once. Redirects are not followed: an SMS API that
redirects is misconfigured.
"""

from __future__ import annotations

import base64
import urllib.parse
from abc import ABC, abstractmethod

import aiohttp

from pushd.messaging.base import Outgoing, is_e164
from pushd.messaging.retry import Permanent, RetryPolicy, Transient, deliver, refuse
from pushd.settings import Settings, SettingsError

CHANNEL = "sms"
TWILIO_API = "https://api.twilio.com"


class HttpSms(ABC):
    def __init__(self, *, retry: RetryPolicy) -> None:
        self._retry = retry
        self._session: aiohttp.ClientSession | None = None

    async def send(self, to: str, message: Outgoing) -> None:
        if not is_e164(to):
            raise refuse(CHANNEL, to, "invalid recipient")
        await deliver(
            lambda: self._attempt(to, message.body), channel=CHANNEL, to=to, policy=self._retry
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @abstractmethod
    async def _post(self, session: aiohttp.ClientSession, to: str, body: str) -> int:
        """Send one request; answer the HTTP status."""

    def _accepts(self, status: int) -> bool:
        return 200 <= status < 300

    async def _attempt(self, to: str, body: str) -> None:
        if self._session is None or self._session.closed:
            timeout = aiohttp.ClientTimeout(total=self._retry.timeout)
            self._session = aiohttp.ClientSession(timeout=timeout)
        try:
            status = await self._post(self._session, to, body)
        except aiohttp.ClientError as e:
            raise Transient(type(e).__name__) from e
        if self._accepts(status):
            return
        if status == 429 or status >= 500:
            raise Transient(f"http {status}")
        raise Permanent(f"http {status}")


class WebhookSms(HttpSms):
    """``POST sms_url`` with ``{"to", "body"}`` JSON and an optional bearer token."""

    def __init__(self, settings: Settings, *, retry: RetryPolicy) -> None:
        super().__init__(retry=retry)
        if urllib.parse.urlsplit(settings.sms_url).scheme not in ("http", "https"):
            raise SettingsError("PUSHD_SMS_MODE=webhook needs PUSHD_SMS_URL (http or https)")
        self._url = settings.sms_url
        self._headers = (
            {"Authorization": f"Bearer {settings.sms_token}"} if settings.sms_token else {}
        )

    async def _post(self, session: aiohttp.ClientSession, to: str, body: str) -> int:
        async with session.post(
            self._url,
            json={"to": to, "body": body},
            headers=self._headers,
            allow_redirects=False,
        ) as response:
            await response.read()
            return response.status


class TwilioSms(HttpSms):
    """Twilio's form API: ``POST .../Accounts/{sid}/Messages.json``, basic auth (sid, token)."""

    def __init__(self, settings: Settings, *, retry: RetryPolicy) -> None:
        super().__init__(retry=retry)
        if not (settings.sms_account_sid and settings.sms_token and settings.sms_from):
            raise SettingsError(
                "PUSHD_SMS_MODE=twilio needs PUSHD_SMS_ACCOUNT_SID, PUSHD_SMS_TOKEN, PUSHD_SMS_FROM"
            )
        base = (settings.sms_url or TWILIO_API).rstrip("/")
        sid = urllib.parse.quote(settings.sms_account_sid, safe="")
        self._url = f"{base}/2010-04-01/Accounts/{sid}/Messages.json"
        basic = base64.b64encode(f"{settings.sms_account_sid}:{settings.sms_token}".encode())
        self._headers = {"Authorization": f"Basic {basic.decode('ascii')}"}
        self._from = settings.sms_from

    def _accepts(self, status: int) -> bool:
        return status in (200, 201)

    async def _post(self, session: aiohttp.ClientSession, to: str, body: str) -> int:
        async with session.post(
            self._url,
            data={"To": to, "From": self._from, "Body": body},
            headers=self._headers,
            allow_redirects=False,
        ) as response:
            await response.read()
            return response.status
