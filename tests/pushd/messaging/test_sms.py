"""Webhook and Twilio SMS senders against a local aiohttp gateway on 127.0.0.1."""

from __future__ import annotations

import base64
import logging
import urllib.parse

import pytest

from pushd.messaging import DeliveryError, Outgoing, Templates, build_sms
from pushd.messaging.sms import TwilioSms, WebhookSms
from pushd.settings import Settings, SettingsError
from tests.pushd.messaging.conftest import CODE, FAST_RETRY
from tests.pushd.messaging.support import Gateway, formatted, gateway_server, refusing_port

TO = "+442079460958"


def code_message() -> Outgoing:
    return Templates(Settings()).render(
        "alternative_sms", username="alice", code=CODE, minutes="10", secrets=[CODE]
    )


def webhook(url: str, bearer: str = "hook-token") -> Settings:
    return Settings(sms_mode="webhook", sms_url=url, sms_token=bearer)


def twilio(base_url: str) -> Settings:
    return Settings(
        sms_mode="twilio",
        sms_url=base_url,
        sms_account_sid="AC0123456789abcdef",
        sms_token="twilio-auth-token",
        sms_from="+15005550006",
    )


async def test_webhook_posts_json_with_the_bearer_token() -> None:
    gateway = Gateway()
    async with gateway_server(gateway) as base:
        sms = build_sms(webhook(f"{base}/hooks/sms"), retry=FAST_RETRY)
        assert isinstance(sms, WebhookSms)
        await sms.send(TO, code_message())
        await sms.close()

    [request] = gateway.requests
    assert request.path == "/hooks/sms"
    assert request.headers["Authorization"] == "Bearer hook-token"
    assert request.headers["Content-Type"].startswith("application/json")
    assert request.json() == {"to": TO, "body": code_message().body}
    assert CODE in request.json()["body"]


async def test_webhook_without_a_token_sends_no_authorization() -> None:
    gateway = Gateway(default_status=204)
    async with gateway_server(gateway) as base:
        sms = build_sms(webhook(f"{base}/sms", bearer=""), retry=FAST_RETRY)
        await sms.send(TO, code_message())
        await sms.close()

    assert "Authorization" not in gateway.requests[0].headers


async def test_twilio_posts_the_form_with_basic_auth() -> None:
    gateway = Gateway(default_status=201)
    async with gateway_server(gateway) as base:
        sms = build_sms(twilio(base), retry=FAST_RETRY)
        assert isinstance(sms, TwilioSms)
        await sms.send(TO, code_message())
        await sms.close()

    [request] = gateway.requests
    assert request.path == "/2010-04-01/Accounts/AC0123456789abcdef/Messages.json"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    scheme, credentials = request.headers["Authorization"].split(" ")
    assert scheme == "Basic"
    assert base64.b64decode(credentials) == b"AC0123456789abcdef:twilio-auth-token"
    form = urllib.parse.parse_qs(request.body.decode(), strict_parsing=True)
    assert form == {"To": [TO], "From": ["+15005550006"], "Body": [code_message().body]}


def test_twilio_defaults_to_twilios_api() -> None:
    settings = twilio("")
    assert TwilioSms(settings, retry=FAST_RETRY)._url == (
        "https://api.twilio.com/2010-04-01/Accounts/AC0123456789abcdef/Messages.json"
    )


async def test_twilio_accepts_only_200_and_201() -> None:
    gateway = Gateway(default_status=202)
    async with gateway_server(gateway) as base:
        sms = build_sms(twilio(base), retry=FAST_RETRY)
        with pytest.raises(DeliveryError, match="http 202"):
            await sms.send(TO, code_message())
        await sms.close()


