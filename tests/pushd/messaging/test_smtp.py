"""The SMTP mailer against a real aiosmtpd server on 127.0.0.1."""

from __future__ import annotations

import dataclasses
import email
import email.policy
import email.utils
import logging
from email.message import EmailMessage

import pytest

from pushd.messaging import DeliveryError, Outgoing, Templates, build_mailer
from pushd.messaging.smtp import SmtpMailer
from pushd.settings import Settings, SettingsError
from tests.pushd.messaging.conftest import CODE, FAST_RETRY, LINK
from tests.pushd.messaging.support import (
    Certificate,
    SmtpCapture,
    formatted,
    refusing_port,
    silent_server,
    smtp_server,
)

TO = "alice@example.com"


def smtp_settings(port: int, **overrides: object) -> Settings:
    base = Settings(
        email_mode="smtp",
        smtp_host="127.0.0.1",
        smtp_port=port,
        issuer="Bühne",
        email_from="Bühne <no-reply@buehne.example>",
    )
    return dataclasses.replace(base, **overrides)  # type: ignore[arg-type]


def reset_message(settings: Settings) -> Outgoing:
    return Templates(settings).render(
        "password_reset", username="alice", link=LINK, minutes="15", secrets=[LINK]
    )


def parsed(capture: SmtpCapture) -> EmailMessage:
    [envelope] = capture.received
    assert envelope.original_content is not None
    message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


async def test_delivers_a_proper_utf8_email() -> None:
    capture = SmtpCapture()
    async with smtp_server(capture) as port:
        settings = smtp_settings(port)
        mailer = build_mailer(settings, retry=FAST_RETRY)
        assert isinstance(mailer, SmtpMailer)
        await mailer.send(TO, reset_message(settings))
        await mailer.close()

    [envelope] = capture.received
    assert envelope.mail_from == "no-reply@buehne.example"
    assert envelope.rcpt_tos == [TO]
    message = parsed(capture)
    assert message["From"] == "Bühne <no-reply@buehne.example>"
    assert message["To"] == TO
    assert message["Subject"] == "Reset your Bühne password"
    assert email.utils.parsedate_to_datetime(message["Date"]).tzinfo is not None
    assert message["Message-ID"].endswith("@buehne.example>")
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "text/plain"
    assert message.get_content_charset() == "utf-8"
    body = message.get_content()
    assert LINK in body.splitlines()  # the link arrives whole, on its own line
    assert body.startswith("Hello alice,")
    assert "Bühne" in body


@pytest.mark.parametrize(("mechanism", "excluded"), [("LOGIN", "PLAIN"), ("PLAIN", "LOGIN")])
async def test_starttls_then_auth(certificate: Certificate, mechanism: str, excluded: str) -> None:
    capture = SmtpCapture()
    async with smtp_server(
        capture,
        tls_context=certificate.server_context(),
        require_starttls=True,
        authenticator=capture.authenticator,
        auth_required=True,
        auth_exclude_mechanism=[excluded],
    ) as port:
        settings = smtp_settings(
            port,
            smtp_starttls=True,
            smtp_ca_file=str(certificate.cert_file),
            smtp_username="mailer",
            smtp_password="s3cret pass",
        )
        mailer = build_mailer(settings, retry=FAST_RETRY)
        await mailer.send(TO, Outgoing(subject="Code", body=f"Your code: {CODE}", secrets=(CODE,)))

    assert capture.logins == [(mechanism, b"mailer", b"s3cret pass")]
    assert CODE in parsed(capture).get_content()


async def test_implicit_tls(certificate: Certificate) -> None:
    capture = SmtpCapture()
    async with smtp_server(
        capture,
        implicit_tls=certificate.server_context(),
        authenticator=capture.authenticator,
        auth_require_tls=False,  # aiosmtpd only counts STARTTLS as TLS
    ) as port:
        settings = smtp_settings(
            port,
            smtp_tls=True,
            smtp_ca_file=str(certificate.cert_file),
            smtp_username="mailer",
            smtp_password="s3cret pass",
        )
        await build_mailer(settings, retry=FAST_RETRY).send(TO, reset_message(settings))

    assert capture.logins == [("PLAIN", b"mailer", b"s3cret pass")]
    assert LINK in parsed(capture).get_content()


async def test_untrusted_certificate_fails_at_once(certificate: Certificate) -> None:
    capture = SmtpCapture()
    async with smtp_server(capture, tls_context=certificate.server_context()) as port:
        mailer = build_mailer(smtp_settings(port, smtp_starttls=True), retry=FAST_RETRY)
        with pytest.raises(DeliveryError) as raised:
            await mailer.send(TO, Outgoing(subject="s", body="b"))

    assert raised.value.attempts == 1
    assert raised.value.reason == "tls certificate not trusted"
    assert not capture.received


