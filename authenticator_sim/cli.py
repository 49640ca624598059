"""``authsim`` — the ForgeRock Authenticator app, scriptable.

  authsim scan URI|IMAGE [--ios]      register an account from a code (or a picture of one)
  authsim accounts                    list "My accounts"
  authsim code ACCOUNT                the current one-time code
  authsim notifications [--wait S]    pending push notifications
  authsim approve|deny [--number N] [MESSAGE_ID] [--wait S]
  authsim refresh ACCOUNT [--token T] send the app's token refresh
  authsim run --auto approve|deny|ignore|wrong-number [--for S] [--count N] [--number N]
  authsim gateway [--dir DIR] [--apns-port P] [--fcm-port P] [--control-port P]

Every command takes --wallet FILE (default $AUTHSIM_WALLET or ~/.authsim/wallet.json),
--gateway URL (default $AUTHSIM_GATEWAY; http://127.0.0.1:8445) and --json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import aiohttp

from authenticator_sim.qr import SCHEMES, QrError, decode_image
from authenticator_sim.simulator import AutoMode, Pending, Simulator, SimulatorError
from authenticator_sim.wallet import OathAccount, PushAccount, WalletError

DEFAULT_WALLET = Path.home() / ".authsim" / "wallet.json"
DEFAULT_GATEWAY = "http://127.0.0.1:8445"
Command = Callable[[Simulator, argparse.Namespace], Awaitable[Any]]


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "gateway":
            return asyncio.run(_gateway(args))
        result = asyncio.run(_with_simulator(args.run, args))
    except (SimulatorError, WalletError, QrError) as e:
        _print_error(args, str(e))
        return 1
    _print(args, result)
    return 0


async def _with_simulator(command: Command, args: argparse.Namespace) -> Any:
    timeout = aiohttp.ClientTimeout(total=90)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        simulator = Simulator(
            args.wallet, session, gateway=args.gateway or None, poll_fallback=not args.no_poll
        )
        return await command(simulator, args)


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--wallet", type=Path, default=Path(os.environ.get("AUTHSIM_WALLET", DEFAULT_WALLET))
    )
    common.add_argument(
        "--gateway",
        default=os.environ.get("AUTHSIM_GATEWAY", DEFAULT_GATEWAY),
        help="the gateway's control URL ('' to use only the poll fallback)",
    )
    common.add_argument("--json", action="store_true", help="machine-readable output")
    common.add_argument(
        "--no-poll", action="store_true", help="only what the gateway delivers, no poll fallback"
    )
    parser = argparse.ArgumentParser(
        prog="authsim", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    scan = commands.add_parser("scan", parents=[common], help="register from a code or picture")
    scan.add_argument("code", help="a pushauth://, otpauth:// or mfauth:// URI, or an image file")
    scan.add_argument("--ios", action="store_true", help="behave like the iOS app")
    scan.set_defaults(run=_scan)
    commands.add_parser("accounts", parents=[common], help="list accounts").set_defaults(
        run=_accounts
    )
    code = commands.add_parser("code", parents=[common], help="the current one-time code")
    code.add_argument("account")
    code.set_defaults(run=_code)
    listing = commands.add_parser("notifications", parents=[common], help="pending notifications")
    listing.add_argument("--wait", type=float, default=0.0)
    listing.set_defaults(run=_notifications)
    for name in ("approve", "deny"):
        answer = commands.add_parser(name, parents=[common], help=f"{name} a notification")
        answer.add_argument("message_id", nargs="?", help="default: the latest")
        answer.add_argument("--number", type=int, help="the number to tap (number matching)")
        answer.add_argument(
            "--wait", type=float, default=0.0, help="wait this long for a notification to arrive"
        )
        answer.set_defaults(run=_answer, approve=name == "approve")
    refresh = commands.add_parser("refresh", parents=[common], help="refresh the push token")
    refresh.add_argument("account")
    refresh.add_argument("--token", help="a new push token (default: keep the current one)")
    refresh.set_defaults(run=_refresh)
    run = commands.add_parser("run", parents=[common], help="answer everything that arrives")
    run.add_argument("--auto", type=AutoMode, choices=list(AutoMode), required=True)
    run.add_argument("--for", dest="seconds", type=float, default=3600.0)
    run.add_argument("--count", type=int, help="stop after this many notifications")
    run.add_argument("--number", type=int, help="the number to tap for number matching")
    run.set_defaults(run=_run)

    gateway = commands.add_parser("gateway", help="run the local APNs and FCM stand-ins")
    gateway.add_argument("--dir", type=Path, default=Path.home() / ".authsim" / "gateway")
    gateway.add_argument("--host", default="127.0.0.1")
    gateway.add_argument("--apns-port", type=int, default=8443)
    gateway.add_argument("--fcm-port", type=int, default=8444)
    gateway.add_argument("--control-port", type=int, default=8445)
    gateway.add_argument("--json", action="store_true")
    gateway.add_argument(
        "--lenient-tokens",
        action="store_true",
        help="accept a new APNs provider token at any time (Apple allows one per 20 minutes)",
    )
    return parser


async def _scan(sim: Simulator, args: argparse.Namespace) -> Any:
    code = args.code
    if not code.startswith(SCHEMES):
        code = decode_image(Path(code))
    accounts = await sim.scan(code, ios=args.ios)
    return [_account_view(a) for a in accounts]


async def _accounts(sim: Simulator, _args: argparse.Namespace) -> Any:
    wallet = sim.load()
    accounts: list[PushAccount | OathAccount] = [*wallet.push, *wallet.oath]
    return [_account_view(a) for a in accounts]


async def _code(sim: Simulator, args: argparse.Namespace) -> Any:
    account = sim.load().find(args.account)
    if not isinstance(account, OathAccount):
        raise WalletError(f"{args.account!r} is a push account: it has no codes")
    shown = sim.code(account)
    view: dict[str, object] = {"account": account.account_id, "code": shown.code}
    if shown.valid_for is not None:
        view["valid_for"] = round(shown.valid_for, 1)
    return view


async def _notifications(sim: Simulator, args: argparse.Namespace) -> Any:
    return [p.summary() for p in await sim.notifications(wait=args.wait)]


async def _answer(sim: Simulator, args: argparse.Namespace) -> Any:
    pending = await _choose(sim, args.message_id, args.wait)
    numbers = pending.notification.numbers
    if args.approve and numbers and args.number is None:
        shown = ", ".join(str(n) for n in numbers)
        raise SimulatorError(f"this notification asks for a number: pass --number ({shown})")
    status = await sim.answer(pending, approve=args.approve, number=args.number)
    if status != 200:
        raise SimulatorError(f"the server refused the answer (HTTP {status})")
    return {"messageId": pending.message_id, "answer": "approved" if args.approve else "denied"}


async def _choose(sim: Simulator, message_id: str | None, wait: float) -> Pending:
    deadline = time.monotonic() + wait
    while True:
        pending = await sim.notifications(wait=max(0.0, deadline - time.monotonic()))
        if message_id:
            pending = [p for p in pending if p.message_id == message_id]
        if pending:
            return max(pending, key=lambda p: p.notification.created_at_ms)
        if time.monotonic() >= deadline:
            raise SimulatorError(
                "no pending notification" + (f" {message_id}" if message_id else "")
            )


async def _refresh(sim: Simulator, args: argparse.Namespace) -> Any:
    account = sim.load().find(args.account)
    if not isinstance(account, PushAccount):
        raise WalletError(f"{args.account!r} is not a push account")
    status = await sim.refresh(account, new_token=args.token)
    if status != 200:
        raise SimulatorError(f"the server refused the refresh (HTTP {status})")
    return {"account": account.account_id, "refreshed": True}


async def _run(sim: Simulator, args: argparse.Namespace) -> Any:
    number_for = (lambda _pending: args.number) if args.number is not None else None
    return await sim.run(
        args.auto,
        until=time.monotonic() + args.seconds,
        number_for=number_for,
        limit=args.count,
    )


async def _gateway(args: argparse.Namespace) -> int:
    from authenticator_sim.gateway import Gateway  # noqa: PLC0415 - heavy, and only here

    gateway = Gateway(
        args.dir,
        host=args.host,
        apns_port=args.apns_port,
        fcm_port=args.fcm_port,
        control_port=args.control_port,
        strict_token_updates=not args.lenient_tokens,
    )
    await gateway.start()
    env = gateway.pushd_env()
    if args.json:
        sys.stdout.write(json.dumps({"control": gateway.control_url, "pushd_env": env}) + "\n")
    else:
        sys.stdout.write(f"# authsim gateway: control {gateway.control_url}\n")
        sys.stdout.write("# point pushd at it with:\n")
        sys.stdout.writelines(f"export {k}={v}\n" for k, v in env.items())
    sys.stdout.flush()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await gateway.stop()
    return 0


def _account_view(account: PushAccount | OathAccount) -> dict[str, object]:
    kind = "push" if isinstance(account, PushAccount) else account.kind
    return {
        "id": account.account_id,
        "type": kind,
        "issuer": account.issuer,
        "account": account.account,
        "platform": "ios" if account.ios else "android",
    }


def _print(args: argparse.Namespace, result: Any) -> None:
    if args.json:
        sys.stdout.write(json.dumps(result) + "\n")
        return
    rows = result if isinstance(result, list) else [result]
    if not rows:
        sys.stdout.write("(none)\n")
    for row in rows:
        sys.stdout.write("  ".join(f"{k}={v}" for k, v in row.items() if v is not None) + "\n")


def _print_error(args: argparse.Namespace, message: str) -> None:
    if getattr(args, "json", False):
        sys.stdout.write(json.dumps({"error": message}) + "\n")
    sys.stderr.write(f"authsim: {message}\n")
