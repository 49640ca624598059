"""What every harness shares: the repository on ``sys.path``, pushd and mfa_core imported
under atheris's coverage instrumentation, and a corpus seeded with valid inputs.

``python fuzz/fuzz_X.py [CORPUS_DIR ...] [-runs=N] [-max_total_time=S] [libFuzzer flags]``.
Without a corpus directory a temporary one is made from tests/fuzz/seeds.py. The property
each harness checks lives in tests/fuzz/targets.py, shared with the Hypothesis tests; a
crash is any exception out of it (libFuzzer writes the input to ``crash-<sha1>``).
"""

from __future__ import annotations

import hashlib
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import atheris  # noqa: E402 (after the path: the harness runs as a script)

INSTRUMENTED = ["mfa_core", "pushd"]


def seeded_corpus(target: str, seeds: Iterable[bytes]) -> str:
    corpus = Path(tempfile.mkdtemp(prefix=f"pushd-fuzz-{target}-"))
    for seed in seeds:
        (corpus / hashlib.sha1(seed).hexdigest()).write_bytes(seed)  # noqa: S324 (a name)
    return str(corpus)


def fuzz(target: str, check: Callable[[bytes], None], seeds: Iterable[bytes]) -> None:
    """Hand ``check`` to libFuzzer, with a seeded corpus unless the command line names one."""
    argv = list(sys.argv)
    if not any(not arg.startswith("-") for arg in argv[1:]):
        argv.append(seeded_corpus(target, seeds))
    atheris.Setup(argv, check)
    atheris.Fuzz()


def main(target: str) -> None:
    """A pure target: one of tests.fuzz.targets.BYTE_TARGETS."""
    with atheris.instrument_imports(include=INSTRUMENTED):
        from tests.fuzz.seeds import SEEDS  # noqa: PLC0415 (instrumented: imported here)
        from tests.fuzz.targets import BYTE_TARGETS  # noqa: PLC0415
    fuzz(target, BYTE_TARGETS[target], SEEDS[target]())
