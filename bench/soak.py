"""A bounded soak of mixed push traffic, reconciled against a ledger at the end.

``python -m bench.soak --duration SECONDS [--store sqlite|redis] [--instances 1|2]``

Real ``pushd serve`` processes (two on one Redis if asked) send through aioapns and
firebase-admin to ``authsim gateway`` (a separate process). Users with iPhones (APNs)
and Android phones (FCM) are registered through the real QR flow; then each user's
login page asks for push approvals over and over, long-polls them (sometimes
re-polling, sometimes hanging up), and the phone approves, denies, ignores, taps the
wrong number, turns out to be uninstalled (the gateway answers 410/404 once; the app
then refreshes its token), or is reached only after the gateway answered 5xx first.
Every failure comes from the gateway's fault injection; nothing is faked here. A warm-up
of back-to-back approvals comes first, until pushd's memory has levelled off.

Each challenge goes into a ledger (bench/soak_ledger.py), which is reconciled with
pushd's metrics, the gateway's counters, pushd's RSS over time and pushd's logs.
The report is printed; the exit status is 1 if any check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import secrets
import signal
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bench.common import ROOT, free_port, python, rss_mib
from bench.gateway import gateway_process
from bench.soak_ledger import Kind, Report, RssSeries, reconcile
from bench.soak_traffic import Soak
from pushd.store.redis_connect import connect
from pushd.store.redis_keys import Keys

MASTER_KEY = "7c" * 32
WARM_UP_STEP = 2.0  # seconds between the warm-up's RSS readings
DEFAULT_REDIS_URL = os.environ.get("PUSHD_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@dataclass(frozen=True, slots=True, kw_only=True)
class SoakConfig:
    duration: float = 600.0
    store: str = "sqlite"
    instances: int = 1
    users: int = 48
    ttl: float = 6.0  # PUSHD_CHALLENGE_TTL: an ignored challenge expires after this
    think: float = 1.0  # mean seconds between one user's logins
    warmup: float = 60.0  # at most this many seconds of back-to-back approvals first
    minimum: int = 20  # of each kind of traffic, for the run to count
    redis_url: str = DEFAULT_REDIS_URL
    seed: int | None = None
    workdir: Path | None = None


@dataclass(slots=True)
class Pushd:
    name: str
    base: str
    process: asyncio.subprocess.Process
    log: Path


async def sample_rss(pids: dict[str, int], every: float, into: dict[str, list[float]]) -> None:
    """VmRSS of each process every ``every`` seconds, until cancelled."""
    while True:
        for name, pid in pids.items():
            into[name].append(rss_mib(pid))
        await asyncio.sleep(every)


@contextlib.asynccontextmanager
async def pushd(name: str, env: dict[str, str], directory: Path) -> AsyncIterator[Pushd]:
    """``pushd serve`` on a free port, logging (JSON lines) to ``directory/NAME.log``."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    data_dir = directory / name
    data_dir.mkdir(parents=True, exist_ok=True)
    own = {**env, "PUSHD_PORT": str(port), "PUSHD_PUBLIC_URL": base}
    own.setdefault("PUSHD_DATA_DIR", str(data_dir))
    log = directory / f"{name}.log"
    with log.open("wb") as sink:
        child = await asyncio.create_subprocess_exec(
            python(), "-m", "pushd", "serve", env=own, cwd=ROOT,
            stdout=asyncio.subprocess.DEVNULL, stderr=sink,
        )  # fmt: skip
    try:
        await until_ready(f"{base}/readyz", child)
        yield Pushd(name, base, child, log)
    finally:
        if child.returncode is None:
            child.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(child.wait(), 20)
            except TimeoutError:
                child.kill()
                await child.wait()


async def until_ready(url: str, child: asyncio.subprocess.Process, within: float = 60.0) -> None:
    loop = asyncio.get_running_loop()
    give_up = loop.time() + within
    async with aiohttp.ClientSession() as session:
        while loop.time() < give_up:
            if child.returncode is not None:
                raise RuntimeError(f"pushd exited with {child.returncode} before it was ready")
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(url) as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} was not ready within {within:g} s")


