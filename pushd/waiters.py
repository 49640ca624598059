"""Long-poll waiters: one small object and at most one future per waiting request.

A :class:`WaiterHub` maps a transaction id to the requests waiting on it. When a
transaction changes, ``notify`` wakes them all; nothing ever re-reads storage in a
loop. A waiter is registered *before* its caller reads the current state, so a
change landing between the read and the wait is never missed. Across instances,
a :class:`DecisionBus` carries changes to every process's hub; when a bus may have
missed some (a reconnect), ``resync`` tells every waiter to re-read instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

RESYNC = "resync"
"""The state of a change that says "re-read the record: changes may have been missed"."""
DRAIN = "drain"
"""The state of a change that says "pushd is stopping: answer with the record's state now".
Once delivered it stays: every later ``next`` returns it at once."""


@dataclass(frozen=True, slots=True)
class Change:
    """A transaction reached ``state`` (final or not)."""

    key: str
    state: str
    reason: str | None = None


class Waiter:
    __slots__ = ("_future", "_latest")

    def __init__(self) -> None:
        self._future: asyncio.Future[Change] | None = None
        self._latest: Change | None = None

    def _deliver(self, change: Change) -> None:
        if self._latest is not None and self._latest.state == DRAIN:
            return  # the caller re-reads the record anyway
        self._latest = change
        if self._future is not None and not self._future.done():
            self._future.set_result(change)

    async def next(self, within: float) -> Change | None:
        """The next change since the last call, or ``None`` after ``within`` seconds."""
        if self._latest is None:
            if within <= 0:
                return None
            self._future = asyncio.get_running_loop().create_future()
            try:
                async with asyncio.timeout(within):
                    await self._future
            except TimeoutError:
                return None
            finally:
                self._future = None
        change = self._latest
        if change is not None and change.state != DRAIN:
            self._latest = None
        return change


class WaiterHub:
    def __init__(self) -> None:
        self._waiters: dict[str, set[Waiter]] = {}
        self._count = 0
        self._observers: list[Callable[[int], None]] = []
        self._draining = False

    def observe(self, on_count: Callable[[int], None]) -> None:
        """Call ``on_count`` with the number of waiters whenever it changes (metrics)."""
        self._observers.append(on_count)

    @property
    def count(self) -> int:
        return self._count

    @property
    def draining(self) -> bool:
        return self._draining

    def drain(self) -> int:
        """pushd is stopping: every waiter, and every one that comes later, answers now."""
        self._draining = True
        woken = 0
        for key in list(self._waiters):
            woken += self.notify(Change(key, DRAIN))
        return woken

    @contextmanager
    def watch(self, key: str) -> Iterator[Waiter]:
        waiter = Waiter()
        if self._draining:
            waiter._deliver(Change(key, DRAIN))
        self._waiters.setdefault(key, set()).add(waiter)
        self._adjust(1)
        try:
            yield waiter
        finally:
            group = self._waiters.get(key)
            if group is not None:
                group.discard(waiter)
                if not group:
                    del self._waiters[key]
            self._adjust(-1)

    def notify(self, change: Change) -> int:
        """Wake every local waiter of ``change.key``; returns how many."""
        group = self._waiters.get(change.key, ())
        for waiter in group:
            waiter._deliver(change)
        return len(group)

    def resync(self) -> int:
        """Wake every waiter to re-read its record; returns how many."""
        woken = 0
        for key in list(self._waiters):
            woken += self.notify(Change(key, RESYNC))
        return woken

    def _adjust(self, delta: int) -> None:
        self._count += delta
        for observer in self._observers:
            observer(self._count)


class DecisionBus(Protocol):
    """Carries changes to the hubs of every instance (pushd's own included)."""

    @property
    def ready(self) -> bool:
        """Changes from every instance reach this one (readiness)."""
        ...

    async def publish(self, change: Change) -> None: ...

    async def start(self, hub: WaiterHub) -> None: ...

    async def close(self) -> None: ...


class LocalBus:
    """One process: a change goes straight to this process's hub."""

    def __init__(self) -> None:
        self._hub: WaiterHub | None = None

    @property
    def ready(self) -> bool:
        return True

    async def start(self, hub: WaiterHub) -> None:
        self._hub = hub

    async def publish(self, change: Change) -> None:
        if self._hub is not None:
            self._hub.notify(change)

    async def close(self) -> None:
        self._hub = None
