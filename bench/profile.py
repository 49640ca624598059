"""Profile pushd under a bounded load: ``python -m bench.profile [push_cycle|otp] [options]``.

pushd runs in this process under pyinstrument (uvloop and the GC tuning of ``pushd
serve``); the load comes from a child process running the benchmarks' own drivers
(``bench.push_cycle``, ``bench.otp``), so the profile holds pushd's work only. With
``--redis`` the store is a private redis-server, and what each operation costs in Redis
commands and round trips is counted (see ``RedisTraffic``). ``--two-instances`` adds a
second pushd (a child process) taking the phone's replies, or, with ``--side phone``, the
login page's requests, as in ``bench.scale_out``. Time is wall-clock: ``Runner.run`` and
its ``[self]`` are the event loop waiting (idle) or in C (uvloop's own I/O). pyinstrument
adds a cost per Python call, so call-heavy code looks heavier than it is: compare runs.

Examples::

    python -m bench.profile push_cycle --cycles 3000 --concurrency 16
    python -m bench.profile push_cycle --redis --two-instances --side phone
    python -m bench.profile otp --redis --cycles 20000 --html /tmp/otp.html
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import logging
import re
import sys
import tempfile
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from pyinstrument import Profiler
from pyinstrument.renderers import ConsoleRenderer
from redis.asyncio.connection import AbstractConnection as Connection

from bench import otp, push_cycle
from bench.common import free_port, python, summary_ms
from bench.gateway import gateway_process
from bench.scale_out import instance, redis_server
from bench.seed import MASTER_KEY, SeededUser, seed_users
from mfa_core.oath import OathKind, OathParameters
from mfa_core.push_replies import Transport
from pushd.app import make_app
from pushd.logs import configure_logging
from pushd.settings import load_settings


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="pushd-profile-") as tmp:
        async with contextlib.AsyncExitStack() as stack:
            root = Path(tmp)
            url = ""
            if args.redis:
                (root / "redis").mkdir()
                url = await stack.enter_async_context(redis_server(root / "redis"))
            (root / "pushd").mkdir()
            count = args.concurrency if args.flow == "push_cycle" else 0
            key, users = await seed_users(
                root / "pushd", count, transport=Transport.APNS, redis_url=url
            )
            env = {
                "PUSHD_DATA_DIR": str(root / "pushd"), "PUSHD_MASTER_KEY": MASTER_KEY,
                "PUSHD_PUSH_RATE_LIMIT": "0", "PUSHD_ACCESS_LOG": "false",
                "PUSHD_LOG_LEVEL": args.log_level, "PUSHD_REDIS_URL": url,
            }  # fmt: skip
            control = ""
            if args.flow == "push_cycle":
                gw = await stack.enter_async_context(gateway_process(root / "gateway"))
                env, control = {**env, **gw.env}, gw.control_url
            port = free_port()
            here = f"http://127.0.0.1:{port}"
            await stack.enter_async_context(in_process(env, port, args.log_level))
            page = phone = here
            if args.two_instances:
                other_port = free_port()
                (root / "other").mkdir()
                await stack.enter_async_context(instance(env, other_port, root / "other"))
                other = f"http://127.0.0.1:{other_port}"
                page, phone = (other, here) if args.side == "phone" else (here, other)
            spec: dict[str, Any] = {
                "flow": args.flow, "page": page, "phone": phone, "key": key,
                "control": control, "cycles": args.cycles, "concurrency": args.concurrency,
                "users": [[u.username, u.secret.hex(), u.push_token] for u in users],
            }  # fmt: skip
            if args.flow == "otp":
                spec["otp_users"] = await enrol_otp(page, key, args.concurrency)
            traffic = RedisTraffic(url, root / "monitor.log") if url else None
            async with traffic or contextlib.nullcontext():
                profiler = Profiler(interval=args.interval, async_mode="disabled")
                profiler.start()
                result = await drive(spec)
                profiler.stop()
            print(f"{args.flow}: {result['line']}")
            if traffic is not None:  # the warm-up's operations count too
                operations = args.cycles + args.concurrency
                print(traffic.report(operations, all_in_process=not args.two_instances))
    renderer = ConsoleRenderer(
        unicode=False, color=False, flat=args.flat, time="percent_of_total",
        processor_options={"filter_threshold": args.threshold / 100},
    )  # fmt: skip
    text = profiler.output(renderer)
    print("\n".join(text.splitlines()[: args.lines]))
    if args.html:
        await asyncio.to_thread(Path(args.html).write_text, profiler.output_html(), "utf-8")
        print(f"full profile: {args.html}")


@contextlib.asynccontextmanager
async def in_process(env: dict[str, str], port: int, log_level: str) -> AsyncIterator[None]:
    """pushd as ``pushd serve`` runs it, but in this process (to be profiled)."""
    settings = load_settings({**env, "PUSHD_PORT": str(port)})
    configure_logging(log_level)
    app = make_app(settings)
    runner = web.AppRunner(app, handler_cancellation=True, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    gc.collect()
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)
    try:
        yield
    finally:
        await runner.cleanup()


async def enrol_otp(base: str, key: str, count: int) -> list[list[Any]]:
    async with aiohttp.ClientSession() as session:
        users = await otp.enrol(session, base, key, count)
    return [
        [u.username, u.params.secret.hex(), u.counter, u.client_ip, u.params.digits,
         u.params.algorithm]
        for u in users
    ]  # fmt: skip


def _hotp(secret_hex: str, digits: int, algorithm: str) -> OathParameters:
    return OathParameters(
        kind=OathKind.HOTP, secret=bytes.fromhex(secret_hex), account="", digits=digits,
        algorithm=algorithm,
    )  # fmt: skip


async def drive(spec: dict[str, Any]) -> dict[str, Any]:
    """Run the load in a child process (``--drive``) and return what it measured."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(spec, handle)
    child = await asyncio.create_subprocess_exec(
        python(), "-m", "bench.profile", "--drive", handle.name, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await child.communicate()
    await asyncio.to_thread(Path(handle.name).unlink)
    if child.returncode != 0:
        raise RuntimeError(f"the load generator failed ({child.returncode})")
    result: dict[str, Any] = json.loads(out)
    return result


async def load(spec: dict[str, Any]) -> dict[str, Any]:
    """The child's side: the benchmark's own driver against the given instances."""
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        if spec["flow"] == "otp":
            users = [
                otp.OtpUser(name, _hotp(secret, digits, algorithm), counter, ip)
                for name, secret, counter, ip, digits, algorithm in spec["otp_users"]
            ]
            result = await otp.verifications_per_second(
                session, spec["page"], spec["key"], users, spec["cycles"]
            )
            line = (
                f"{result.rate:,.0f} verifications/s at concurrency {len(users)};"
                f" {summary_ms(result.latencies)}; failures {result.failures}"
            )
            return {"line": line}
        seeded = [SeededUser(n, bytes.fromhex(s), t) for n, s, t in spec["users"]]
        rate, _, wake = await push_cycle.cycles_per_second(
            session, spec["page"], spec["key"], spec["control"], users=seeded,
            cycles=spec["cycles"], device_base=spec["phone"],
        )  # fmt: skip
        return {
            "line": f"{rate:,.0f} cycles/s at concurrency {len(seeded)};"
            f" reply->waiter {summary_ms(wake)}"
        }


class RedisTraffic:
    """What pushd sends Redis while the load runs: every command Redis executes at top
    level (``redis-cli monitor`` in a child process: every instance; a pipeline's
    commands count one each; those run inside Lua scripts are counted apart), and this
    process's round trips (writes of one or more commands, a pipeline being one)."""

    def __init__(self, url: str, log: Path) -> None:
        self._url = url
        self._log = log
        self.round_trips = 0
        self._monitor: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> RedisTraffic:
        with self._log.open("wb") as out:
            self._monitor = await asyncio.create_subprocess_exec(
                "redis-cli", "-u", self._url, "monitor", stdout=out
            )
        await asyncio.sleep(0.5)  # subscribed before the load starts
        original = Connection.send_packed_command
        self._restore = original

        async def counted(conn: Any, command: Any, check_health: bool = True) -> None:
            self.round_trips += 1
            await original(conn, command, check_health)

        Connection.send_packed_command = counted  # type: ignore[method-assign,assignment]
        return self

    async def __aexit__(self, *_: object) -> None:
        Connection.send_packed_command = self._restore  # type: ignore[method-assign]
        if self._monitor is not None:
            await asyncio.sleep(0.5)  # the last lines
            self._monitor.terminate()
            await self._monitor.wait()

    def report(self, operations: int, *, all_in_process: bool) -> str:
        commands: Counter[str] = Counter()
        in_scripts = 0
        for line in self._log.read_text("utf-8", "replace").splitlines():
            match = MONITOR_LINE.match(line)
            if match is None:
                continue
            if match["source"].endswith("lua"):
                in_scripts += 1
            elif match["command"].upper() not in ("INFO", "MONITOR"):
                commands[match["command"].upper()] += 1
        parts = ", ".join(f"{k} {v / operations:.2f}" for k, v in commands.most_common())
        total, inner = commands.total() / operations, in_scripts / operations
        lines = [f"Redis commands per operation: {total:.2f} ({parts}); in scripts: {inner:.2f}"]
        if all_in_process:
            lines.append(f"Redis round trips per operation: {self.round_trips / operations:.2f}")
        return "\n".join(lines)


MONITOR_LINE = re.compile(r'^[0-9.]+ \[(?P<source>[^\]]*)\] "(?P<command>[^"]+)"')


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("flow", nargs="?", choices=["push_cycle", "otp"], default="push_cycle")
    parser.add_argument("--redis", action="store_true", help="a private redis-server as store")
    parser.add_argument("--two-instances", action="store_true", help="a second pushd (child)")
    parser.add_argument(
        "--side", choices=["page", "phone"], default="page",
        help="with --two-instances: the requests the profiled instance takes",
    )  # fmt: skip
    parser.add_argument("--cycles", type=int, default=2000, help="measured operations")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--log-level", default="warning")
    parser.add_argument("--interval", type=float, default=0.0005, help="sampling seconds")
    parser.add_argument("--flat", action="store_true", help="self time per function")
    parser.add_argument("--threshold", type=float, default=1.0, help="hide frames below %%")
    parser.add_argument("--lines", type=int, default=60, help="lines of the profile printed")
    parser.add_argument("--html", help="also write the whole profile as HTML here")
    parser.add_argument("--drive", help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse()
    if arguments.drive:
        print(json.dumps(asyncio.run(load(json.loads(Path(arguments.drive).read_text())))))
        sys.exit(0)
    logging.captureWarnings(capture=True)
    try:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:
        pass
    asyncio.run(main(arguments))
