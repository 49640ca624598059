"""The inbox on its own: hand-off to waiting readers, queues, bounds, cancellation."""

from __future__ import annotations

import asyncio
import time

from authenticator_sim.gateway.inbox import Delivered, Inbox, token_key

APNS_TOKEN = "AB" * 32


def _item(token: str, message_id: str = "m") -> Delivered:
    return Delivered(
        platform="apns",
        token=token,
        message_id=message_id,
        jwt="",
        payload={},
        received_at=time.time(),
    )


async def test_a_waiting_reader_gets_the_next_delivery() -> None:
    inbox = Inbox()
    waiting = asyncio.Event()
    inbox.observe(lambda _: waiting.set())
    reader = asyncio.create_task(inbox.next(APNS_TOKEN.lower(), within=5))
    await waiting.wait()
    inbox.deliver(_item(APNS_TOKEN, "m1"))
    item = await reader
    assert item is not None
    assert item.message_id == "m1"
    assert len(inbox) == 0


async def test_apns_tokens_compare_case_insensitively_fcm_tokens_exactly() -> None:
    assert token_key(APNS_TOKEN) == APNS_TOKEN.lower()
    assert token_key("fcm:AbC") == "fcm:AbC"
    inbox = Inbox()
    inbox.deliver(_item(APNS_TOKEN))
    inbox.deliver(_item("fcm:AbC"))
    assert len(inbox.take(APNS_TOKEN.lower())) == 1
    assert inbox.take("fcm:abc") == []
    assert len(inbox.take("fcm:AbC")) == 1


async def test_next_any_and_timeouts() -> None:
    inbox = Inbox()
    assert await inbox.next_any(["a", "b"], within=0.05) is None
    inbox.deliver(_item("b", "mb"))
    item = await inbox.next_any(["a", "b"], within=0)
    assert item is not None
    assert item.message_id == "mb"
    assert await inbox.next_any([], within=1) is None


async def test_queues_are_bounded_dropping_the_oldest() -> None:
    inbox = Inbox(per_token=3, total=5)
    for n in range(5):
        inbox.deliver(_item("a", f"a{n}"))
    assert [i.message_id for i in inbox.take("a")] == ["a2", "a3", "a4"]
    for n in range(3):
        inbox.deliver(_item("a", f"a{n}"))
        inbox.deliver(_item("b", f"b{n}"))
    assert len(inbox) == 5
    # a0 went (the total is 5); the rest come back oldest first across tokens
    assert [i.message_id for i in inbox.take_any(["a", "b"])] == ["b0", "a1", "b1", "a2", "b2"]


async def test_a_cancelled_reader_loses_nothing() -> None:
    inbox = Inbox()
    waiting = asyncio.Event()
    inbox.observe(lambda _: waiting.set())
    reader = asyncio.create_task(inbox.next("a", within=5))
    await waiting.wait()
    inbox.deliver(_item("a", "kept"))  # handed to the reader's future ...
    reader.cancel()  # ... which is cancelled before it runs again
    (outcome,) = await asyncio.gather(reader, return_exceptions=True)
    assert isinstance(outcome, asyncio.CancelledError)
    assert [i.message_id for i in inbox.take("a")] == ["kept"]
