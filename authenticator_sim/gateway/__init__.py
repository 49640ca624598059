"""Local stand-ins for Apple's APNs and Google's FCM, for tests and demos.

pushd's real client libraries (aioapns, firebase-admin) talk to these servers on
127.0.0.1 as they would to Apple and Google; what they accept lands in the
:class:`Inbox`, and :class:`Faults` rehearse failures. A plain-HTTP control API
serves the same to other processes::

    gateway = Gateway(Path("var/gateway"))
    await gateway.start()
    env = gateway.pushd_env()  # PUSHD_APNS_* and PUSHD_FCM_* for pushd
    item = await gateway.inbox.next(token, within=5)
    await gateway.stop()
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import TracebackType
from typing import Any

from authenticator_sim.gateway.apns import ApnsServer
from authenticator_sim.gateway.apns_auth import ProviderTokens
from authenticator_sim.gateway.apns_rules import ApnsRules
from authenticator_sim.gateway.apns_service import ApnsService
from authenticator_sim.gateway.control import ControlApi
from authenticator_sim.gateway.credentials import (
    APNS_CLIENT,
    APNS_KEY,
    APNS_TOPIC,
    CA_CERT,
    FCM_ACCOUNT,
    Credentials,
    load_or_create,
)
from authenticator_sim.gateway.faults import Fault, Faults
from authenticator_sim.gateway.fcm import FcmService
from authenticator_sim.gateway.fcm_auth import AccessTokens
from authenticator_sim.gateway.http_site import HttpSite
from authenticator_sim.gateway.inbox import Delivered, Inbox
from authenticator_sim.gateway.stats import Stats

__all__ = ["Delivered", "Fault", "Faults", "Gateway", "Inbox"]


class Gateway:
    def __init__(
        self,
        directory: Path,
        *,
        host: str = "127.0.0.1",
        apns_port: int = 0,
        fcm_port: int = 0,
        control_port: int = 0,
        strict_token_updates: bool = True,
    ) -> None:
        self.directory = Path(directory)
        self.host = host
        self._requested_ports = (apns_port, fcm_port, control_port)
        self._strict_token_updates = strict_token_updates
        self.inbox = Inbox()
        self.faults = Faults()
        self._stats = Stats()
        self._credentials: Credentials | None = None
        self._ports: tuple[int, int, int] | None = None
        self._apns: ApnsServer | None = None
        self._sites: list[HttpSite] = []

    async def start(self) -> None:
        if self._ports is not None:
            raise RuntimeError("the gateway is already running")
        credentials = await asyncio.to_thread(load_or_create, self.directory)
        self._credentials = credentials
        access_tokens = AccessTokens(credentials, stats=self._stats)
        try:
            self._ports = await self._listen(credentials, access_tokens)
        except BaseException:
            await self.stop()
            raise
        access_tokens.token_uri = f"{self.fcm_endpoint}/token"
        await asyncio.to_thread(credentials.write_service_account, access_tokens.token_uri)

    async def _listen(
        self, credentials: Credentials, access_tokens: AccessTokens
    ) -> tuple[int, int, int]:
        apns_port, fcm_port, control_port = self._requested_ports
        provider_tokens = ProviderTokens(
            credentials.apns_public_key,
            key_id=credentials.apns_key_id,
            team_id=credentials.apns_team_id,
            strict_updates=self._strict_token_updates,
            stats=self._stats,
        )
        rules = ApnsRules(topic=APNS_TOPIC, provider_tokens=provider_tokens)
        apns = ApnsService(rules=rules, faults=self.faults, inbox=self.inbox, stats=self._stats)
        self._apns = ApnsServer(
            apns, credentials.server_context(alpn="h2", client_certificates=True)
        )
        apns_port = await self._apns.start(self.host, apns_port)

        fcm = FcmService(
            project=credentials.fcm_project,
            tokens=access_tokens,
            faults=self.faults,
            inbox=self.inbox,
            stats=self._stats,
        )
        tls = credentials.server_context(alpn="http/1.1", client_certificates=False)
        self._sites.append(HttpSite(fcm.app(), ssl_context=tls))
        fcm_port = await self._sites[-1].start(self.host, fcm_port)

        control = ControlApi(
            inbox=self.inbox, faults=self.faults, stats=self.stats, settings=self.pushd_env
        )
        self._sites.append(HttpSite(control.app()))
        control_port = await self._sites[-1].start(self.host, control_port)
        return apns_port, fcm_port, control_port

    async def stop(self) -> None:
        if self._apns is not None:
            await self._apns.stop()
            self._apns = None
        for site in reversed(self._sites):
            await site.stop()
        self._sites.clear()
        self._ports = None

    async def __aenter__(self) -> Gateway:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def apns_endpoint(self) -> str:
        return f"{self._host_in_url}:{self._port(0)}"

    @property
    def fcm_endpoint(self) -> str:
        return f"https://{self._host_in_url}:{self._port(1)}"

    @property
    def control_url(self) -> str:
        return f"http://{self._host_in_url}:{self._port(2)}"

    @property
    def ca_file(self) -> Path:
        return self.directory / CA_CERT

    @property
    def apns_key_file(self) -> Path:
        return self.directory / APNS_KEY

    @property
    def apns_client_cert_file(self) -> Path:
        return self.directory / APNS_CLIENT

    @property
    def fcm_credentials_file(self) -> Path:
        return self.directory / FCM_ACCOUNT

    @property
    def apns_key_id(self) -> str:
        return self._loaded.apns_key_id

    @property
    def apns_team_id(self) -> str:
        return self._loaded.apns_team_id

    @property
    def apns_topic(self) -> str:
        return APNS_TOPIC

    @property
    def fcm_project(self) -> str:
        return self._loaded.fcm_project

    def pushd_env(self) -> dict[str, str]:
        """The settings that point pushd at this gateway."""
        return {
            "PUSHD_APNS_ENDPOINT": self.apns_endpoint,
            "PUSHD_APNS_CA_FILE": str(self.ca_file),
            "PUSHD_APNS_KEY_FILE": str(self.apns_key_file),
            "PUSHD_APNS_KEY_ID": self.apns_key_id,
            "PUSHD_APNS_TEAM_ID": self.apns_team_id,
            "PUSHD_APNS_TOPIC": self.apns_topic,
            "PUSHD_FCM_ENDPOINT": self.fcm_endpoint,
            "PUSHD_FCM_CA_FILE": str(self.ca_file),
            "PUSHD_FCM_CREDENTIALS": str(self.fcm_credentials_file),
            "PUSHD_FCM_PROJECT": self.fcm_project,
        }

    def stats(self) -> dict[str, Any]:
        return self._stats.as_dict()

    @property
    def _loaded(self) -> Credentials:
        if self._credentials is None:
            raise RuntimeError("start the gateway first")
        return self._credentials

    def _port(self, index: int) -> int:
        if self._ports is None:
            raise RuntimeError("start the gateway first")
        return self._ports[index]

    @property
    def _host_in_url(self) -> str:
        return f"[{self.host}]" if ":" in self.host else self.host
