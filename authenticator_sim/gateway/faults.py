"""Scripted failures: answer matching sends with a chosen status, optionally after a stall."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from authenticator_sim.gateway.inbox import Platform, token_key


@dataclass(slots=True, kw_only=True)
class Fault:
    """Matches sends by platform and token (``None`` = any) for ``count`` sends (``None`` = all).

    When it matches, the gateway waits ``stall`` seconds and answers ``status`` with
    ``reason``; a status of 200 only delays a successful answer.
    """

    id: str
    platform: Platform | None
    token: str | None
    status: int
    reason: str
    count: int | None
    stall: float

    def matches(self, platform: Platform, key: str) -> bool:
        return (self.platform is None or self.platform == platform) and (
            self.token is None or token_key(self.token) == key
        )

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "platform": self.platform,
            "token": self.token,
            "status": self.status,
            "reason": self.reason,
            "count": self.count,
            "stall": self.stall,
        }


class Faults:
    """The active fault rules, oldest first; the first one that matches a send applies."""

    def __init__(self) -> None:
        self._rules: list[Fault] = []
        self._ids = itertools.count(1)

    def add(
        self,
        *,
        platform: Platform | None = None,
        token: str | None = None,
        status: int,
        reason: str = "",
        count: int | None = None,
        stall: float = 0.0,
    ) -> Fault:
        if not 200 <= status <= 599:
            raise ValueError("status must be an HTTP status from 200 to 599")
        if count is not None and count < 1:
            raise ValueError("count must be at least 1 (or None for every send)")
        if stall < 0:
            raise ValueError("stall must not be negative")
        fault = Fault(
            id=str(next(self._ids)),
            platform=platform,
            token=token,
            status=status,
            reason=reason,
            count=count,
            stall=stall,
        )
        self._rules.append(fault)
        return fault

    def clear(self) -> int:
        cleared = len(self._rules)
        self._rules.clear()
        return cleared

    def active(self) -> list[Fault]:
        return list(self._rules)

    def take(self, platform: Platform, token: str) -> Fault | None:
        """The fault that applies to this send, using up one of its ``count``."""
        if not self._rules:
            return None
        key = token_key(token)
        for fault in self._rules:
            if fault.matches(platform, key):
                if fault.count is not None:
                    fault.count -= 1
                    if fault.count == 0:
                        self._rules.remove(fault)
                return fault
        return None
