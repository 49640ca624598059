"""Shared by the deploy/ tests: paths, the external validators, and pushd's real names."""

from __future__ import annotations

import dataclasses
import os
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

import promql_parser
import pytest
from prometheus_client import Counter, Gauge, Histogram

from pushd.metrics import Metrics
from pushd.settings import ENV_PREFIX, Settings

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
VENV_BIN = Path(sys.executable).parent
PUSHD_UID = 10001
# Labels Prometheus adds to every scraped series, and the bucket label of histograms.
TARGET_LABELS = frozenset({"job", "instance"})


def tool(name: str, *, hint: str) -> Path:
    """An external validator: from the virtual environment (PyPI) or PATH (apt). Missing, the
    test is skipped, except in CI (CI=true), where a skipped validator would hide a failure."""
    found = VENV_BIN / name if (VENV_BIN / name).exists() else None
    found = found or (Path(p) if (p := shutil.which(name)) else None)
    if found is None:
        message = f"{name} is not installed ({hint})"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


# Read by load_settings besides the settings themselves: the TOML file to read them from.
CONFIG_VARIABLE = ENV_PREFIX + "CONFIG"


def setting_names() -> dict[str, dataclasses.Field[object]]:
    """Every pushd setting by its environment name."""
    return {ENV_PREFIX + f.name.upper(): f for f in dataclasses.fields(Settings)}


def metric_labels() -> dict[str, frozenset[str]]:
    """Every series name a live pushd registry exposes, with its labels (Prometheus's target
    labels included): counters as NAME_total, histograms as NAME_bucket/_count/_sum."""
    series: dict[str, frozenset[str]] = {}
    for collector in vars(Metrics()).values():
        if not isinstance(collector, Counter | Gauge | Histogram):
            continue
        (family,) = collector.describe()
        labels = frozenset(collector._labelnames) | TARGET_LABELS
        if isinstance(collector, Counter):
            series[f"{family.name}_total"] = labels
        elif isinstance(collector, Histogram):
            series[f"{family.name}_bucket"] = labels | {"le"}
            series[f"{family.name}_count"] = labels
            series[f"{family.name}_sum"] = labels
        else:
            series[family.name] = labels
    return series


def selectors(expr: promql_parser.Expr) -> list[promql_parser.VectorSelector]:
    found: list[promql_parser.VectorSelector] = []

    def visit(node: promql_parser.Expr) -> bool:
        if isinstance(node, promql_parser.VectorSelector):
            found.append(node)
        return True

    promql_parser.walk(expr, visit)
    return found


def promql_problems(query: str, known: Mapping[str, frozenset[str]]) -> list[str]:
    """What in ``query`` names a series or a label that ``known`` does not have: every
    selector's metric and matchers, and every by/without/on/ignoring label list (checked
    against the selectors beneath it)."""
    expr = promql_parser.parse(query)
    problems: list[str] = []

    def labels_below(node: promql_parser.Expr) -> frozenset[str]:
        return frozenset().union(*(known.get(s.name or "", frozenset()) for s in selectors(node)))

    def visit(node: promql_parser.Expr) -> bool:
        if isinstance(node, promql_parser.VectorSelector):
            labels = known.get(node.name or "")
            if labels is None:
                problems.append(f"unknown series {node.name!r}")
            else:
                problems.extend(
                    f"{node.name} has no label {m.name!r}"
                    for m in node.matchers.matchers
                    if m.name not in labels
                )
        grouping: list[str] = []
        if isinstance(node, promql_parser.AggregateExpr) and node.modifier is not None:
            grouping = node.modifier.labels
        if isinstance(node, promql_parser.BinaryExpr) and node.modifier is not None:
            matching = node.modifier.matching
            grouping = [*(matching.labels if matching else []), *(node.modifier.group_labels or [])]
        if grouping:
            available = labels_below(node)
            problems.extend(
                f"no series below has label {g!r}" for g in grouping if g not in available
            )
        return True

    promql_parser.walk(expr, visit)
    return problems
