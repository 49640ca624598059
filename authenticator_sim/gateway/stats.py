"""Counters the gateway keeps for tests and benchmarks."""

from __future__ import annotations

from collections import Counter
from typing import Any

from authenticator_sim.gateway.inbox import Platform


class Stats:
    def __init__(self) -> None:
        self.received: Counter[str] = Counter()
        self.delivered: Counter[str] = Counter()
        self.answered: dict[str, Counter[int]] = {"apns": Counter(), "fcm": Counter()}
        self.access_tokens_issued = 0
        self.provider_tokens_seen = 0

    def answer(self, platform: Platform, status: int) -> None:
        self.answered[platform][status] += 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "received": {name: self.received[name] for name in ("apns", "fcm")},
            "delivered": {name: self.delivered[name] for name in ("apns", "fcm")},
            "answered": {
                name: {str(status): n for status, n in sorted(counts.items())}
                for name, counts in self.answered.items()
            },
            "access_tokens_issued": self.access_tokens_issued,
            "provider_tokens_seen": self.provider_tokens_seen,
        }
