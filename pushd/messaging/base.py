"""What a message is, how delivery fails, and how recipients and secrets are masked."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

MASK = "••••••"
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Outgoing:
    """One rendered message; ``secrets`` are the codes or link tokens inside ``body``."""

    subject: str  # emails only ("" for SMS)
    body: str
    secrets: tuple[str, ...] = ()

    def masked(self, text: str) -> str:
        """``text`` with every secret of this message replaced by the mask."""
        for secret in sorted(filter(None, self.secrets), key=len, reverse=True):
            text = text.replace(secret, MASK)
        return text


class DeliveryError(Exception):
    """A message could not be handed over; says which channel and why, never to whom or what."""

    def __init__(self, channel: str, reason: str, *, attempts: int = 1) -> None:
        super().__init__(f"{channel} delivery failed after {attempts} attempt(s): {reason}")
        self.channel = channel
        self.reason = reason
        self.attempts = attempts


class Mailer(Protocol):
    async def send(self, to: str, message: Outgoing) -> None: ...

    async def close(self) -> None: ...


class SmsSender(Protocol):
    async def send(self, to: str, message: Outgoing) -> None:
        """``to`` is an E.164 number such as +442079460958."""

    async def close(self) -> None: ...


def is_e164(number: str) -> bool:
    return _E164.fullmatch(number) is not None


def mask_email(address: str) -> str:
    """``alice@example.com`` -> ``a•••@example.com``."""
    local, at, domain = address.rpartition("@")
    if not at or not local:
        return "•••"
    return f"{local[0]}•••@{domain}"


def mask_phone(number: str) -> str:
    """``+442079460958`` -> ``+44•••••••58``: country code and last two digits only."""
    if len(number) < 8:
        return "•••"
    return f"{number[:3]}•••••••{number[-2:]}"


def mask_recipient(channel: str, to: str) -> str:
    return mask_email(to) if channel == "email" else mask_phone(to)
