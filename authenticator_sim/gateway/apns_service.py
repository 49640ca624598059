"""What the APNs stand-in does with a complete request: rules, then faults, then the inbox."""

from __future__ import annotations

import time

from authenticator_sim.gateway.apns_rules import ApnsRequest, ApnsRules, Verdict
from authenticator_sim.gateway.faults import Faults
from authenticator_sim.gateway.inbox import Delivered, Inbox
from authenticator_sim.gateway.stats import Stats

# A fault without a reason still needs one: aioapns ignores an error body without it and
# its send then never completes.
DEFAULT_REASONS = {
    400: "BadDeviceToken",
    403: "InvalidProviderToken",
    404: "BadPath",
    410: "Unregistered",
    413: "PayloadTooLarge",
    429: "TooManyRequests",
    500: "InternalServerError",
    503: "ServiceUnavailable",
}


class ApnsService:
    def __init__(self, *, rules: ApnsRules, faults: Faults, inbox: Inbox, stats: Stats) -> None:
        self._rules = rules
        self._faults = faults
        self._inbox = inbox
        self._stats = stats

    def judge(self, request: ApnsRequest) -> tuple[Verdict, float]:
        """The answer to give and how many seconds to stall before giving it."""
        self._stats.received["apns"] += 1
        verdict = self._rules.judge(request)
        if verdict.status != 200:
            return verdict, 0.0
        fault = self._faults.take("apns", verdict.token)
        if fault is None:
            return verdict, 0.0
        if fault.status != 200:
            reason = fault.reason or DEFAULT_REASONS.get(fault.status, "InternalServerError")
            verdict = Verdict(status=fault.status, reason=reason, token=verdict.token)
        return verdict, fault.stall

    def answered(self, verdict: Verdict) -> None:
        """Count the answer; an accepted notification reaches the inbox as it is answered."""
        self._stats.answer("apns", verdict.status)
        if verdict.status != 200 or verdict.payload is None:
            return
        self._stats.delivered["apns"] += 1
        aps = verdict.payload.get("aps")
        aps = aps if isinstance(aps, dict) else {}
        self._inbox.deliver(
            Delivered(
                platform="apns",
                token=verdict.token,
                message_id=_text(aps.get("messageId")),
                jwt=_text(aps.get("data")),
                payload=verdict.payload,
                received_at=time.time(),
            )
        )


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""
