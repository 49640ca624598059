"""deploy/systemd/pushd.service: `systemd-analyze verify` and `security` (offline; Debian's
systemd), the hardening this deployment promises, and a push cycle through APNs and FCM with
write-and-execute memory refused by the kernel, as MemoryDenyWriteExecute=yes refuses it."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from pushd.settings import Settings
from tests.deploy.support import DEPLOY, VENV_BIN, tool

UNIT = DEPLOY / "systemd" / "pushd.service"
PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN = 65, 1  # linux/prctl.h, Linux 6.3+
# pushd's own CLI, in a process that first forbids itself writable+executable memory.
UNDER_MDWE = (
    "import ctypes, sys\n"
    "if ctypes.CDLL(None, use_errno=True).prctl(65, 1, 0, 0, 0) != 0: sys.exit(77)\n"
    "from pushd.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def directives(text: str) -> dict[str, dict[str, list[str]]]:
    """Sections, each key with all its values in order (systemd allows a key many times)."""
    found: dict[str, dict[str, list[str]]] = {}
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            found[section] = {}
            continue
        key, _, value = line.partition("=")
        found[section].setdefault(key, []).append(value)
    return found


@pytest.fixture(scope="module")
def unit() -> dict[str, dict[str, list[str]]]:
    return directives(UNIT.read_text(encoding="utf-8"))


def test_runs_pushd_serve_with_the_environment_file(unit: dict[str, dict[str, list[str]]]) -> None:
    service = unit["Service"]
    assert service["ExecStart"] == ["/opt/pushd/bin/pushd serve"]
    assert service["EnvironmentFile"] == ["/etc/pushd/pushd.env"]
    assert "PUSHD_DATA_DIR=%S/pushd" in service["Environment"]
    assert service["StateDirectory"] == ["pushd"]
    assert unit["Install"]["WantedBy"] == ["multi-user.target"]


def test_stops_after_the_drain(unit: dict[str, dict[str, list[str]]]) -> None:
    service = unit["Service"]
    assert service["KillSignal"] == ["SIGTERM"]
    assert float(service["TimeoutStopSec"][0]) > Settings().drain_timeout
    assert service["Restart"] == ["on-failure"]
    assert service["LimitNOFILE"] == ["65536"]


def test_hardened(unit: dict[str, dict[str, list[str]]]) -> None:
    service = unit["Service"]
    expected = {
        "DynamicUser": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
        "PrivateTmp": "yes", "PrivateDevices": "yes", "NoNewPrivileges": "yes",
        "ProtectKernelTunables": "yes", "ProtectKernelModules": "yes",
        "ProtectKernelLogs": "yes", "ProtectControlGroups": "yes",
        "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX", "CapabilityBoundingSet": "",
        "MemoryDenyWriteExecute": "yes", "LockPersonality": "yes", "RestrictSUIDSGID": "yes",
    }  # fmt: skip
    for key, value in expected.items():
        assert service[key] == [value], key
    assert service["SystemCallFilter"][0] == "@system-service"


def runnable_copy(tmp_path: Path) -> Path:
    """The unit, run from this checkout's virtual environment (verify wants the binary)."""
    text = UNIT.read_text(encoding="utf-8").replace("/opt/pushd/bin/pushd", str(VENV_BIN / "pushd"))
    copy = tmp_path / "pushd.service"
    copy.write_text(text, encoding="utf-8")
    return copy


