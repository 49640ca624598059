"""The transports the settings ask for: APNs, FCM, both or neither."""

from __future__ import annotations

from mfa_core.push_replies import Transport
from pushd.delivery.base import PushTransport
from pushd.settings import Settings


def build_transports(settings: Settings) -> dict[Transport, PushTransport]:
    """Built inside the running loop (aioapns binds to it)."""
    transports: dict[Transport, PushTransport] = {}
    if settings.apns_configured:
        from pushd.delivery.apns import ApnsTransport  # noqa: PLC0415 - only when configured

        transports[Transport.APNS] = ApnsTransport(settings)
    if settings.fcm_configured:
        from pushd.delivery.fcm import FcmTransport  # noqa: PLC0415 - only when configured

        transports[Transport.FCM] = FcmTransport(settings)
    return transports
