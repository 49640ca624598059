"""``python -m bench [--quick] [NAME ...]``: run the benchmarks and print one table."""

from __future__ import annotations

import argparse
import asyncio
import os
import platform

from bench import delivery, http, otp, push_cycle, scale_out, waiters
from bench.common import Row, print_table

BENCHES = {
    "http": http.run,
    "waiters": waiters.run,
    "delivery": delivery.run,
    "push_cycle": push_cycle.run,
    "scale_out": scale_out.run,
    "otp": otp.run,
}


async def main() -> None:
    parser = argparse.ArgumentParser(prog="bench")
    parser.add_argument("--quick", action="store_true", help="tiny counts (CI: proves it runs)")
    parser.add_argument("names", nargs="*", choices=[*BENCHES, []], help="default: all")
    args = parser.parse_args()
    rows: list[Row] = []
    for name in args.names or BENCHES:
        rows += await BENCHES[name](quick=args.quick)
    machine = f"{platform.machine()}, {os.cpu_count()} cores"
    print(f"machine: {machine}, Python {platform.python_version()}")
    print_table(rows)


asyncio.run(main())
