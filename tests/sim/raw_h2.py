"""A small HTTP/2 client for what aioapns cannot send: odd methods and headers, resets,
and precise control over flow-control credit."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from dataclasses import dataclass, field

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings

from authenticator_sim.gateway import Gateway


@dataclass
class Response:
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass
class _Pending:
    response: Response = field(default_factory=Response)
    headers_seen: asyncio.Event = field(default_factory=asyncio.Event)
    done: asyncio.Future[Response] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class RawH2:
    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, acknowledge: bool
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.acknowledge = acknowledge
        self.conn = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=True, header_encoding=None)
        )
        self.unacknowledged: list[tuple[int, int]] = []  # (size, stream) not yet credited
        self.settings_received = asyncio.Event()
        self.terminated = asyncio.Event()
        self._pending: dict[int, _Pending] = {}
        self._task: asyncio.Task[None] | None = None

    @classmethod
    async def connect(
        cls, gateway: Gateway, *, certificate: bool = False, acknowledge: bool = True
    ) -> RawH2:
        context = ssl.create_default_context(cafile=gateway.ca_file)
        context.set_alpn_protocols(["h2"])
        if certificate:
            context.load_cert_chain(gateway.apns_client_cert_file)
        host, port = gateway.apns_endpoint.rsplit(":", 1)
        reader, writer = await asyncio.open_connection(host, int(port), ssl=context)
        client = cls(reader, writer, acknowledge=acknowledge)
        client.conn.initiate_connection()
        client.flush()
        client._task = asyncio.create_task(client._read())
        return client

    @property
    def alpn(self) -> str | None:
        ssl_object = self.writer.get_extra_info("ssl_object")
        return None if ssl_object is None else ssl_object.selected_alpn_protocol()

    def start(self, headers: list[tuple[str, str]], body: bytes = b"") -> int:
        """Send one request; return its stream id."""
        stream_id = self.conn.get_next_available_stream_id()
        self._pending[stream_id] = _Pending()
        self.conn.send_headers(stream_id, headers, end_stream=not body)
        if body:
            self.conn.send_data(stream_id, body, end_stream=True)
        self.flush()
        return stream_id

    async def response(self, stream_id: int, within: float = 5.0) -> Response:
        async with asyncio.timeout(within):
            return await asyncio.shield(self._pending[stream_id].done)

    async def headers_of(self, stream_id: int, within: float = 5.0) -> Response:
        pending = self._pending[stream_id]
        async with asyncio.timeout(within):
            await pending.headers_seen.wait()
        return pending.response

    def done(self, stream_id: int) -> bool:
        return self._pending[stream_id].done.done()

    async def request(self, headers: list[tuple[str, str]], body: bytes = b"") -> Response:
        return await self.response(self.start(headers, body))

    def reset(self, stream_id: int) -> None:
        self.conn.reset_stream(stream_id)
        self.flush()

    def credit(self) -> None:
        """Acknowledge everything received so far (what aioapns never does)."""
        for size, stream_id in self.unacknowledged:
            self.conn.acknowledge_received_data(size, stream_id)
        self.unacknowledged.clear()
        self.flush()

    def flush(self) -> None:
        self.writer.write(self.conn.data_to_send())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await self.writer.wait_closed()

    async def _read(self) -> None:
        try:
            while data := await self.reader.read(65536):
                for event in self.conn.receive_data(data):
                    self._on_event(event)
                self.flush()
        except h2.exceptions.ProtocolError:
            pass  # we said GOAWAY first: the connection is over
        finally:
            self.terminated.set()

    def _on_event(self, event: h2.events.Event) -> None:
        if isinstance(event, h2.events.RemoteSettingsChanged):
            self.settings_received.set()
        elif isinstance(event, h2.events.ResponseReceived):
            pending = self._pending[event.stream_id]
            headers = {name.decode(): value.decode() for name, value in event.headers}
            pending.response.status = int(headers.pop(":status"))
            pending.response.headers = headers
            pending.headers_seen.set()
        elif isinstance(event, h2.events.DataReceived):
            self._pending[event.stream_id].response.body += event.data
            if self.acknowledge:
                self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            else:
                self.unacknowledged.append((event.flow_controlled_length, event.stream_id))
        elif isinstance(event, h2.events.StreamEnded):
            pending = self._pending[event.stream_id]
            pending.done.set_result(pending.response)
        elif isinstance(event, h2.events.ConnectionTerminated):
            self.terminated.set()