@pytest.mark.parametrize("transient", [503, 429, 500])
async def test_transient_answers_are_retried(
    caplog: pytest.LogCaptureFixture, transient: int
) -> None:
    gateway = Gateway(statuses=[transient])
    async with gateway_server(gateway) as base:
        sms = build_sms(webhook(f"{base}/sms"), retry=FAST_RETRY)
        await sms.send(TO, code_message())
        await sms.close()

    assert len(gateway.requests) == 2
    [warning] = caplog.records
    assert warning.levelno == logging.WARNING
    assert warning.__dict__["reason"] == f"http {transient}"
    assert warning.__dict__["recipient"] == "+44•••••••58"


async def test_one_session_serves_every_message() -> None:
    gateway = Gateway(statuses=[503])
    async with gateway_server(gateway) as base:
        sms = build_sms(webhook(f"{base}/sms"), retry=FAST_RETRY)
        await sms.send(TO, code_message())  # a retry, then a success
        await sms.send(TO, code_message())
        await sms.close()

    assert len(gateway.requests) == 3
    peer_ports = {request.peer_port for request in gateway.requests}
    assert len(peer_ports) == 1  # one session, one kept-alive connection


@pytest.mark.parametrize("permanent", [400, 401, 404])
async def test_client_errors_fail_at_once(caplog: pytest.LogCaptureFixture, permanent: int) -> None:
    gateway = Gateway(default_status=permanent)
    async with gateway_server(gateway) as base:
        sms = build_sms(twilio(base), retry=FAST_RETRY)
        with pytest.raises(DeliveryError) as raised:
            await sms.send(TO, code_message())
        await sms.close()

    assert len(gateway.requests) == 1
    error = raised.value
    assert (error.channel, error.reason, error.attempts) == ("sms", f"http {permanent}", 1)
    logged = formatted(caplog.records)
    assert CODE not in logged + str(error)
    assert "twilio-auth-token" not in logged
    assert "2079460958" not in logged + str(error)


async def test_gives_up_after_the_retries(caplog: pytest.LogCaptureFixture) -> None:
    gateway = Gateway(default_status=503)
    async with gateway_server(gateway) as base:
        sms = build_sms(webhook(f"{base}/sms"), retry=FAST_RETRY)
        with pytest.raises(DeliveryError) as raised:
            await sms.send(TO, code_message())
        await sms.close()

    assert len(gateway.requests) == 3
    assert raised.value.attempts == 3
    assert [r.levelno for r in caplog.records] == [logging.WARNING] * 2 + [logging.ERROR]
    assert CODE not in formatted(caplog.records)


async def test_unreachable_gateway_fails_after_the_retries() -> None:
    with refusing_port() as port:
        sms = build_sms(webhook(f"http://127.0.0.1:{port}/sms"), retry=FAST_RETRY)
        with pytest.raises(DeliveryError) as raised:
            await sms.send(TO, code_message())
        await sms.close()

    assert raised.value.attempts == 3
    assert raised.value.reason == "ClientConnectorError"


@pytest.mark.parametrize("to", ["", "07911123456", "+0123456789", "+44 20 7946 0958", "+4412\n"])
async def test_invalid_number_is_refused_without_a_request(to: str) -> None:
    gateway = Gateway()
    async with gateway_server(gateway) as base:
        sms = build_sms(webhook(f"{base}/sms"), retry=FAST_RETRY)
        with pytest.raises(DeliveryError, match="invalid recipient"):
            await sms.send(to, code_message())
        await sms.close()

    assert not gateway.requests


@pytest.mark.parametrize(
    "settings",
    [
        Settings(sms_mode="webhook"),
        Settings(sms_mode="webhook", sms_url="ftp://gateway.example/sms"),
        Settings(sms_mode="twilio", sms_token="t", sms_from="+15005550006"),
        Settings(sms_mode="twilio", sms_account_sid="AC1", sms_token="t"),
    ],
)
def test_incomplete_settings_fail_when_built(settings: Settings) -> None:
    with pytest.raises(SettingsError, match="PUSHD_SMS_"):
        build_sms(settings)
