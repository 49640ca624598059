"""Push message ids: ``REGISTER:<uuid><epoch-millis>`` and ``AUTHENTICATE:<uuid><epoch-millis>``."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from mfa_core.entropy import RandomBytes, random_uuid4
from mfa_core.errors import InvalidMessageId

_MESSAGE_ID = re.compile(
    r"(REGISTER|AUTHENTICATE):([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
    r"[0-9a-fA-F]{4}-[0-9a-fA-F]{12})([0-9]{1,15})"
)


class MessageKind(enum.StrEnum):
    REGISTER = "REGISTER"
    AUTHENTICATE = "AUTHENTICATE"


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageId:
    kind: MessageKind
    uuid: str
    issued_at_ms: int

    def __str__(self) -> str:
        return f"{self.kind}:{self.uuid}{self.issued_at_ms}"


def new_message_id(kind: MessageKind, rng: RandomBytes, now: float) -> str:
    """A fresh id as the ForgeRock servers write it."""
    return str(MessageId(kind=kind, uuid=str(random_uuid4(rng)), issued_at_ms=int(now * 1000)))


def parse_message_id(text: object, expected: MessageKind | None = None) -> MessageId:
    if not isinstance(text, str) or (match := _MESSAGE_ID.fullmatch(text)) is None:
        raise InvalidMessageId("not a push message id")
    kind = MessageKind(match.group(1))
    if expected is not None and kind is not expected:
        raise InvalidMessageId(f"expected a {expected} message id")
    return MessageId(kind=kind, uuid=match.group(2), issued_at_ms=int(match.group(3)))
