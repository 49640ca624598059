"""Console delivery for local development: one JSON log line per message, secrets masked.

Nothing leaves the process. The recipient is shown masked (``a•••@example.com``,
``+44•••••••58``) and every value in ``Outgoing.secrets`` becomes ``••••••`` in the
subject and body, so the log can be shared without handing anyone a working code.
"""

from __future__ import annotations

import logging

from pushd.messaging.base import Outgoing, mask_recipient

log = logging.getLogger("pushd.messages")


class ConsoleSender:
    """Serves as both a ``Mailer`` (channel ``email``) and an ``SmsSender`` (``sms``)."""

    def __init__(self, channel: str) -> None:
        self.channel = channel

    async def send(self, to: str, message: Outgoing) -> None:
        log.info(
            "message (console)",
            extra={
                "channel": self.channel,
                "recipient": mask_recipient(self.channel, to),
                "subject": message.masked(message.subject),
                "body": message.masked(message.body),
            },
        )

    async def close(self) -> None:
        """Nothing to release."""
