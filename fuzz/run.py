"""Run every atheris harness for a bounded time, one after another: ``make fuzz``.

    python fuzz/run.py [--seconds 60] [--only jws,records] [--jobs 1] [--out DIR]

Each harness starts from its seeds (tests/fuzz/seeds.py) plus the corpus it kept from the
last run under ``--out`` (default: .fuzz/ in the repository, never committed), with a
10-second per-input timeout so that a hang is reported as one. Prints one line per harness
(executions, coverage, features, corpus size) and exits 1 if any harness crashed, with the
crashing input under ``--out/artifacts/``: file it in tests/fuzz/crashes/<target>/.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import _common  # noqa: F401 (puts the repository on sys.path)

from tests.fuzz.seeds import DEVICE_ENDPOINT_SEEDS, SEEDS

HERE = Path(__file__).resolve().parent
HARNESSES = sorted(p.stem.removeprefix("fuzz_") for p in HERE.glob("fuzz_*.py"))
_STATUS = re.compile(r"#(\d+)\s+\w+\s+cov: (\d+) ft: (\d+) corp: (\d+)/")


@dataclass
class Outcome:
    name: str
    seconds: float
    runs: int = 0
    cov: int = 0
    ft: int = 0
    corpus: int = 0
    crashed: bool = False
    detail: str = ""

    def line(self) -> str:
        verdict = "CRASH" if self.crashed else "ok"
        return (
            f"{self.name:<16} {verdict:<5} {self.runs:>9} runs in {self.seconds:5.0f} s"
            f"  ({self.runs / max(self.seconds, 1e-9):7.0f}/s)  cov {self.cov:>5}"
            f"  ft {self.ft:>6}  corpus {self.corpus:>5}{self.detail}"
        )


def run_one(name: str, seconds: int, out: Path, extra: list[str]) -> Outcome:
    corpus = out / "corpus" / name
    corpus.mkdir(parents=True, exist_ok=True)
    artifacts = out / "artifacts" / name
    artifacts.mkdir(parents=True, exist_ok=True)
    for seed in seeds_for(name):  # the seeds, next to what earlier runs kept
        (corpus / hashlib.sha1(seed).hexdigest()).write_bytes(seed)  # noqa: S324 (a name)
    command = [
        sys.executable, str(HERE / f"fuzz_{name}.py"), str(corpus),
        f"-max_total_time={seconds}", "-timeout=10", f"-artifact_prefix={artifacts}/",
        "-print_final_stats=1", *extra,
    ]  # fmt: skip
    started = time.monotonic()
    log = out / f"{name}.log"
    with log.open("wb") as sink:
        code = subprocess.run(command, stdout=sink, stderr=subprocess.STDOUT, check=False)  # noqa: S603
    outcome = Outcome(name, time.monotonic() - started)
    text = log.read_text(errors="replace")
    for match in _STATUS.finditer(text):
        outcome.runs, outcome.cov, outcome.ft, outcome.corpus = map(int, match.groups())
    if code.returncode != 0:
        outcome.crashed = True
        found = sorted(artifacts.iterdir())
        outcome.detail = f"  -> {found[-1] if found else log}"
    return outcome


def seeds_for(name: str) -> list[bytes]:
    chosen = DEVICE_ENDPOINT_SEEDS if name == "device_endpoint" else SEEDS[name]()
    return [bytes(seed) for seed in chosen]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=60, help="per harness (default 60)")
    parser.add_argument("--only", default="", help="comma-separated harness names")
    parser.add_argument("--jobs", type=int, default=1, help="harnesses run at once")
    parser.add_argument("--out", type=Path, default=HERE.parent / ".fuzz")
    args, extra = parser.parse_known_args()
    names = [n for n in HARNESSES if not args.only or n in args.only.split(",")]
    print(f"fuzzing {len(names)} harnesses for {args.seconds} s each: {', '.join(names)}")  # noqa: T201
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        outcomes = list(pool.map(lambda n: run_one(n, args.seconds, args.out, extra), names))
    for outcome in outcomes:
        print(outcome.line())  # noqa: T201
    return 1 if any(o.crashed for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
