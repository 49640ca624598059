"""The one rule: dependencies point inward, and mfa_core stays pure."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# I/O, clocks, randomness and process state: mfa_core is handed what it needs.
FORBIDDEN_IN_CORE = {
    "asyncio", "aiohttp", "redis", "msgpack", "socket", "ssl", "http", "urllib.request",
    "subprocess", "threading", "multiprocessing", "os", "sys", "time", "datetime", "random",
    "secrets", "logging", "sqlite3", "pickle", "pushd", "authenticator_sim",
}  # fmt: skip


def python_files(package: str, root: Path = ROOT) -> Iterator[Path]:
    yield from sorted((root / package).rglob("*.py"))


def imported_modules(tree: ast.AST) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def is_forbidden(module: str, forbidden: set[str]) -> bool:
    return any(module == name or module.startswith(name + ".") for name in forbidden)


def violations(
    package: str, forbidden: set[str], root: Path = ROOT, *, pure: bool = True
) -> list[str]:
    found = []
    for path in python_files(package, root):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        found += [
            f"{path.name}: import {m}" for m in imported_modules(tree) if is_forbidden(m, forbidden)
        ]
        for node in ast.walk(tree) if pure else ():
            if isinstance(node, ast.Attribute) and node.attr in {"environ", "getenv"}:
                found.append(f"{path.name}:{node.lineno}: reads the environment")
            if isinstance(node, ast.Name) and node.id in {"open", "print", "input"}:
                found.append(f"{path.name}:{node.lineno}: {node.id}()")
    return found


def test_mfa_core_is_pure() -> None:
    assert list(python_files("mfa_core")), "mfa_core not found"
    assert violations("mfa_core", FORBIDDEN_IN_CORE) == []


@pytest.mark.parametrize(
    ("package", "other"), [("pushd", "authenticator_sim"), ("authenticator_sim", "pushd")]
)
def test_pushd_and_authsim_never_import_each_other(package: str, other: str) -> None:
    assert violations(package, {other}, pure=False) == []


def test_the_checker_catches_what_it_forbids(tmp_path: Path) -> None:
    (tmp_path / "core").mkdir()
    (tmp_path / "core" / "bad.py").write_text(
        "import asyncio\nfrom redis.asyncio import Redis\nimport osmosis\n"
        "x = os.environ['A']\nprint(1)\n"
    )
    assert violations("core", FORBIDDEN_IN_CORE, root=tmp_path) == [
        "bad.py: import asyncio",
        "bad.py: import redis.asyncio",
        "bad.py:4: reads the environment",
        "bad.py:5: print()",
    ]
