"""Console mode: one log line per message, recipient and secrets masked."""

from __future__ import annotations

import logging

import pytest

from pushd.messaging import Outgoing, build_mailer, build_sms
from pushd.messaging.base import MASK, mask_email, mask_phone
from pushd.messaging.console import ConsoleSender
from pushd.settings import Settings
from tests.pushd.messaging.conftest import CODE, LINK
from tests.pushd.messaging.support import formatted

TOKEN = LINK.split("token=")[1].split("&")[0]


def test_console_is_the_default() -> None:
    assert isinstance(build_mailer(Settings()), ConsoleSender)
    assert isinstance(build_sms(Settings()), ConsoleSender)


async def test_email_is_logged_masked(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="pushd.messages")
    message = Outgoing(
        subject=f"Code {CODE}", body=f"Code {CODE}, link {LINK}", secrets=(CODE, TOKEN)
    )
    mailer = build_mailer(Settings())

    await mailer.send("alice@example.com", message)
    await mailer.close()

    [record] = caplog.records
    assert record.name == "pushd.messages"
    assert record.__dict__["channel"] == "email"
    assert record.__dict__["recipient"] == "a•••@example.com"
    assert record.__dict__["subject"] == f"Code {MASK}"
    assert record.__dict__["body"] == f"Code {MASK}, link {LINK.replace(TOKEN, MASK)}"
    line = formatted(caplog.records)
    assert CODE not in line
    assert TOKEN not in line
    assert "alice@" not in line


async def test_sms_is_logged_masked(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="pushd.messages")
    sms = build_sms(Settings())

    await sms.send("+442079460958", Outgoing(subject="", body=f"Code {CODE}", secrets=(CODE,)))
    await sms.close()

    [record] = caplog.records
    assert record.__dict__["channel"] == "sms"
    assert record.__dict__["recipient"] == "+44•••••••58"
    assert record.__dict__["body"] == f"Code {MASK}"
    line = formatted(caplog.records)
    assert CODE not in line
    assert "2079460958" not in line


def test_masks() -> None:
    assert mask_email("alice@example.com") == "a•••@example.com"
    assert mask_email("not an address") == "•••"
    assert mask_phone("+442079460958") == "+44•••••••58"
    assert mask_phone("+1555") == "•••"


def test_longer_secrets_are_masked_first() -> None:
    message = Outgoing(subject="", body="abc-abcdef", secrets=("abc", "abcdef", ""))
    assert message.masked(message.body) == f"{MASK}-{MASK}"
