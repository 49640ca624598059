"""Auto-pipelining: the commands sent to Redis in one turn of the event loop go together.

A round trip costs the client far more CPU than the command (redis-py's bookkeeping and,
on small virtual machines, the send that wakes Redis up), and under load many requests
reach the store in the same turn of the loop. Their commands are queued and, at the end
of the turn, written as one pipeline: one write, one read, one connection. A command
alone goes out as itself. Each command keeps its own atomicity (a Lua script still runs
alone; a pipeline is not a transaction and needs none) and the order they were issued in.

Failures mean what they mean for a single command: an error reply fails its own command
only; a lost connection fails every command of the batch, except reads, which are tried
again once on a fresh connection. A script whose reply was lost is never sent again
(it may have run): its caller sees the error and decides.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.commands.core import AsyncScript
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError

MAX_BATCH = 256  # commands in one pipeline; more go in the next


@dataclass(frozen=True, slots=True)
class _Command:
    args: tuple[Any, ...]
    future: asyncio.Future[Any]
    idempotent: bool
    script: AsyncScript | None  # loaded and run again on NOSCRIPT (it did not run)


class Batcher:
    def __init__(self, client: aioredis.Redis) -> None:
        self._client = client
        self._queue: list[_Command] = []
        self._sending: set[asyncio.Task[None]] = set()

    async def execute(self, *args: Any, idempotent: bool, script: AsyncScript | None = None) -> Any:
        """Send ``args`` (a command and its arguments) with whatever else this turn sends."""
        return await self.submit(*args, idempotent=idempotent, script=script)

    def submit(
        self, *args: Any, idempotent: bool, script: AsyncScript | None = None
    ) -> asyncio.Future[Any]:
        """``execute`` without waiting: several submitted at once need no task each."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        if not self._queue:
            loop.call_soon(self._flush)  # runs after everything already ready this turn
        self._queue.append(_Command(args, future, idempotent, script))
        if len(self._queue) >= MAX_BATCH:
            self._flush()
        return future

    def _flush(self) -> None:
        batch, self._queue = self._queue, []
        if not batch:
            return  # sent already, being full
        task = asyncio.create_task(self._send(batch))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, batch: Sequence[_Command]) -> None:
        try:
            if len(batch) == 1:
                await self._one(batch[0])
            else:
                await self._pipeline(batch)
        except asyncio.CancelledError:
            for command in batch:
                command.future.cancel()
            raise
        except Exception as e:  # noqa: BLE001 - the batch's callers learn of anything else
            for command in batch:
                _fail(command, e)

    async def _pipeline(self, batch: Sequence[_Command]) -> None:
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                for command in batch:
                    pipe.execute_command(*command.args)
                results = await pipe.execute(raise_on_error=False)
        except RedisConnectionError as e:
            for command in batch:
                if command.idempotent:
                    await self._one(command)
                else:
                    _fail(command, e)
            return
        for command, result in zip(batch, results, strict=True):
            if isinstance(result, NoScriptError):
                await self._one(command)
            elif isinstance(result, BaseException):
                _fail(command, result)
            elif not command.future.done():
                command.future.set_result(result)

    async def _one(self, command: _Command) -> None:
        """One command on its own: a read tried again once on a dropped connection, a
        script loaded first when Redis does not know it (as redis-py's scripts do)."""
        retried = loaded = False
        while True:
            try:
                result = await self._client.execute_command(*command.args)  # type: ignore[no-untyped-call]
            except RedisConnectionError as e:
                if command.idempotent and not retried:
                    retried = True
                    continue
                _fail(command, e)
            except NoScriptError as e:
                if command.script is not None and not loaded:
                    loaded = True
                    try:
                        await self._client.script_load(command.script.script)
                    except Exception as load_error:  # noqa: BLE001 - the caller maps it
                        _fail(command, load_error)
                        return
                    continue
                _fail(command, e)
            except Exception as e:  # noqa: BLE001 - handed to the caller, who maps it
                _fail(command, e)
            else:
                if not command.future.done():
                    command.future.set_result(result)
            return

    async def close(self) -> None:
        """Wait for batches already on their way."""
        if self._sending:
            await asyncio.gather(*self._sending, return_exceptions=True)


def _fail(command: _Command, error: BaseException) -> None:
    if not command.future.done():
        command.future.set_exception(error)
