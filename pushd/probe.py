"""``pushd check``: the health probe behind HEALTHCHECK and exec probes.

It runs every few seconds in every container, so it imports nothing but the settings and
the standard library (the whole daemon costs a second of CPU to import).
"""

from __future__ import annotations

import argparse
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pushd.settings import Settings, SettingsError, load_settings

WILDCARD_HOSTS = {"", "0.0.0.0", "::"}  # noqa: S104 - names the wildcard to avoid it


def add_check_command(commands: Any) -> None:
    check = commands.add_parser(
        "check", help="health probe: exit 0 when this instance is ready (HEALTHCHECK, probes)"
    )
    check.add_argument("--url", help="URL to probe (default: this instance's /readyz)")
    check.add_argument("--live", action="store_true", help="probe /healthz (alive) instead")
    check.add_argument("--timeout", type=float, default=3.0, help="seconds to wait [3]")
    check.set_defaults(run=check_command)


def main(argv: Sequence[str] | None = None) -> int:
    """``pushd``: the probe without importing the daemon; every other command with it."""
    args = list(sys.argv[1:] if argv is None else argv)
    if _command_of(args) != "check":
        from pushd.cli import main as full_main  # noqa: PLC0415 - the heavy import, deferred

        return full_main(args)
    parser = argparse.ArgumentParser(prog="pushd")
    parser.add_argument("--config", type=Path)
    add_check_command(parser.add_subparsers(required=True))
    parsed = parser.parse_args(args)
    try:
        settings = load_settings(config_file=parsed.config)
    except SettingsError as e:
        parser.exit(2, f"pushd: {e}\n")
    return check_command(settings, parsed)


def _command_of(args: list[str]) -> str | None:
    skip_value = False
    for arg in args:
        if skip_value:
            skip_value = False
        elif arg == "--config":
            skip_value = True
        elif not arg.startswith("-"):
            return arg
    return None


def probe_url(settings: Settings, *, live: bool) -> str:
    host = "127.0.0.1" if settings.host in WILDCARD_HOSTS else settings.host
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.port}/{'healthz' if live else 'readyz'}"


def check_command(settings: Settings, args: argparse.Namespace) -> int:
    url = args.url or probe_url(settings, live=args.live)
    if not url.startswith(("http://", "https://")):
        sys.stderr.write("pushd check: --url must be http:// or https://\n")
        return 2
    try:
        with urllib.request.urlopen(url, timeout=args.timeout) as response:  # noqa: S310
            status = int(response.status)
    except urllib.error.HTTPError as e:
        status = e.code
    except (OSError, ValueError) as e:
        sys.stderr.write(f"pushd check: {url}: {type(e).__name__}: {e}\n")
        return 1
    sys.stderr.write(f"pushd check: {url}: {status}\n")
    return 0 if status == 200 else 1