async def test_wrong_password_fails_at_once(certificate: Certificate) -> None:
    capture = SmtpCapture()
    async with smtp_server(
        capture, tls_context=certificate.server_context(), authenticator=capture.authenticator
    ) as port:
        settings = smtp_settings(
            port,
            smtp_starttls=True,
            smtp_ca_file=str(certificate.cert_file),
            smtp_username="mailer",
            smtp_password="wrong",
        )
        with pytest.raises(DeliveryError) as raised:
            await build_mailer(settings, retry=FAST_RETRY).send(TO, Outgoing(subject="s", body="b"))

    assert (raised.value.reason, raised.value.attempts) == ("smtp 535", 1)
    assert {password for _, _, password in capture.logins} == {b"wrong"}  # PLAIN, then LOGIN


async def test_transient_replies_are_retried(caplog: pytest.LogCaptureFixture) -> None:
    capture = SmtpCapture(data_replies=["451 4.3.0 Try again later"] * 2)
    async with smtp_server(capture) as port:
        settings = smtp_settings(port)
        await build_mailer(settings, retry=FAST_RETRY).send(TO, reset_message(settings))

    assert capture.data_commands == 3
    assert LINK in parsed(capture).get_content()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [(r.__dict__["attempt"], r.__dict__["reason"]) for r in warnings] == [
        (1, "smtp 451"),
        (2, "smtp 451"),
    ]
    assert warnings[0].__dict__["recipient"] == "a•••@example.com"
    assert LINK not in formatted(caplog.records)


@pytest.mark.parametrize("refusal", ["data", "rcpt"])
async def test_permanent_reply_fails_at_once(
    caplog: pytest.LogCaptureFixture, refusal: str
) -> None:
    reply = "550 5.1.1 Mailbox unavailable"
    capture = SmtpCapture(
        data_replies=[reply] if refusal == "data" else [],
        rcpt_reply=reply if refusal == "rcpt" else None,
    )
    async with smtp_server(capture) as port:
        settings = smtp_settings(port)
        with pytest.raises(DeliveryError) as raised:
            await build_mailer(settings, retry=FAST_RETRY).send(TO, reset_message(settings))

    assert (raised.value.channel, raised.value.reason) == ("email", "smtp 550")
    assert raised.value.attempts == 1
    assert capture.data_commands == (1 if refusal == "data" else 0)
    [error] = caplog.records
    assert error.levelno == logging.ERROR
    assert LINK not in formatted(caplog.records) + str(raised.value)
    assert TO not in formatted(caplog.records) + str(raised.value)


async def test_nothing_listening_fails_after_the_retries(caplog: pytest.LogCaptureFixture) -> None:
    with refusing_port() as port:
        mailer = build_mailer(smtp_settings(port), retry=FAST_RETRY)
        with pytest.raises(DeliveryError) as raised:
            await mailer.send(TO, Outgoing(subject="s", body=f"code {CODE}", secrets=(CODE,)))

    assert raised.value.attempts == 3
    assert raised.value.reason == "SMTPConnectError"
    levels = [r.levelno for r in caplog.records]
    assert levels == [logging.WARNING, logging.WARNING, logging.ERROR]
    assert CODE not in formatted(caplog.records)


async def test_a_hung_server_times_out() -> None:
    retry = dataclasses.replace(FAST_RETRY, attempts=2, timeout=0.2)
    async with silent_server() as port:
        with pytest.raises(DeliveryError) as raised:
            await build_mailer(smtp_settings(port), retry=retry).send(
                TO, Outgoing(subject="s", body="b")
            )
    assert raised.value.attempts == 2


@pytest.mark.parametrize("to", ["", "alice", "alice@example.com\r\nBcc: x@y.z", "a b@c.d"])
async def test_invalid_recipient_is_refused_without_connecting(to: str) -> None:
    with refusing_port() as port:
        mailer = build_mailer(smtp_settings(port), retry=FAST_RETRY)
        with pytest.raises(DeliveryError, match="invalid recipient"):
            await mailer.send(to, Outgoing(subject="s", body="b"))


@pytest.mark.parametrize(
    ("overrides", "complaint"),
    [
        ({"smtp_tls": True, "smtp_starttls": True}, "exclude each other"),
        ({"email_from": "Backstage"}, "PUSHD_EMAIL_FROM"),
        ({"smtp_starttls": True, "smtp_ca_file": "/nonexistent/ca.pem"}, "PUSHD_SMTP_CA_FILE"),
    ],
)
def test_settings_are_checked_when_built(overrides: dict[str, object], complaint: str) -> None:
    with pytest.raises(SettingsError, match=complaint):
        build_mailer(smtp_settings(25, **overrides))
