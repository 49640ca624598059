"""Local stand-ins for the outside world: an SMTP server, an HTTP SMS gateway, a TLS cert."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import json
import logging
import socket
import ssl
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from pushd.logs import JsonFormatter


@dataclass(frozen=True, slots=True)
class Certificate:
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def make_certificate(directory: Path) -> Certificate:
    """A self-signed certificate for localhost and 127.0.0.1."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pushd test SMTP")])
    now = dt.datetime.now(dt.UTC)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(ski, critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return Certificate(cert_file, key_file)


@dataclass
class SmtpCapture:
    """An aiosmtpd handler: keeps what it accepts, answers queued refusals first."""

    data_replies: list[str] = field(default_factory=list)  # e.g. "451 ...", popped per DATA
    rcpt_reply: str | None = None  # refuse every recipient with this reply
    received: list[Envelope] = field(default_factory=list)
    data_commands: int = 0
    logins: list[tuple[str, bytes, bytes]] = field(default_factory=list)

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self,
        _server: SMTP,
        _session: Session,
        envelope: Envelope,
        address: str,
        _options: list[str],
    ) -> str:
        if self.rcpt_reply is not None:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, _server: SMTP, _session: Session, envelope: Envelope
    ) -> str:
        self.data_commands += 1
        if self.data_replies:
            return self.data_replies.pop(0)
        self.received.append(envelope)
        return "250 Message accepted for delivery"

    def authenticator(
        self, _server: SMTP, _session: Session, _envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        self.logins.append((mechanism, data.login, data.password))
        accepted = data == LoginPassword(b"mailer", b"s3cret pass")
        return AuthResult(success=accepted, handled=False)  # unhandled: aiosmtpd replies 535


@contextlib.asynccontextmanager
async def smtp_server(
    handler: SmtpCapture, *, implicit_tls: ssl.SSLContext | None = None, **options: Any
) -> AsyncIterator[int]:
    """aiosmtpd on 127.0.0.1, in this event loop; yields the port."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="localhost", loop=loop, **options),
        "127.0.0.1",
        0,
        ssl=implicit_tls,
    )
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


class _Silent(asyncio.Protocol):
    def __init__(self, transports: list[asyncio.BaseTransport]) -> None:
        self._transports = transports

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transports.append(transport)


@contextlib.asynccontextmanager
async def silent_server() -> AsyncIterator[int]:
    """Accepts connections and never says a word (a hung server)."""
    transports: list[asyncio.BaseTransport] = []
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _Silent(transports), "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for transport in transports:
            transport.close()
        await server.wait_closed()


@contextlib.contextmanager
def refusing_port() -> Iterator[int]:
    """A port bound but not listening: connecting is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@dataclass(frozen=True, slots=True)
class GatewayRequest:
    path: str
    headers: dict[str, str]
    body: bytes
    peer_port: int

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Gateway:
    """Answers queued statuses in order, then ``default_status``; records every request."""

    statuses: list[int] = field(default_factory=list)
    default_status: int = 200
    requests: list[GatewayRequest] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        peer = request.transport.get_extra_info("peername") if request.transport else None
        self.requests.append(
            GatewayRequest(
                path=request.path,
                headers=dict(request.headers),
                body=await request.read(),
                peer_port=peer[1] if peer else 0,
            )
        )
        status = self.statuses.pop(0) if self.statuses else self.default_status
        return web.json_response({"status": status}, status=status)


@contextlib.asynccontextmanager
async def gateway_server(gateway: Gateway) -> AsyncIterator[str]:
    """An aiohttp server on 127.0.0.1 taking every POST; yields its base URL."""
    app = web.Application()
    app.router.add_post("/{tail:.*}", gateway.handle)
    async with TestServer(app, host="127.0.0.1") as server:
        yield str(server.make_url("")).rstrip("/")


def formatted(records: Iterable[logging.LogRecord]) -> str:
    """The records as pushd would write them, for looking for secrets in the output."""
    formatter = JsonFormatter()
    return "\n".join(formatter.format(record) for record in records)
