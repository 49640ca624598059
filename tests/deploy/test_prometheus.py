"""deploy/prometheus/: `promtool check rules|config` and the alerts' unit tests (Debian's
prometheus package ships promtool); every expression names only series and labels a live
pushd registry exposes; every alert has a runbook section in docs/operations.md."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import generate_latest

from pushd.metrics import Metrics
from tests.deploy.support import DEPLOY, REPO, TARGET_LABELS, metric_labels, promql_problems, tool

PROMETHEUS = DEPLOY / "prometheus"
ALERTS = PROMETHEUS / "alerts.yaml"
OPERATIONS = REPO / "docs" / "operations.md"
# Besides pushd's own series, the alerts may use Prometheus's per-target `up`.
SCRAPE_SERIES = {"up": TARGET_LABELS}


def rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))["groups"]
    return [rule for group in groups for rule in group["rules"]]


def promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    binary = tool("promtool", hint="apt-get install prometheus (it ships promtool)")
    return subprocess.run(  # noqa: S603 - Prometheus's own checker, on our files
        [str(binary), *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def test_promtool_checks_the_rules_and_the_config() -> None:
    for args in (("check", "rules", "alerts.yaml"), ("check", "config", "prometheus.yml")):
        result = promtool(*args, cwd=PROMETHEUS)
        assert result.returncode == 0, result.stdout + result.stderr


def test_the_alerts_unit_tests_pass(tmp_path: Path) -> None:
    """alerts.test.yaml, against the rules without annotations (promtool compares those
    verbatim; their templates are checked above)."""
    stripped = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    for group in stripped["groups"]:
        for rule in group["rules"]:
            rule.pop("annotations", None)
    (tmp_path / "alerts.yaml").write_text(yaml.safe_dump(stripped, sort_keys=False), "utf-8")
    shutil.copy(PROMETHEUS / "alerts.test.yaml", tmp_path / "alerts.test.yaml")
    result = promtool("test", "rules", "alerts.test.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_is_unit_tested() -> None:
    tests = yaml.safe_load((PROMETHEUS / "alerts.test.yaml").read_text(encoding="utf-8"))
    firing = {
        case["alertname"]
        for test in tests["tests"]
        for case in test["alert_rule_test"]
        if case["exp_alerts"]
    }
    assert firing == {rule["alert"] for rule in rules()}


def test_the_known_series_are_what_pushd_exposes() -> None:
    exposed = generate_latest(Metrics().registry).decode()
    families = set(re.findall(r"^# TYPE (\S+) ", exposed, re.MULTILINE))
    for series in metric_labels():
        assert re.sub(r"_(bucket|count|sum)$", "", series) in families or series in families


@pytest.mark.parametrize("rule", rules(), ids=lambda r: str(r["alert"]))
def test_each_alert_uses_only_pushd_s_metrics_and_labels(rule: dict[str, Any]) -> None:
    known = {**metric_labels(), **SCRAPE_SERIES}
    assert promql_problems(rule["expr"], known) == []
    assert 'job="pushd"' in rule["expr"]


def github_anchors(markdown: str) -> set[str]:
    """The anchors GitHub gives a document's headings."""
    anchors = set()
    for heading in re.findall(r"^#{1,6} (.+)$", markdown, re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        anchors.add(slug)
    return anchors


@pytest.mark.parametrize("rule", rules(), ids=lambda r: str(r["alert"]))
def test_each_alert_is_explained_with_a_runbook(rule: dict[str, Any]) -> None:
    annotations = rule["annotations"]
    assert annotations["summary"]
    assert annotations["description"]
    assert rule["labels"]["severity"] in {"warning", "critical"}
    page, _, anchor = annotations["runbook_url"].partition("#")
    assert page == "docs/operations.md"
    assert anchor == rule["alert"].lower()
    assert anchor in github_anchors(OPERATIONS.read_text(encoding="utf-8"))


def test_anchors_are_made_as_github_makes_them() -> None:
    assert github_anchors("## Backup and restore: Redis\n### PushdInstanceDown\n") == {
        "backup-and-restore-redis", "pushdinstancedown",
    }  # fmt: skip
