"""One-shot set-up for the compose demo (deploy/compose.yaml), run once before pushd starts.

1. The master key: created once (64 hex characters, like ``pushd keys new``) and written with
   the rest of the shared settings to a TOML file (``PUSHD_CONFIG``) that both pushd instances
   read from a volume, so every instance seals and opens with the same key.
2. The authsim gateway's test PKI and provider keys (the APNs and FCM stand-ins): created in
   the gateway's directory as the gateway itself would, plus a server certificate that also
   names the gateway's host on the compose network (the gateway's own names only
   ``localhost``), so pushd verifies it against the shared CA as it would verify Apple.
3. The gateway's identifiers (APNs key and team ids, FCM project) go into the same TOML file,
   with the gateway's endpoints and files, exactly as ``authsim gateway`` prints them.

Everything is kept across restarts: a second run changes nothing. Run as root, it hands the
files to ``--owner`` (pushd's UID:GID in the image, 10001:10001).
"""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import json
import os
import secrets
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from authenticator_sim.gateway.credentials import (
    APNS_KEY,
    APNS_TOPIC,
    CA_CERT,
    CA_KEY,
    FCM_ACCOUNT,
    SERVER_CERT,
    SERVER_KEY,
    load_or_create,
)

VALIDITY = dt.timedelta(days=3650)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Set up the compose demo's shared settings.")
    parser.add_argument("--config", type=Path, required=True, help="the TOML file to write")
    parser.add_argument("--gateway-dir", type=Path, required=True)
    parser.add_argument("--gateway-host", default="gateway", help="its name on the network")
    parser.add_argument("--apns-port", type=int, default=8443)
    parser.add_argument("--fcm-port", type=int, default=8444)
    parser.add_argument("--owner", help="UID:GID to give the files (when run as root)")
    args = parser.parse_args(argv)

    master_key = existing_master_key(args.config) or secrets.token_hex(32)
    credentials = load_or_create(args.gateway_dir)
    names_host(args.gateway_dir, args.gateway_host)
    settings = {
        "master_key": master_key,
        **gateway_settings(
            args.gateway_dir,
            host=args.gateway_host,
            apns_port=args.apns_port,
            fcm_port=args.fcm_port,
            ids={
                "apns_key_id": credentials.apns_key_id,
                "apns_team_id": credentials.apns_team_id,
                "fcm_project": credentials.fcm_project,
            },
        ),
    }
    write_private(args.config, to_toml(settings))
    if args.owner:
        uid, _, gid = args.owner.partition(":")
        hand_over([args.config, args.gateway_dir], int(uid), int(gid or uid))
    sys.stdout.write(f"init: settings in {args.config}, gateway files in {args.gateway_dir}\n")
    return 0


def existing_master_key(config: Path) -> str | None:
    """The key already in the settings file: a restart must never change it."""
    try:
        data = tomllib.loads(config.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    key = data.get("master_key")
    return key if isinstance(key, str) and len(key) == 64 else None


def gateway_settings(
    directory: Path, *, host: str, apns_port: int, fcm_port: int, ids: dict[str, str]
) -> dict[str, str]:
    """What ``authsim gateway`` prints for pushd (``Gateway.pushd_env``), for another host."""
    return {
        "apns_endpoint": f"{host}:{apns_port}",
        "apns_ca_file": str(directory / CA_CERT),
        "apns_key_file": str(directory / APNS_KEY),
        "apns_key_id": ids["apns_key_id"],
        "apns_team_id": ids["apns_team_id"],
        "apns_topic": APNS_TOPIC,
        "fcm_endpoint": f"https://{host}:{fcm_port}",
        "fcm_ca_file": str(directory / CA_CERT),
        "fcm_credentials": str(directory / FCM_ACCOUNT),
        "fcm_project": ids["fcm_project"],
    }


def names_host(directory: Path, host: str) -> None:
    """Re-issue the gateway's server certificate (same key, same CA) to name ``host`` too."""
    current = x509.load_pem_x509_certificate((directory / SERVER_CERT).read_bytes())
    sans = current.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    if host in sans.get_values_for_type(x509.DNSName):
        return
    ca_cert = x509.load_pem_x509_certificate((directory / CA_CERT).read_bytes())
    ca_key = serialization.load_pem_private_key((directory / CA_KEY).read_bytes(), None)
    server_key = serialization.load_pem_private_key((directory / SERVER_KEY).read_bytes(), None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey) or not isinstance(
        server_key, ec.EllipticCurvePrivateKey
    ):
        raise TypeError("the gateway's CA and server keys are EC keys")
    now = dt.datetime.now(tz=dt.UTC)
    names: list[x509.GeneralName] = [
        x509.DNSName(host),
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ]
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
        .issuer_name(ca_cert.subject)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    write_private(
        directory / SERVER_CERT, certificate.public_bytes(serialization.Encoding.PEM).decode()
    )


def to_toml(settings: dict[str, str]) -> str:
    lines = ["# Written by deploy/compose/init.py: shared by every pushd instance (PUSHD_CONFIG)."]
    lines += [f"{name} = {json.dumps(value)}" for name, value in settings.items()]
    return "\n".join(lines) + "\n"


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically, readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    temporary.replace(path)


def hand_over(paths: Sequence[Path], uid: int, gid: int) -> None:
    for top in paths:
        targets = [top, *top.rglob("*")] if top.is_dir() else [top]
        for target in targets:
            os.chown(target, uid, gid)


if __name__ == "__main__":
    sys.exit(main())
