"""Credentials: made once, private, and reused across restarts so pushd keeps working."""

from __future__ import annotations

import ipaddress
import json
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from authenticator_sim.gateway import Gateway

PRIVATE = ("ca-key.pem", "server-key.pem", "apns-key.p8", "apns-client.pem", "fcm-key.pem")


async def test_created_with_private_keys_0600_and_reused(tmp_path: Path) -> None:
    directory = tmp_path / "new" / "gateway"
    async with Gateway(directory) as first:
        env = first.pushd_env()
        ca = first.ca_file.read_bytes()
    for name in (*PRIVATE, "fcm-service-account.json"):
        assert stat.S_IMODE((directory / name).stat().st_mode) == 0o600, name
    async with Gateway(directory) as second:
        again = second.pushd_env()
        account = json.loads(second.fcm_credentials_file.read_text())
        assert account["token_uri"] == f"{second.fcm_endpoint}/token"  # rewritten per start
        assert second.ca_file.read_bytes() == ca
    keep = ("KEY_ID", "TEAM_ID", "TOPIC", "KEY_FILE", "PROJECT", "CREDENTIALS", "CA_FILE")
    assert {k: v for k, v in again.items() if k.endswith(keep)} == {
        k: v for k, v in env.items() if k.endswith(keep)
    }


async def test_the_settings_pushd_needs(gateway: Gateway) -> None:
    env = gateway.pushd_env()
    assert set(env) == {
        "PUSHD_APNS_ENDPOINT", "PUSHD_APNS_CA_FILE", "PUSHD_APNS_KEY_FILE", "PUSHD_APNS_KEY_ID",
        "PUSHD_APNS_TEAM_ID", "PUSHD_APNS_TOPIC", "PUSHD_FCM_ENDPOINT", "PUSHD_FCM_CA_FILE",
        "PUSHD_FCM_CREDENTIALS", "PUSHD_FCM_PROJECT",
    }  # fmt: skip
    assert env["PUSHD_APNS_ENDPOINT"].startswith("127.0.0.1:")
    assert env["PUSHD_FCM_ENDPOINT"].startswith("https://127.0.0.1:")
    assert len(gateway.apns_key_id) == len(gateway.apns_team_id) == 10
    assert gateway.apns_topic == "com.forgerock.ios.authenticator"
    account = json.loads(gateway.fcm_credentials_file.read_text())
    assert account["type"] == "service_account"
    assert account["project_id"] == gateway.fcm_project
    assert account["token_uri"] == f"{gateway.fcm_endpoint}/token"
    assert "BEGIN PRIVATE KEY" in account["private_key"]


async def test_certificates(gateway: Gateway) -> None:
    ca = x509.load_pem_x509_certificate(gateway.ca_file.read_bytes())
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    server = x509.load_pem_x509_certificate((gateway.directory / "server.pem").read_bytes())
    names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert names.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    ]
    client = x509.load_pem_x509_certificate(gateway.apns_client_cert_file.read_bytes())
    uid = client.subject.get_attributes_for_oid(NameOID.USER_ID)[0].value
    assert uid == gateway.apns_topic
    assert client.issuer == ca.subject
    assert b"PRIVATE KEY" in gateway.apns_client_cert_file.read_bytes()


async def test_properties_need_a_started_gateway(tmp_path: Path) -> None:
    gateway = Gateway(tmp_path)
    with pytest.raises(RuntimeError, match="start the gateway first"):
        _ = gateway.apns_endpoint
    with pytest.raises(RuntimeError, match="start the gateway first"):
        gateway.pushd_env()
