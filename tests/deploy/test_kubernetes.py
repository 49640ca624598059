"""deploy/kubernetes/: each manifest validated against Kubernetes's own schemas (the
kubernetes-validate package bundles them: offline, --strict), then checked against pushd:
probe paths are routes pushd serves, ports and env names are pushd's, selectors agree."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from pushd.app import make_app
from pushd.settings import Settings
from tests.deploy.support import DEPLOY, PUSHD_UID, setting_names, tool

K8S = DEPLOY / "kubernetes"
# The versions still supported by the main managed services, and the schemas' newest.
KUBERNETES_VERSIONS = ("1.29.0", "1.33.0", "1.37.0")

Doc = dict[str, Any]


def documents(path: Path) -> list[Doc]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]


@pytest.fixture(scope="module")
def kustomization() -> Doc:
    (doc,) = documents(K8S / "kustomization.yaml")
    return doc


@pytest.fixture(scope="module")
def resources(kustomization: Doc) -> dict[str, Doc]:
    """What `kubectl apply -k` creates, by kind (each kind once)."""
    found: dict[str, Doc] = {}
    for name in kustomization["resources"]:
        for doc in documents(K8S / name):
            assert doc["kind"] not in found
            found[doc["kind"]] = doc
    return found


def manifest_files() -> list[Path]:
    return sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_manifest_validates_against_the_kubernetes_schemas(version: str) -> None:
    validate = tool(
        "kubernetes-validate", hint="pip install kubernetes-validate (a dev dependency)"
    )
    result = subprocess.run(  # noqa: S603 - the validator, on our files
        [str(validate), "--strict", "--kubernetes-version", version,
         *[str(p) for p in manifest_files()]],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ERROR" not in result.stdout + result.stderr


def test_kustomize_lists_every_resource_but_the_secret_example(kustomization: Doc) -> None:
    listed = set(kustomization["resources"])
    assert listed == {p.name for p in manifest_files()} - {"secret.example.yaml"}
    assert "namespace" not in kustomization, "namespace-agnostic"
    for path in manifest_files():
        for doc in documents(path):
            assert "namespace" not in doc["metadata"], path.name


def pod(resources: dict[str, Doc]) -> Doc:
    spec: Doc = resources["Deployment"]["spec"]["template"]["spec"]
    return spec


def container(resources: dict[str, Doc]) -> Doc:
    (only,) = pod(resources)["containers"]
    result: Doc = only
    return result


def test_probes_ask_routes_pushd_serves(resources: dict[str, Doc], tmp_path: Path) -> None:
    app = make_app(Settings(data_dir=tmp_path))
    get_routes = {
        r.resource.canonical for r in app.router.routes() if r.method == "GET" and r.resource
    }
    c = container(resources)
    assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert c["startupProbe"]["httpGet"]["path"] == "/healthz"
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert c[probe]["httpGet"]["path"] in get_routes
        assert c[probe]["httpGet"]["port"] == "http"


def test_the_port_is_pushd_s(resources: dict[str, Doc]) -> None:
    (port,) = container(resources)["ports"]
    config = resources["ConfigMap"]["data"]
    assert port["containerPort"] == Settings().port == int(config["PUSHD_PORT"])
    assert port["name"] == "http"
    (service_port,) = resources["Service"]["spec"]["ports"]
    assert service_port["targetPort"] == "http"
    assert resources["Deployment"]["spec"]["template"]["metadata"]["annotations"][
        "prometheus.io/port"
    ] == str(port["containerPort"])


def test_every_environment_name_is_a_pushd_setting(resources: dict[str, Doc]) -> None:
    known = setting_names().keys()
    config = resources["ConfigMap"]
    assert set(config["data"]) <= known
    commented = re.findall(
        r"^\s*#\s*(PUSHD_\w+):", (K8S / "configmap.yaml").read_text("utf-8"), re.MULTILINE
    )
    assert set(commented) <= known
    secrets = {d["metadata"]["name"]: d for d in documents(K8S / "secret.example.yaml")}
    assert set(secrets["pushd-secrets"]["stringData"]) <= known
    c = container(resources)
    assert {e["name"] for e in c.get("env", [])} <= known
    sources = {next(iter(s.values()))["name"] for s in c["envFrom"]}
    assert sources == {config["metadata"]["name"], "pushd-secrets"}
    for name in secrets["pushd-secrets"]["stringData"]:
        assert setting_names()[name].metadata["secret"], f"{name} belongs in the ConfigMap"


def test_the_secret_example_is_only_placeholders() -> None:
    for doc in documents(K8S / "secret.example.yaml"):
        for name, value in doc["stringData"].items():
            assert value == "" or "REPLACE_ME" in value, name
    secrets = {d["metadata"]["name"]: d for d in documents(K8S / "secret.example.yaml")}
    key = secrets["pushd-secrets"]["stringData"]["PUSHD_MASTER_KEY"]
    assert not re.fullmatch(r"[0-9a-fA-F]{64}", key), "pushd must refuse to start with it"


def test_hardened_pod(resources: dict[str, Doc]) -> None:
    spec = pod(resources)
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] == PUSHD_UID
    assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    assert spec["automountServiceAccountToken"] is False
    security = container(resources)["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    mounts = {m["mountPath"]: m["name"] for m in container(resources)["volumeMounts"]}
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]]  # noqa: S108 - a mount point
    assert "emptyDir" in volumes[mounts["/var/lib/pushd"]]
    assert resources["ConfigMap"]["data"]["PUSHD_DATA_DIR"] == "/var/lib/pushd"


def test_graceful_stop_fits_the_grace_period(resources: dict[str, Doc]) -> None:
    spec = pod(resources)
    pre_stop = container(resources)["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    drain = float(resources["ConfigMap"]["data"]["PUSHD_DRAIN_TIMEOUT"])
    assert spec["terminationGracePeriodSeconds"] > drain + float(pre_stop[1])


def test_resources_follow_the_benchmarks(resources: dict[str, Doc]) -> None:
    limits = container(resources)["resources"]["limits"]
    requests = container(resources)["resources"]["requests"]
    mib = {"Mi": 1, "Gi": 1024}
    limit = int(limits["memory"][:-2]) * mib[limits["memory"][-2:]]
    cap = int(resources["ConfigMap"]["data"]["PUSHD_MAX_CONNECTIONS"])
    # README: 10,000 waiters take 217 MiB, 16 KiB each over a ~60 MiB process; plus room for
    # argon2id checks (64 MiB each) running at once.
    assert cap * 16 / 1024 + 64 + 4 * 64 <= limit
    assert "cpu" in requests, "the HPA scales on CPU utilisation of the request"


def test_selectors_agree(resources: dict[str, Doc]) -> None:
    deployment = resources["Deployment"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert selector.items() <= labels.items()
    assert resources["Service"]["spec"]["selector"].items() <= labels.items()
    assert resources["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"] == selector
    assert resources["PodDisruptionBudget"]["spec"]["minAvailable"] == 1
    target = resources["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])
    hpa = resources["HorizontalPodAutoscaler"]
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["minReplicas"] == deployment["spec"]["replicas"] == 2
    (metric,) = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"
    for constraint in pod(resources)["topologySpreadConstraints"]:
        assert constraint["labelSelector"]["matchLabels"] == selector


def test_the_image_is_named_for_kustomize(kustomization: Doc, resources: dict[str, Doc]) -> None:
    (image,) = kustomization["images"]
    assert container(resources)["image"].split(":")[0] == image["name"]
