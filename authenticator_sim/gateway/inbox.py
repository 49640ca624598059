"""Where delivered notifications wait for the simulated phones that own their tokens.

A waiting reader holds one future registered under each token it watches; a delivery
hands the notification straight to the oldest such reader, or queues it. Nothing polls.
"""

from __future__ import annotations

import asyncio
import re
from collections import deque
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, Literal

Platform = Literal["apns", "fcm"]
_APNS_TOKEN = re.compile(r"[0-9a-fA-F]{64}")


def token_key(token: str) -> str:
    """APNs tokens (64 hex digits) compare case-insensitively; FCM tokens exactly."""
    return token.lower() if _APNS_TOKEN.fullmatch(token) else token


@dataclass(frozen=True, slots=True, kw_only=True)
class Delivered:
    """One notification the gateway accepted (answered 200)."""

    platform: Platform
    token: str
    message_id: str
    jwt: str
    payload: dict[str, Any]
    received_at: float

    def to_json(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "token": self.token,
            "messageId": self.message_id,
            "jwt": self.jwt,
            "payload": self.payload,
            "received_at": self.received_at,
        }


class _Reader:
    __slots__ = ("future", "keys")

    def __init__(self, future: asyncio.Future[Delivered], keys: list[str]) -> None:
        self.future = future
        self.keys = keys


class Inbox:
    """Per-token queues (oldest dropped beyond ``per_token``/``total``) and waiting readers."""

    def __init__(self, *, per_token: int = 1000, total: int = 100_000) -> None:
        self._per_token = per_token
        self._total_limit = total
        self._queues: dict[str, deque[Delivered]] = {}
        self._readers: dict[str, dict[_Reader, None]] = {}
        self._total = 0
        self._observers: list[Callable[[str], None]] = []

    def observe(self, on_wait: Callable[[str], None]) -> None:
        """Call ``on_wait(token)`` whenever a reader starts waiting for ``token``."""
        self._observers.append(on_wait)

    def __len__(self) -> int:
        return self._total

    def deliver(self, item: Delivered) -> None:
        key = token_key(item.token)
        readers = self._readers.get(key)
        while readers:
            reader = next(iter(readers))
            self._unregister(reader)
            if not reader.future.done():
                reader.future.set_result(item)
                return
        self._enqueue(key, item, front=False)

    def take(self, token: str) -> list[Delivered]:
        """Remove and return everything queued for ``token``, oldest first."""
        queue = self._queues.pop(token_key(token), None)
        if queue is None:
            return []
        self._total -= len(queue)
        return list(queue)

    def take_any(self, tokens: Collection[str]) -> list[Delivered]:
        taken = [item for token in tokens for item in self.take(token)]
        return sorted(taken, key=lambda item: item.received_at)

    async def next(self, token: str, within: float) -> Delivered | None:
        """The oldest notification for ``token``, waiting up to ``within`` seconds."""
        return await self.next_any((token,), within)

    async def next_any(self, tokens: Collection[str], within: float) -> Delivered | None:
        """The next notification for any of ``tokens``, or ``None`` after ``within`` seconds."""
        keys = list(dict.fromkeys(token_key(token) for token in tokens))
        for key in keys:
            if key in self._queues:
                return self._pop(key)
        if within <= 0 or not keys:
            return None
        reader = _Reader(asyncio.get_running_loop().create_future(), keys)
        for key in keys:
            self._readers.setdefault(key, {})[reader] = None
            for on_wait in self._observers:
                on_wait(key)
        returned = False
        try:
            await asyncio.wait((reader.future,), timeout=within)
            returned = True
        finally:
            self._unregister(reader)
            if not reader.future.done():
                reader.future.cancel()
            elif not returned:  # cancelled after the hand-off: keep the notification
                item = reader.future.result()
                self._enqueue(token_key(item.token), item, front=True)
        return None if reader.future.cancelled() else reader.future.result()

    def _pop(self, key: str) -> Delivered:
        queue = self._queues[key]
        item = queue.popleft()
        self._total -= 1
        if not queue:
            del self._queues[key]
        return item

    def _enqueue(self, key: str, item: Delivered, *, front: bool) -> None:
        queue = self._queues.setdefault(key, deque())
        if front:
            queue.appendleft(item)
        else:
            queue.append(item)
        self._total += 1
        if len(queue) > self._per_token:
            queue.popleft()
            self._total -= 1
        while self._total > self._total_limit:  # drop from the longest-waiting token
            self._pop(next(iter(self._queues)))

    def _unregister(self, reader: _Reader) -> None:
        for key in reader.keys:
            readers = self._readers.get(key)
            if readers is not None:
                readers.pop(reader, None)
                if not readers:
                    del self._readers[key]
