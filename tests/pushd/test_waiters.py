from __future__ import annotations

import asyncio

from pushd.waiters import Change, LocalBus, WaiterHub


async def test_a_change_wakes_every_waiter_of_its_key_only() -> None:
    hub = WaiterHub()
    with hub.watch("a") as first, hub.watch("a") as second, hub.watch("b") as other:
        waits = [asyncio.create_task(w.next(5)) for w in (first, second)]
        await asyncio.sleep(0)
        assert hub.notify(Change("a", "approved")) == 2
        assert await asyncio.gather(*waits) == [Change("a", "approved")] * 2
        assert await other.next(0) is None


async def test_a_change_before_the_wait_is_not_missed() -> None:
    hub = WaiterHub()
    with hub.watch("k") as waiter:
        hub.notify(Change("k", "registered"))
        hub.notify(Change("k", "confirmed"))
        assert await waiter.next(0) == Change("k", "confirmed")  # the latest wins
        assert await waiter.next(0) is None


async def test_timeout_and_bookkeeping() -> None:
    counts: list[int] = []
    hub = WaiterHub()
    hub.observe(counts.append)
    with hub.watch("k") as waiter:
        assert hub.count == 1
        assert await waiter.next(0.01) is None
    assert hub.count == 0
    assert counts == [1, 0]
    assert hub.notify(Change("k", "x")) == 0


async def test_a_cancelled_wait_leaves_nothing_behind() -> None:
    hub = WaiterHub()

    async def wait() -> None:
        with hub.watch("k") as waiter:
            await waiter.next(30)

    task = asyncio.create_task(wait())
    await asyncio.sleep(0)
    assert hub.count == 1
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert hub.count == 0


async def test_local_bus_delivers_to_the_hub() -> None:
    hub, bus = WaiterHub(), LocalBus()
    await bus.publish(Change("k", "x"))  # before start: dropped, no error
    await bus.start(hub)
    with hub.watch("k") as waiter:
        await bus.publish(Change("k", "approved"))
        assert await waiter.next(1) == Change("k", "approved")
    await bus.close()
