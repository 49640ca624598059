"""The same-run ceiling: a minimal aiohttp server doing what pushd's long-poll does.

``GET /`` says hello; ``GET /wait/{key}`` holds one future until ``POST /decide/{key}``.
Run as ``python -m bench.baseline PORT``; uvloop, handler cancellation and the GC
tuning match pushd's, so the comparison is of the work, not of the set-up.
"""

from __future__ import annotations

import asyncio
import gc
import sys

from aiohttp import web

WAITERS = web.AppKey("waiters", dict[str, list[asyncio.Future[str]]])


async def hello(_request: web.Request) -> web.Response:
    return web.Response(text="Hello, world")


async def wait(request: web.Request) -> web.Response:
    future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    waiters = request.app[WAITERS]
    key = request.match_info["key"]
    waiters.setdefault(key, []).append(future)
    try:
        async with asyncio.timeout(float(request.query.get("wait", "60"))):
            state = await future
    except TimeoutError:
        state = "pending"
    finally:
        group = waiters.get(key, [])
        if future in group:
            group.remove(future)
    return web.json_response({"id": key, "state": state})


async def metrics(request: web.Request) -> web.Response:
    count = sum(len(group) for group in request.app[WAITERS].values())
    return web.Response(text=f"waiters {count}\n")


async def decide(request: web.Request) -> web.Response:
    for future in request.app[WAITERS].pop(request.match_info["key"], []):
        if not future.done():
            future.set_result("approved")
    return web.json_response({})


async def tune_gc(_app: web.Application) -> None:
    gc.collect()
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)


def main() -> None:
    try:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:
        pass
    app = web.Application()
    app[WAITERS] = {}
    app.add_routes(
        [
            web.get("/", hello),
            web.get("/metrics", metrics),
            web.get("/wait/{key}", wait),
            web.post("/decide/{key}", decide),
        ]
    )
    app.on_startup.append(tune_gc)
    web.run_app(
        app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None,
        handler_cancellation=True,
    )  # fmt: skip


if __name__ == "__main__":
    main()
