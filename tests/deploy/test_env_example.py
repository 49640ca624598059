"""deploy/pushd.env.example lists every pushd setting once, at its default, and nothing else.

A line ``#PUSHD_NAME=value`` shows a setting at its default; an uncommented ``PUSHD_NAME=``
with an empty value is a secret to fill in. Values are read with pushd's own conversion."""

from __future__ import annotations

import re

import pytest

from pushd.settings import ENV_PREFIX, load_settings
from tests.deploy.support import DEPLOY, setting_names

EXAMPLE = DEPLOY / "pushd.env.example"
SETTING_LINE = re.compile(r"^(#?)(" + ENV_PREFIX + r"[A-Z0-9_]+)=(.*)$")


def entries() -> list[tuple[bool, str, str]]:
    """(commented, name, value) for every setting line."""
    found = []
    for line in EXAMPLE.read_text(encoding="utf-8").splitlines():
        match = SETTING_LINE.match(line)
        if match:
            found.append((match.group(1) == "#", match.group(2), match.group(3)))
        else:
            assert not line or line.startswith("# ") or line == "#", f"unexpected line: {line!r}"
    return found


def test_every_setting_appears_exactly_once() -> None:
    names = [name for _, name, _ in entries()]
    assert sorted(names) == sorted(set(names)), "a setting appears twice"
    assert set(names) == set(setting_names()), "out of step with pushd/settings.py"


@pytest.mark.parametrize(("commented", "name", "value"), entries(), ids=str)
def test_each_shows_its_default(commented: bool, name: str, value: str) -> None:
    field = setting_names()[name]
    assert getattr(load_settings({name: value}), field.name) == field.default, name
    secret = bool(field.metadata["secret"])
    # A secret is an empty line to fill in; every other setting is commented at its default.
    assert commented is not secret, name
    if secret:
        assert value == ""


def test_each_setting_is_explained() -> None:
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    for index, line in enumerate(lines):
        if SETTING_LINE.match(line):
            assert lines[index - 1].startswith("# "), f"no comment above {line}"


def test_grouped_like_the_settings() -> None:
    """In the order of pushd/settings.py, under its section headings."""
    order = [name for _, name, _ in entries()]
    assert order == list(setting_names())
    source = (DEPLOY.parent / "pushd" / "settings.py").read_text(encoding="utf-8")
    sections = re.findall(r"^\s+# --- (.+) ---$", source, re.MULTILINE)
    text = EXAMPLE.read_text(encoding="utf-8")
    assert all(f"\n# {section}\n" in text for section in sections)
