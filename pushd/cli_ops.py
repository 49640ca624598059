"""``pushd check`` (see ``probe``) and ``pushd keys``: master-key rotation."""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
from typing import Any

from pushd.app import open_store, open_vault
from pushd.keys import key_id_of, load_master_key
from pushd.probe import add_check_command
from pushd.services.rekey import census, reseal
from pushd.settings import Settings


def add_operations_commands(commands: Any) -> None:
    add_check_command(commands)
    keys = commands.add_parser("keys", help="master keys: new, status, reseal (rotation)")
    actions = keys.add_subparsers(required=True, metavar="ACTION")
    actions.add_parser("new", help="print a new random master key (64 hex)").set_defaults(
        run=_new_key
    )
    actions.add_parser("status", help="how many sealed values each master key holds").set_defaults(
        run=_key_status
    )
    actions.add_parser(
        "reseal", help="re-encrypt every stored secret under PUSHD_MASTER_KEY (safe while serving)"
    ).set_defaults(run=_reseal)


def _new_key(_settings: Settings, _args: argparse.Namespace) -> int:
    key = secrets.token_hex(32)
    sys.stdout.write(key + "\n")
    sys.stderr.write(f"key id {key_id_of(bytes.fromhex(key)).hex()}\n")
    return 0


def _key_roles(settings: Settings) -> dict[str, str]:
    current = load_master_key(settings.master_key, settings.data_dir)
    roles = {key_id_of(current).hex(): "current (seals)"}
    for other in settings.other_keys:
        roles.setdefault(key_id_of(bytes.fromhex(other)).hex(), "other (opens only)")
    return roles


def _key_status(settings: Settings, _args: argparse.Namespace) -> int:
    async def run() -> int:
        store = await open_store(settings)
        try:
            counts = await census(store)
        finally:
            await store.close()
        roles = _key_roles(settings)
        sys.stdout.write(f"{'key id':<10} {'sealed values':>13}  role\n")
        for key_id in sorted(roles.keys() | counts.keys()):
            role = roles.get(key_id, "NOT CONFIGURED: these values cannot be opened")
            sys.stdout.write(f"{key_id:<10} {counts.get(key_id, 0):>13}  {role}\n")
        return 0

    return asyncio.run(run())


def _reseal(settings: Settings, _args: argparse.Namespace) -> int:
    async def run() -> int:
        store = await open_store(settings)
        try:
            report = await reseal(store, open_vault(settings))
        finally:
            await store.close()
        sys.stderr.write(
            f"re-sealed {report.values} value(s) in {report.records} record(s) under the"
            " current key\n"
        )
        if report.unopened:
            sys.stderr.write(
                f"{report.unopened} value(s) are sealed under a key that is not configured:"
                " add it to PUSHD_OTHER_MASTER_KEYS and run again\n"
            )
            return 1
        return 0

    return asyncio.run(run())