async def create_api_key(env: dict[str, str]) -> str:
    child = await asyncio.create_subprocess_exec(
        python(), "-m", "pushd", "apikey", "create", "soak", env=env, cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(child.communicate(), 60)
    if child.returncode != 0:
        raise RuntimeError(f"pushd apikey create failed: {err.decode()}")
    return out.decode().strip()


async def drop_redis_keys(url: str, prefix: str) -> None:
    client = connect(url, pool_size=2, command_timeout=10.0)
    try:
        names = [n async for n in client.scan_iter(match=Keys(prefix).everything_pattern)]
        for start in range(0, len(names), 1000):
            await client.delete(*names[start : start + 1000])
    finally:
        await client.aclose()


def pushd_env(config: SoakConfig, gateway_env: dict[str, str], directory: Path) -> dict[str, str]:
    env = {**os.environ, **gateway_env}
    env.pop("PUSHD_CONFIG", None)
    env |= {
        "PUSHD_MASTER_KEY": MASTER_KEY,
        "PUSHD_CHALLENGE_TTL": str(config.ttl),
        "PUSHD_PUSH_RATE_LIMIT": "0",  # the fatigue rules are tested elsewhere; here they
        "PUSHD_PUSH_DENIAL_BACKOFF": "0",  # would only refuse the soak's own logins
        "PUSHD_PUSH_SUSPEND_AFTER": "0",
        "PUSHD_PUSH_RETRY_BASE": "0.1",
        "PUSHD_PUSH_RETRY_CAP": "0.5",
        "PUSHD_ACCESS_LOG": "false",
        "PUSHD_LOG_LEVEL": "info",
    }
    if config.store == "redis":
        env |= {"PUSHD_REDIS_URL": config.redis_url,
                "PUSHD_REDIS_PREFIX": f"{{pushdsoak-{secrets.token_hex(6)}}}:"}  # fmt: skip
    else:
        env["PUSHD_DATA_DIR"] = str(directory / "store")  # the instance and the CLI share it
    return env


async def soak(config: SoakConfig) -> Report:
    rng = random.Random(config.seed)  # a load shape, not a secret
    if config.workdir is not None:
        config.workdir.mkdir(parents=True, exist_ok=True)
        return await _soak(config, config.workdir, rng)
    with tempfile.TemporaryDirectory(prefix="pushd-soak-") as tmp:
        return await _soak(config, Path(tmp), rng)


async def _soak(config: SoakConfig, directory: Path, rng: random.Random) -> Report:
    async with gateway_process(directory / "gateway") as gw:
        say("gateway up")
        env = pushd_env(config, gw.env, directory)
        try:
            return await _with_gateway(config, directory, rng, env, gw.control_url)
        finally:
            if prefix := env.get("PUSHD_REDIS_PREFIX"):
                await drop_redis_keys(config.redis_url, prefix)


async def _with_gateway(
    config: SoakConfig, directory: Path, rng: random.Random, env: dict[str, str], control: str
) -> Report:
    key = await create_api_key(env)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        async with contextlib.AsyncExitStack() as fleet:
            names = ["a", "b"][: config.instances]
            nodes = [await fleet.enter_async_context(pushd(n, env, directory)) for n in names]
            say(f"pushd up: {', '.join(n.base for n in nodes)}")
            runner = Soak(session, bases=[n.base for n in nodes], control=control, api_key=key,
                          rng=rng, ttl=config.ttl, think=config.think)  # fmt: skip
            rss = await load(config, runner, nodes)
            instances = {n.name: await runner.idle_metrics(n.base) for n in nodes}
            await runner.leftovers()
            stats = await runner.gateway_stats()
        say("pushd stopped")
        for node in nodes:  # stopped with SIGTERM by now: a clean exit is 0
            if node.process.returncode != 0:
                runner.anomaly(f"pushd {node.name} exited with {node.process.returncode}")
    logs = {n.name: n.log.read_text(errors="replace").splitlines() for n in nodes}
    return reconcile(
        runner.ledger,
        instances=instances,
        gateway_stats=stats,
        rss=rss,
        logs=logs,
        minimum=config.minimum,
    )


async def load(config: SoakConfig, runner: Soak, nodes: list[Pushd]) -> list[RssSeries]:
    """Register the users, warm up, then run the load while sampling each instance's RSS."""
    enrolling = asyncio.Semaphore(8)

    async def enrol(i: int) -> None:
        async with enrolling:
            await runner.enrol(f"soak{i:03d}", ios=i % 2 == 0)

    await asyncio.gather(*(enrol(i) for i in range(config.users)))
    say(f"{len(runner.users)} users registered")
    pids = {n.name: n.process.pid for n in nodes}
    before = {name: rss_mib(pid) for name, pid in pids.items()}
    if config.warmup > 0:
        took = await warm_up(runner, pids, most=config.warmup)
        say(f"warm-up over after {took:.0f} s: {len(runner.ledger.entries):,} approvals")
    rss: dict[str, list[float]] = {n.name: [] for n in nodes}
    every = max(0.5, config.duration / 240)
    sampler = asyncio.create_task(sample_rss(pids, every, rss))
    try:
        await runner.run(asyncio.get_running_loop().time() + config.duration)
    finally:
        sampler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampler
    say(f"load over: {len(runner.ledger.entries):,} challenges")
    return [RssSeries(name, tuple(rss[name]), before=before[name]) for name in pids]


async def warm_up(runner: Soak, pids: dict[str, int], *, most: float) -> float:
    """Back-to-back approvals until every instance's RSS has levelled off, or ``most``
    seconds. pushd collects young garbage only every 100,000 allocations (its GC tuning),
    so its RSS first climbs to the high-water mark of one such cycle; only after that
    does flat mean anything. Returns the seconds it took."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    history: dict[str, list[float]] = {name: [] for name in pids}
    while loop.time() - started < most:
        await runner.run(loop.time() + WARM_UP_STEP, mix={Kind.APPROVE: 1}, think=0.0)
        for name, pid in pids.items():
            history[name].append(rss_mib(pid))
        if all(levelled(samples) for samples in history.values()):
            break
    return loop.time() - started


def levelled(samples: list[float], steps: int = 5, slack: float = 0.5) -> bool:
    """RSS climbed (by more than ``slack`` MiB), then grew by less than ``slack`` over the
    last ``steps`` readings."""
    recent = samples[-(steps + 1) :]
    climbed = len(samples) > steps and recent[0] - samples[0] > slack
    return climbed and max(recent) - recent[0] < slack


_STARTED = time.monotonic()


def say(text: str) -> None:
    """Progress, on stderr (the report goes to stdout)."""
    print(f"[{time.monotonic() - _STARTED:6.1f} s] {text}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--duration", type=float, default=600.0, help="seconds of load")
    parser.add_argument("--store", choices=("sqlite", "redis"), default="sqlite")
    parser.add_argument("--instances", type=int, choices=(1, 2), default=1)
    parser.add_argument("--users", type=int, default=48, help="half iPhones, half Android")
    parser.add_argument(
        "--warmup",
        type=float,
        default=60.0,
        help="at most this many seconds of back-to-back approvals first, until pushd's RSS"
        " levels off (0: none)",
    )
    parser.add_argument("--ttl", type=float, default=6.0, help="challenge TTL in seconds")
    parser.add_argument("--minimum", type=int, default=20, help="of each kind of traffic")
    parser.add_argument("--seed", type=int, help="the load's random seed")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL)
    parser.add_argument("--dir", type=Path, help="keep logs and stores here")
    parser.add_argument("--report", type=Path, help="also write the report here as JSON")
    args = parser.parse_args(argv)
    if args.instances > 1 and args.store != "redis":
        parser.error("two instances share state through Redis: add --store redis")
    config = SoakConfig(
        duration=args.duration, store=args.store, instances=args.instances, users=args.users,
        ttl=args.ttl, warmup=args.warmup, minimum=args.minimum, seed=args.seed,
        redis_url=args.redis_url, workdir=args.dir,
    )  # fmt: skip
    report = asyncio.run(soak(config))
    print(f"soak: {config.duration:g} s of load after the warm-up, store {config.store},"
          f" {config.instances} instance(s), {config.users} users,"
          f" challenge TTL {config.ttl:g} s")  # fmt: skip
    print(report.text())
    if args.report:
        args.report.write_text(json.dumps(report.to_json(), indent=2))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