def test_systemd_analyze_verify_finds_nothing(tmp_path: Path) -> None:
    analyze = tool("systemd-analyze", hint="apt-get install systemd")
    result = subprocess.run(  # noqa: S603 - systemd's own checker, on our unit
        [str(analyze), "verify", "--man=no", str(runnable_copy(tmp_path))],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    # verify exits 0 on unknown keys and unparsable values, but says so: nothing may be said.
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr


def test_systemd_analyze_security_rates_it_ok(tmp_path: Path) -> None:
    analyze = tool("systemd-analyze", hint="apt-get install systemd")
    result = subprocess.run(  # noqa: S603 - systemd's own rating, on our unit
        [str(analyze), "security", "--offline=yes", "--no-pager", str(runnable_copy(tmp_path))],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    found = re.search(r"Overall exposure level for pushd\.service: ([\d.]+)", result.stdout)
    assert found, result.stdout + result.stderr
    assert float(found.group(1)) <= 2.0, result.stdout  # 0 (best) to 10; "OK" is below 4.5


# --- MemoryDenyWriteExecute=yes: a push cycle, with W+X memory refused by the kernel ---------


def mdwe_supported() -> bool:
    probe = "import ctypes, sys; sys.exit(ctypes.CDLL(None).prctl(65, 1, 0, 0, 0) != 0)"
    return subprocess.run([sys.executable, "-c", probe], check=False).returncode == 0  # noqa: S603


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def start(*args: str, env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL
    )


async def stop(process: asyncio.subprocess.Process) -> int | None:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.communicate(), 40)
    return process.returncode


async def run(*args: str, env: dict[str, str], stdin: bytes = b"") -> str:
    process = await asyncio.create_subprocess_exec(
        *args, env=env, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(stdin), 120)
    assert process.returncode == 0, f"{args}: {err.decode()}"
    return out.decode()


@pytest.fixture
async def hardened_stack(tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    if not mdwe_supported():
        pytest.skip("this kernel has no PR_SET_MDWE (Linux 6.3+)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUSHD_")}
    gateway = await start(
        sys.executable, "-m", "authenticator_sim", "gateway", "--dir", str(tmp_path / "gw"),
        "--json", "--apns-port", "0", "--fcm-port", "0", "--control-port", "0", env=env,
    )  # fmt: skip
    assert gateway.stdout is not None
    started = json.loads(await asyncio.wait_for(gateway.stdout.readline(), 60))
    port = free_port()
    pushd_env = {
        **env, **started["pushd_env"], "PUSHD_DATA_DIR": str(tmp_path / "pushd"),
        "PUSHD_PORT": str(port),
    }  # fmt: skip
    pushd = [sys.executable, "-c", UNDER_MDWE]
    key = (await run(*pushd, "apikey", "create", "page", env=pushd_env)).strip()
    await run(
        *pushd, "user", "add", "carol", "--password-stdin", env=pushd_env, stdin=b"p4ss-w0rd-long\n"
    )
    daemon = await start(*pushd, "serve", env=pushd_env)
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(200):
                assert daemon.returncode is None, "pushd serve exited under MDWE"
                try:
                    async with session.get(f"{base}/healthz") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        yield {"base": base, "key": key, "control": started["control"], "tmp": tmp_path, "env": env}
    finally:
        assert await stop(daemon) == 0
        await stop(gateway)


async def authsim(stack: dict[str, Any], wallet: str, *args: str) -> Any:
    out = await run(
        sys.executable, "-m", "authenticator_sim", *args, "--wallet",
        str(stack["tmp"] / wallet), "--gateway", stack["control"], "--no-poll", "--json",
        env=stack["env"],
    )  # fmt: skip
    return json.loads(out)


async def test_a_push_cycle_needs_no_writable_executable_memory(
    hardened_stack: dict[str, Any],
) -> None:
    """argon2id, SecretBox, uvloop, aioapns (HTTP/2, TLS, ES256) and firebase-admin (OAuth,
    RS256) all run in a pushd that the kernel forbids W+X memory."""
    stack = hardened_stack
    base = stack["base"]
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {stack['key']}"}) as page:
        async with page.post(
            f"{base}/v1/login", json={"login": "carol", "password": "p4ss-w0rd-long"}
        ) as r:
            assert r.status == 200, await r.text()
        for user, wallet, platform in (("alice", "ios.json", "--ios"), ("bob", "android.json", "")):
            async with page.post(f"{base}/v1/users/{user}/push/registrations") as r:
                started = await r.json()
            await authsim(stack, wallet, "scan", started["uri"], *([platform] if platform else []))
            await authsim(stack, wallet, "approve", "--wait", "20")  # the test notification
            async with page.get(f"{base}/v1/push/registrations/{started['id']}?wait=20") as r:
                assert (await r.json())["state"] == "confirmed"
            async with page.post(f"{base}/v1/users/{user}/push/challenges") as r:
                challenge = await r.json()
            waiting = asyncio.create_task(
                page.get(f"{base}/v1/push/challenges/{challenge['id']}?wait=30")
            )
            await authsim(stack, wallet, "approve", "--wait", "20")
            async with await waiting as r:
                assert (await r.json())["state"] == "approved", user


def test_the_kernel_check_is_the_one_systemd_relies_on() -> None:
    """PR_SET_MDWE refuses what MemoryDenyWriteExecute= refuses: a W+X mapping."""
    if not mdwe_supported():
        pytest.skip("this kernel has no PR_SET_MDWE (Linux 6.3+)")
    probe = (
        "import ctypes, mmap, sys\n"
        "ctypes.CDLL(None).prctl(65, 1, 0, 0, 0)\n"
        "try:\n"
        "    mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)\n"
        "except OSError:\n"
        "    sys.exit(0)\n"
        "sys.exit(1)\n"
    )
    assert subprocess.run([sys.executable, "-c", probe], check=False).returncode == 0  # noqa: S603
