"""Email and SMS delivery for account recovery.

Render with ``Templates``, then hand the ``Outgoing`` to a ``Mailer`` or ``SmsSender``
built from the settings::

    templates = Templates(settings)  # checks every template: fails at start-up
    mailer, sms = build_mailer(settings), build_sms(settings)
    message = templates.render(
        "alternative_sms", username=name, code=code, minutes="10", secrets=[code]
    )
    await sms.send("+442079460958", message)  # DeliveryError when it cannot be handed over
    ...
    await mailer.close()
    await sms.close()

Console mode (the default) only logs, with recipients and secrets masked.
"""

from __future__ import annotations

from pushd.messaging.base import DeliveryError, Mailer, Outgoing, SmsSender
from pushd.messaging.console import ConsoleSender
from pushd.messaging.retry import RetryPolicy
from pushd.messaging.sms import TwilioSms, WebhookSms
from pushd.messaging.smtp import SmtpMailer
from pushd.messaging.templates import TEMPLATE_VALUES, TemplateError, Templates
from pushd.settings import Settings

__all__ = [
    "TEMPLATE_VALUES",
    "DeliveryError",
    "Mailer",
    "Outgoing",
    "RetryPolicy",
    "SmsSender",
    "TemplateError",
    "Templates",
    "build_mailer",
    "build_sms",
    "retry_policy",
]


def retry_policy(settings: Settings) -> RetryPolicy:
    """``message_retries`` attempts (at least one) with the default back-off."""
    return RetryPolicy(attempts=max(1, settings.message_retries))


def build_mailer(settings: Settings, *, retry: RetryPolicy | None = None) -> Mailer:
    """``email_mode``: ``console`` or ``smtp``."""
    if settings.email_mode == "smtp":
        return SmtpMailer(settings, retry=retry or retry_policy(settings))
    return ConsoleSender("email")


def build_sms(settings: Settings, *, retry: RetryPolicy | None = None) -> SmsSender:
    """``sms_mode``: ``console``, ``webhook`` or ``twilio``."""
    policy = retry or retry_policy(settings)
    if settings.sms_mode == "webhook":
        return WebhookSms(settings, retry=policy)
    if settings.sms_mode == "twilio":
        return TwilioSms(settings, retry=policy)
    return ConsoleSender("sms")
