"""deploy/grafana/: the dashboard is valid JSON whose every query names only pushd's series
and labels, on the datasource Grafana is provisioned with."""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from tests.deploy.support import DEPLOY, TARGET_LABELS, metric_labels, promql_problems

GRAFANA = DEPLOY / "grafana"
# Grafana's variables, replaced by what they stand for before a query is parsed.
VARIABLES = {r"\$__rate_interval": "1m", r"\$__interval": "1m", r"\$instance": ".*"}


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((GRAFANA / "pushd.json").read_text(encoding="utf-8"))
    return loaded


def datasource_uid() -> str:
    provisioning = GRAFANA / "provisioning" / "datasources" / "prometheus.yaml"
    (source,) = yaml.safe_load(provisioning.read_text(encoding="utf-8"))["datasources"]
    assert source["type"] == "prometheus"
    uid: str = source["uid"]
    return uid


def concrete(expr: str) -> str:
    for variable, value in VARIABLES.items():
        expr = re.sub(variable, value, expr)
    assert "$" not in expr, f"an unknown variable in {expr}"
    return expr


def test_every_query_uses_pushd_s_metrics_on_the_provisioned_datasource() -> None:
    uid = datasource_uid()
    known = {**metric_labels(), "up": TARGET_LABELS}
    queried = set()
    for panel in dashboard()["panels"]:
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": uid}, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == uid
            assert promql_problems(concrete(target["expr"]), known) == [], panel["title"]
            queried.update(re.findall(r"pushd_\w+", target["expr"]))
    (variable,) = dashboard()["templating"]["list"]
    assert variable["datasource"]["uid"] == uid
    # Every family pushd exposes is on the dashboard.
    families = {re.sub(r"_(bucket|count|sum)$", "", s) for s in metric_labels()}
    assert families <= {re.sub(r"_(bucket|count|sum)$", "", q) for q in queried}


def test_panels_have_unique_ids_and_titles() -> None:
    panels = dashboard()["panels"]
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids))
    titles = [p["title"] for p in panels if p["type"] != "row"]
    assert len(titles) == len(set(titles))


def test_the_dashboard_is_what_the_provider_loads() -> None:
    board = dashboard()
    assert board["uid"] == "pushd"
    assert board.get("id") is None, "Grafana assigns the id"
    providers = GRAFANA / "provisioning" / "dashboards" / "pushd.yaml"
    (provider,) = yaml.safe_load(providers.read_text(encoding="utf-8"))["providers"]
    assert provider["type"] == "file"
