"""``pushd serve | apikey | push`` — the daemon and its operator commands."""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from aiohttp import web

from pushd.app import build_context, make_app, open_store
from pushd.cli_ops import add_operations_commands
from pushd.errors import ApiError
from pushd.handlers.accounts_api import case_json
from pushd.logs import configure_logging
from pushd.server import serve
from pushd.services.api_keys import Scope, create_key, list_keys, revoke_key
from pushd.services.bundle import Services
from pushd.services.fatigue import lift_suspension
from pushd.services.users import create_user, require_user, update_account
from pushd.settings import Settings, SettingsError, describe_settings, load_settings
from pushd.store.tables import Store
from pushd.wire import user_json

log = logging.getLogger("pushd")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings(
            config_file=args.config,
            overrides={"host": getattr(args, "host", None), "port": getattr(args, "port", None)},
        )
    except SettingsError as e:
        parser.exit(2, f"pushd: {e}\n")
    command: Callable[[Settings, argparse.Namespace], int] = args.run
    return command(settings, args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pushd", description="Push authentication daemon.")
    parser.add_argument("--config", type=Path, help="TOML settings file (or PUSHD_CONFIG)")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser(
        "serve",
        help="run the daemon",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="settings (environment variables; the same names in lower case in the TOML"
        " file):\n" + describe_settings(),
    )
    serve.add_argument("--host", help="address to listen on (PUSHD_HOST)")
    serve.add_argument("--port", type=int, help="port to listen on (PUSHD_PORT)")
    serve.set_defaults(run=serve_command)

    apikey = commands.add_parser("apikey", help="API keys for login pages and operators")
    keys = apikey.add_subparsers(required=True, metavar="ACTION")
    create = keys.add_parser("create", help="create a key and print it (shown only once)")
    create.add_argument("name")
    create.add_argument("--admin", action="store_true", help="an operator key for /v1/admin")
    create.set_defaults(run=_store_command(_create_key))
    keys.add_parser("list", help="list keys (names and hints, never the keys)").set_defaults(
        run=_store_command(_list_keys)
    )
    revoke = keys.add_parser("revoke", help="revoke the keys with this name or hint")
    revoke.add_argument("name")
    revoke.set_defaults(run=_store_command(_revoke_key))

    add_operations_commands(commands)
    _add_user_commands(commands)
    _add_case_commands(commands)
    push = commands.add_parser("push", help="push operations")
    push_actions = push.add_subparsers(required=True, metavar="ACTION")
    unsuspend = push_actions.add_parser(
        "unsuspend", help="lift a user's push suspension and reset their fraud signals"
    )
    unsuspend.add_argument("username")
    unsuspend.set_defaults(run=_store_command(_unsuspend))
    return parser


def _add_user_commands(commands: Any) -> None:
    user = commands.add_parser("user", help="users: add, show, set a password, unlock, reset MFA")
    users = user.add_subparsers(required=True, metavar="ACTION")
    add = users.add_parser("add", help="create a user")
    add.add_argument("username")
    add.add_argument("--email")
    add.add_argument("--phone", help="E.164, with the country code: +44 20 7946 0958")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    add.set_defaults(run=_services_command(_add_user))
    for name, action, text in (
        ("show", _show_user, "show a user (never a secret)"),
        ("unlock", _unlock_user, "lift a user's lockouts and push suspension"),
        ("reset-mfa", _reset_mfa, "remove every device and code: set-up at next login"),
    ):
        command = users.add_parser(name, help=text)
        command.add_argument("username")
        command.set_defaults(run=_services_command(action))
    password = users.add_parser("set-password", help="set a password (read from stdin)")
    password.add_argument("username")
    password.set_defaults(run=_services_command(_set_password))


def _add_case_commands(commands: Any) -> None:
    case = commands.add_parser("case", help="manual-verification cases")
    cases = case.add_subparsers(required=True, metavar="ACTION")
    listing = cases.add_parser("list", help="cases, oldest first")
    listing.add_argument("--state", help="opened, evidence_received, approved, rejected, closed")
    listing.set_defaults(run=_services_command(_list_cases))
    show = cases.add_parser("show", help="a case and its checks")
    show.add_argument("case_id")
    show.set_defaults(run=_services_command(_show_case))
    document = cases.add_parser("document", help="write the ID document to a file to look at")
    document.add_argument("case_id")
    document.add_argument("--out", type=Path, required=True)
    document.set_defaults(run=_services_command(_case_document))
    check = cases.add_parser("check", help="record one check")
    check.add_argument("case_id")
    check.add_argument("check", choices=["names_match", "from_registered_email", "avatar_matches"])
    check.add_argument("result", choices=["pass", "fail"])
    check.add_argument("--note", default="")
    check.set_defaults(run=_services_command(_case_check))
    for decision in ("approve", "reject"):
        decide = cases.add_parser(
            decision, help=f"{decision} the case; it closes and the document is destroyed"
        )
        decide.add_argument("case_id")
        decide.add_argument("--note", default="")
        decide.set_defaults(run=_services_command(_decide_case), approve=decision == "approve")


def serve_command(settings: Settings, _args: argparse.Namespace) -> int:
    configure_logging(settings.log_level)
    try:
        import uvloop  # noqa: PLC0415 - optional speed-up

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:
        pass
    app = make_app(settings)
    app.on_startup.append(_tune_gc)
    log.info("pushd starting", extra={"url": settings.base_url, "data_dir": str(settings.data_dir)})
    serve(
        app, settings, access_log=logging.getLogger("pushd.access") if settings.access_log else None
    )
    return 0


async def _tune_gc(_app: web.Application) -> None:
    """Start-up objects never die: freeze them, and collect young objects less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)


def _store_command(
    action: Callable[[Store, argparse.Namespace], Awaitable[int]],
) -> Callable[[Settings, argparse.Namespace], int]:
    def run(settings: Settings, args: argparse.Namespace) -> int:
        async def with_store() -> int:
            store = await open_store(settings)
            try:
                return await action(store, args)
            finally:
                await store.close()

        return asyncio.run(with_store())

    return run


def _services_command(
    action: Callable[[Services, argparse.Namespace], Awaitable[int]],
) -> Callable[[Settings, argparse.Namespace], int]:
    def run(settings: Settings, args: argparse.Namespace) -> int:
        async def with_services() -> int:
            store = await open_store(settings)
            ctx = None
            try:
                ctx = await build_context(settings, store)
                return await action(Services.build(ctx), args)
            except ApiError as e:
                sys.stderr.write(f"pushd: {e.message}\n")
                return 1
            finally:
                if ctx is not None:
                    await ctx.bus.close()
                    await ctx.mailer.close()
                    await ctx.sms.close()
                await store.close()

        return asyncio.run(with_services())

    return run


async def _add_user(services: Services, args: argparse.Namespace) -> int:
    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else None
    user = await create_user(
        services.ctx,
        services.passwords,
        username=args.username,
        email=args.email,
        phone=args.phone,
        password=password,
    )
    await services.audit.record(
        "admin",
        user_id=user.user_id,
        username=user.account.username,
        actor="cli",
        detail="user created",
    )
    sys.stdout.write(json.dumps(user_json(user)) + "\n")
    return 0


async def _show_user(services: Services, args: argparse.Namespace) -> int:
    user = (await require_user(services.ctx, args.username)).record
    sys.stdout.write(json.dumps(user_json(user), indent=1) + "\n")
    return 0


async def _set_password(services: Services, args: argparse.Namespace) -> int:
    password = sys.stdin.readline().rstrip("\n")
    user = await update_account(
        services.ctx, services.passwords, args.username, {"password": password}
    )
    await services.audit.record(
        "admin",
        user_id=user.user_id,
        username=user.account.username,
        actor="cli",
        detail="password set",
    )
    sys.stderr.write(f"password set for {user.account.username}\n")
    return 0


async def _unlock_user(services: Services, args: argparse.Namespace) -> int:
    lifted = await services.admin.unlock(args.username, actor="cli")
    sys.stderr.write(f"lifted {lifted} lockout(s) or suspension(s)\n")
    return 0


async def _reset_mfa(services: Services, args: argparse.Namespace) -> int:
    await services.admin.reset_mfa(args.username, actor="cli")
    sys.stderr.write(f"MFA reset for {args.username}: set-up at the next login\n")
    return 0


async def _list_cases(services: Services, args: argparse.Namespace) -> int:
    for record in await services.cases.list(args.state):
        sys.stdout.write(json.dumps(case_json(record, operator=True)) + "\n")
    return 0


async def _show_case(services: Services, args: argparse.Namespace) -> int:
    record = await services.cases.get(args.case_id)
    sys.stdout.write(json.dumps(case_json(record, operator=True), indent=1) + "\n")
    return 0


async def _case_document(services: Services, args: argparse.Namespace) -> int:
    data, kind = await services.cases.evidence(args.case_id, actor="cli")
    fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    sys.stderr.write(f"wrote {kind} to {args.out} (mode 0600): delete it when done\n")
    return 0


async def _case_check(services: Services, args: argparse.Namespace) -> int:
    await services.cases.check(
        args.case_id, args.check, passed=args.result == "pass", note=args.note, actor="cli"
    )
    return 0


async def _decide_case(services: Services, args: argparse.Namespace) -> int:
    record = await services.cases.decide(
        args.case_id, approve=args.approve, note=args.note, actor="cli"
    )
    sys.stderr.write(f"case {args.case_id} {record.case.state}; the document is destroyed\n")
    return 0


async def _create_key(store: Store, args: argparse.Namespace) -> int:
    scope = Scope.ADMIN if args.admin else Scope.API
    key = await create_key(store, args.name, scope, now=time.time())
    sys.stdout.write(f"{key}\n")
    sys.stderr.write(f"{scope} key {args.name!r} created; it is shown only this once\n")
    return 0


async def _list_keys(store: Store, _args: argparse.Namespace) -> int:
    for record in await list_keys(store):
        created = time.strftime("%Y-%m-%d %H:%M", time.gmtime(record.created_at))
        sys.stdout.write(f"{record.hint}…\t{record.scope}\t{created}\t{record.name}\n")
    return 0


async def _revoke_key(store: Store, args: argparse.Namespace) -> int:
    count = await revoke_key(store, args.name)
    sys.stderr.write(f"revoked {count} key(s)\n")
    return 0 if count else 1


async def _unsuspend(store: Store, args: argparse.Namespace) -> int:
    user_id = await store.user_id_by("username", args.username.casefold())
    if user_id is None:
        sys.stderr.write("no such user\n")
        return 1
    await store.push_guards.mutate(user_id, lift_suspension)
    sys.stderr.write(f"push re-enabled for {args.username}\n")
    return 0
