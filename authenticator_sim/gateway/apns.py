"""The APNs stand-in: HTTP/2 over TLS (h2 on an asyncio.Protocol), no HTTP/1.1.

Flow control is kept honest on purpose: request DATA is acknowledged as it is read,
and response bodies go out only within the window the client granted, whole frames at
a time (aioapns parses each DATA frame as one JSON document). A client that never
acknowledges what it receives therefore stalls, as it would against Apple.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
import uuid
from typing import Any

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings

from authenticator_sim.gateway.apns_rules import MAX_PAYLOAD, ApnsRequest, Verdict, error_body
from authenticator_sim.gateway.apns_service import ApnsService

log = logging.getLogger(__name__)
MAX_CONCURRENT_STREAMS = 1000
# Requests are validated; our own few fixed response headers need not be (it costs CPU).
_H2_CONFIG = h2.config.H2Configuration(
    client_side=False,
    header_encoding=None,
    validate_outbound_headers=False,
    normalize_outbound_headers=False,
)


class _Stream:
    __slots__ = ("body", "headers")

    def __init__(self, headers: dict[bytes, bytes]) -> None:
        self.headers = headers
        self.body = bytearray()


class ApnsConnection(asyncio.Protocol):
    """One client connection: many concurrent streams, each answered once."""

    def __init__(self, service: ApnsService, server: ApnsServer) -> None:
        self._service = service
        self._server = server
        self._h2 = h2.connection.H2Connection(config=_H2_CONFIG)
        self._h2.local_settings = h2.settings.Settings(
            client=False,
            initial_values={
                h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: MAX_CONCURRENT_STREAMS,
                h2.settings.SettingCodes.MAX_HEADER_LIST_SIZE: 16384,
            },
        )
        self._transport: asyncio.Transport | None = None
        self._cert_topic: str | None = None
        self._streams: dict[int, _Stream] = {}
        self._unsent: dict[int, bytes] = {}  # response bodies waiting for window
        self._stalls: dict[int, asyncio.TimerHandle] = {}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if not isinstance(transport, asyncio.Transport):
            raise TypeError("the APNs stand-in runs over a stream transport")
        self._transport = transport
        ssl_object = transport.get_extra_info("ssl_object")
        if ssl_object is not None:
            self._cert_topic = _certificate_topic(ssl_object.getpeercert())
        self._h2.initiate_connection()
        self._flush()
        self._server.opened(self)

    def connection_lost(self, exc: Exception | None) -> None:  # noqa: ARG002
        for handle in self._stalls.values():
            handle.cancel()
        self._stalls.clear()
        self._streams.clear()
        self._unsent.clear()
        self._server.closed(self)

    def data_received(self, data: bytes) -> None:
        try:
            events = self._h2.receive_data(data)
            for event in events:
                self._on_event(event)
        except h2.exceptions.ProtocolError:
            self._flush()  # h2 queued a GOAWAY
            self._close()
            return
        except Exception:  # last line of defence: one bad connection must not stop the server
            log.exception("APNs stand-in: connection failed")
            self._close()
            return
        self._flush()

    def shutdown(self) -> None:
        """Say GOAWAY and close (the gateway is stopping)."""
        with contextlib.suppress(h2.exceptions.ProtocolError):
            self._h2.close_connection()
        self._flush()
        self._close()

    def _on_event(self, event: h2.events.Event) -> None:
        if isinstance(event, h2.events.RequestReceived):
            self._streams[event.stream_id] = _Stream(dict(event.headers))
        elif isinstance(event, h2.events.DataReceived):
            stream = self._streams.get(event.stream_id)
            if stream is not None and len(stream.body) <= MAX_PAYLOAD:
                stream.body += event.data
            self._h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        elif isinstance(event, h2.events.StreamEnded):
            self._on_request(event.stream_id)
        elif isinstance(event, h2.events.WindowUpdated):
            self._send_unsent(event.stream_id)
        elif isinstance(event, h2.events.RemoteSettingsChanged):
            self._send_unsent(0)  # INITIAL_WINDOW_SIZE may have grown
        elif isinstance(event, h2.events.StreamReset):
            self._drop(event.stream_id)
        elif isinstance(event, h2.events.ConnectionTerminated):
            self._flush()
            self._close()

    def _on_request(self, stream_id: int) -> None:
        stream = self._streams.get(stream_id)
        if stream is None:
            return
        headers = stream.headers
        request = ApnsRequest(
            method=headers.get(b":method", b""),
            path=headers.get(b":path", b""),
            headers=headers,
            body=bytes(stream.body),
            cert_topic=self._cert_topic,
        )
        verdict, stall = self._service.judge(request)
        if stall > 0:
            loop = asyncio.get_running_loop()
            self._stalls[stream_id] = loop.call_later(stall, self._answer_later, stream_id, verdict)
        else:
            self._answer(stream_id, verdict)

    def _answer_later(self, stream_id: int, verdict: Verdict) -> None:
        self._stalls.pop(stream_id, None)
        if stream_id in self._streams:
            try:
                self._answer(stream_id, verdict)
            except h2.exceptions.ProtocolError:
                self._drop(stream_id)
            self._flush()

    def _answer(self, stream_id: int, verdict: Verdict) -> None:
        stream = self._streams[stream_id]
        apns_id = stream.headers.get(b"apns-id") or str(uuid.uuid4()).encode()
        if verdict.status == 200:
            del self._streams[stream_id]
            self._h2.send_headers(
                stream_id, [(b":status", b"200"), (b"apns-id", apns_id)], end_stream=True
            )
        else:
            response = [
                (b":status", str(verdict.status).encode()),
                (b"apns-id", apns_id),
                (b"content-type", b"application/json"),
            ]
            self._h2.send_headers(stream_id, response)
            self._unsent[stream_id] = error_body(verdict.status, verdict.reason, clock=time.time())
            self._send_unsent(stream_id)
        self._service.answered(verdict)

    def _send_unsent(self, stream_id: int) -> None:
        """Send waiting bodies, whole frames only, as far as the flow-control window allows."""
        for waiting in [stream_id] if stream_id else list(self._unsent):
            body = self._unsent.get(waiting)
            if body is None:
                continue
            while body:
                size = min(len(body), self._h2.max_outbound_frame_size)
                if self._h2.local_flow_control_window(waiting) < size:
                    break
                chunk, body = body[:size], body[size:]
                self._h2.send_data(waiting, chunk, end_stream=not body)
            if body:
                self._unsent[waiting] = body
            else:
                del self._unsent[waiting]
                self._streams.pop(waiting, None)

    def _drop(self, stream_id: int) -> None:
        self._streams.pop(stream_id, None)
        self._unsent.pop(stream_id, None)
        handle = self._stalls.pop(stream_id, None)
        if handle is not None:
            handle.cancel()

    def _flush(self) -> None:
        data = self._h2.data_to_send()
        if data and self._transport is not None and not self._transport.is_closing():
            self._transport.write(data)

    def _close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    def abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()


def _certificate_topic(certificate: Any) -> str | None:
    """The topic (subject UID) of a client certificate the TLS layer already verified."""
    if not certificate:
        return None
    for rdn in certificate.get("subject", ()):
        for name, value in rdn:
            if name in ("userId", "UID"):
                return str(value)
    return None


class ApnsServer:
    """Listens for APNs clients and tracks their connections so stopping leaves nothing open."""

    def __init__(self, service: ApnsService, ssl_context: ssl.SSLContext) -> None:
        self._service = service
        self._ssl_context = ssl_context
        self._server: asyncio.Server | None = None
        self._connections: set[ApnsConnection] = set()
        self._all_closed = asyncio.Event()
        self._stopping = False

    def opened(self, connection: ApnsConnection) -> None:
        self._connections.add(connection)
        self._all_closed.clear()
        if self._stopping:  # its TLS handshake finished after stop() began
            connection.shutdown()

    def closed(self, connection: ApnsConnection) -> None:
        self._connections.discard(connection)
        if not self._connections:
            self._all_closed.set()

    async def start(self, host: str, port: int) -> int:
        """Listen on ``host``:``port`` (0 = any free port); return the port."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: ApnsConnection(self._service, self),
            host,
            port,
            ssl=self._ssl_context,
            backlog=1024,
        )
        bound: int = self._server.sockets[0].getsockname()[1]
        return bound

    async def stop(self, *, grace: float = 2.0) -> None:
        if self._server is None:
            return
        self._stopping = True
        self._server.close()
        for connection in list(self._connections):
            connection.shutdown()
        if self._connections:
            try:
                async with asyncio.timeout(grace):
                    await self._all_closed.wait()
            except TimeoutError:
                for connection in list(self._connections):
                    connection.abort()
        await self._server.wait_closed()
        self._server = None  # still "stopping": a late handshake is closed as it completes
