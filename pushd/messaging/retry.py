"""Attempts with a timeout each, short exponential back-off with jitter, one final verdict.

Senders raise ``Transient`` (worth another try: connection trouble, SMTP 4xx, HTTP 429
and 5xx) or ``Permanent`` (SMTP 5xx, other HTTP 4xx, bad configuration); a timeout or an
``OSError`` counts as transient. Reasons are short labels such as ``smtp 451`` or
``http 503``: never a message body, a code or a full recipient.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from pushd.messaging.base import DeliveryError, mask_recipient

log = logging.getLogger("pushd.messages")


class Transient(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Permanent(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    attempts: int = 3
    base_delay: float = 0.5  # before the second attempt; doubles after each one
    max_delay: float = 2.0  # no single wait is longer: the whole back-off stays a few seconds
    timeout: float = 15.0  # each attempt, connecting included

    def delay(self, failed_attempts: int) -> float:
        """Between half and all of the exponential step, so senders do not retry in lockstep."""
        step = min(self.max_delay, self.base_delay * 2 ** (failed_attempts - 1))
        return secrets.SystemRandom().uniform(step / 2, step)


async def deliver(
    attempt: Callable[[], Awaitable[None]],
    *,
    channel: str,
    to: str,
    policy: RetryPolicy,
) -> None:
    """Run ``attempt`` until it succeeds; raise ``DeliveryError`` when it never does."""
    recipient = mask_recipient(channel, to)
    attempts = max(1, policy.attempts)
    number = 0
    while True:
        number += 1
        try:
            async with asyncio.timeout(policy.timeout):
                await attempt()
        except Permanent as e:
            reason, final = e.reason, True
        except Transient as e:
            reason, final = e.reason, number == attempts
        except TimeoutError:
            reason, final = "timeout", number == attempts
        except OSError as e:
            reason, final = type(e).__name__, number == attempts
        else:
            return
        if final:
            raise refuse(channel, to, reason, attempts=number)
        log.warning(
            "message delivery attempt failed",
            extra={"channel": channel, "recipient": recipient, "attempt": number, "reason": reason},
        )
        await asyncio.sleep(policy.delay(number))


def refuse(channel: str, to: str, reason: str, *, attempts: int = 1) -> DeliveryError:
    """Log the final failure and return the error for the caller to raise."""
    log.error(
        "message delivery failed",
        extra={
            "channel": channel,
            "recipient": mask_recipient(channel, to),
            "attempts": attempts,
            "reason": reason,
        },
    )
    return DeliveryError(channel, reason, attempts=attempts)
