"""The gateway's test PKI and provider keys, created once per directory and then reused.

A pushd configured against one gateway keeps working across gateway restarts: the CA,
the server certificate, the APNs .p8 key, the APNs client certificate and the FCM
service-account key are all read back from ``directory``. Only the service-account
JSON is rewritten on every start, because its ``token_uri`` carries the FCM port.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import secrets
import ssl
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

APNS_TOPIC = "com.forgerock.ios.authenticator"
# google-auth always puts this in the assertion's ``aud``, whatever ``token_uri`` says
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"  # noqa: S105
_VALIDITY = dt.timedelta(days=3650)
_ID_ALPHABET = string.ascii_uppercase + string.digits

# File names inside the gateway directory.
CA_CERT, CA_KEY = "ca.pem", "ca-key.pem"
SERVER_CERT, SERVER_KEY = "server.pem", "server-key.pem"
APNS_KEY, APNS_CLIENT = "apns-key.p8", "apns-client.pem"
FCM_KEY, FCM_ACCOUNT = "fcm-key.pem", "fcm-service-account.json"
IDS = "gateway.json"
_ALL = (CA_CERT, CA_KEY, SERVER_CERT, SERVER_KEY, APNS_KEY, APNS_CLIENT, FCM_KEY, IDS)


@dataclass(frozen=True, slots=True, kw_only=True)
class Credentials:
    directory: Path
    apns_key_id: str
    apns_team_id: str
    fcm_project: str
    fcm_private_key_id: str
    fcm_client_id: str
    apns_public_key: ec.EllipticCurvePublicKey
    fcm_public_key: rsa.RSAPublicKey

    def path(self, name: str) -> Path:
        return self.directory / name

    @property
    def fcm_client_email(self) -> str:
        return f"firebase-adminsdk-authsim@{self.fcm_project}.iam.gserviceaccount.com"

    def server_context(self, *, alpn: str, client_certificates: bool) -> ssl.SSLContext:
        """TLS for a gateway server; with ``client_certificates``, a CA-signed one is asked for."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.path(SERVER_CERT), self.path(SERVER_KEY))
        context.set_alpn_protocols([alpn])
        if client_certificates:
            context.load_verify_locations(cafile=self.path(CA_CERT))
            context.verify_mode = ssl.CERT_OPTIONAL
        return context

    def write_service_account(self, token_uri: str) -> Path:
        """(Re)write the service-account JSON that firebase-admin and google-auth read."""
        key_pem = self.path(FCM_KEY).read_text(encoding="ascii")
        account: dict[str, Any] = {
            "type": "service_account",
            "project_id": self.fcm_project,
            "private_key_id": self.fcm_private_key_id,
            "private_key": key_pem,
            "client_email": self.fcm_client_email,
            "client_id": self.fcm_client_id,
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": token_uri,
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "client_x509_cert_url": "",
            "universe_domain": "googleapis.com",
        }
        path = self.path(FCM_ACCOUNT)
        _write(path, json.dumps(account, indent=2).encode(), private=True)
        return path


def load_or_create(directory: Path) -> Credentials:
    """Read the credentials in ``directory``, creating all of them if any is missing."""
    directory.mkdir(parents=True, exist_ok=True)
    if not all((directory / name).exists() for name in _ALL):
        _create(directory)
    ids = json.loads((directory / IDS).read_text(encoding="utf-8"))
    apns_key = serialization.load_pem_private_key((directory / APNS_KEY).read_bytes(), None)
    fcm_key = serialization.load_pem_private_key((directory / FCM_KEY).read_bytes(), None)
    if not isinstance(apns_key, ec.EllipticCurvePrivateKey):
        raise TypeError(f"{APNS_KEY} is not an EC key")
    if not isinstance(fcm_key, rsa.RSAPrivateKey):
        raise TypeError(f"{FCM_KEY} is not an RSA key")
    return Credentials(
        directory=directory,
        apns_key_id=ids["apns_key_id"],
        apns_team_id=ids["apns_team_id"],
        fcm_project=ids["fcm_project"],
        fcm_private_key_id=ids["fcm_private_key_id"],
        fcm_client_id=ids["fcm_client_id"],
        apns_public_key=apns_key.public_key(),
        fcm_public_key=fcm_key.public_key(),
    )


def _create(directory: Path) -> None:
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "authsim gateway test CA")])
    ca_cert = (
        _builder(ca_name, ca_name, ca_key.public_key(), ca_key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = _leaf(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]),
        server_key,
        ca_cert,
        ca_key,
        ExtendedKeyUsageOID.SERVER_AUTH,
    ).add_extension(
        x509.SubjectAlternativeName(
            [
                x509.DNSName("localhost"),
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                x509.IPAddress(ipaddress.ip_address("::1")),
            ]
        ),
        critical=False,
    )
    client_key = ec.generate_private_key(ec.SECP256R1())
    client_name = x509.Name(
        [
            x509.NameAttribute(NameOID.USER_ID, APNS_TOPIC),
            x509.NameAttribute(NameOID.COMMON_NAME, f"Apple Push Services: {APNS_TOPIC}"),
        ]
    )
    client_cert = _leaf(client_name, client_key, ca_cert, ca_key, ExtendedKeyUsageOID.CLIENT_AUTH)
    apns_key = ec.generate_private_key(ec.SECP256R1())
    fcm_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    _write(directory / CA_CERT, _cert_pem(ca_cert))
    _write(directory / CA_KEY, _key_pem(ca_key), private=True)
    _write(directory / SERVER_CERT, _cert_pem(server_cert.sign(ca_key, hashes.SHA256())))
    _write(directory / SERVER_KEY, _key_pem(server_key), private=True)
    client_pem = _cert_pem(client_cert.sign(ca_key, hashes.SHA256())) + _key_pem(client_key)
    _write(directory / APNS_CLIENT, client_pem, private=True)
    _write(directory / APNS_KEY, _key_pem(apns_key), private=True)
    _write(directory / FCM_KEY, _key_pem(fcm_key), private=True)
    ids = {
        "apns_key_id": "".join(secrets.choice(_ID_ALPHABET) for _ in range(10)),
        "apns_team_id": "".join(secrets.choice(_ID_ALPHABET) for _ in range(10)),
        "fcm_project": f"authsim-{secrets.token_hex(4)}",
        "fcm_private_key_id": secrets.token_hex(20),
        "fcm_client_id": str(secrets.randbelow(10**21)).zfill(21),
    }
    _write(directory / IDS, json.dumps(ids, indent=2).encode())  # written last: marks completion


def _builder(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    issuer_key: ec.EllipticCurvePublicKey,
) -> x509.CertificateBuilder:
    now = dt.datetime.now(tz=dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key), critical=False
        )
    )


def _leaf(
    subject: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    usage: x509.ObjectIdentifier,
) -> x509.CertificateBuilder:
    return (
        _builder(subject, ca_cert.subject, key.public_key(), ca_key.public_key())
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    )


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write(path: Path, data: bytes, *, private: bool = False) -> None:
    """Write ``data`` atomically; private files are created with mode 0600."""
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as file:
        file.write(data)
    os.chmod(temporary, 0o600 if private else 0o644)
    temporary.replace(path)
