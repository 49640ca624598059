"""google-auth and httpx against the FCM stand-in, as firebase-admin uses them."""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

import httpx
import requests
from google.auth.transport.requests import Request
from google.oauth2 import service_account

from authenticator_sim.gateway import Gateway

SCOPES = ["https://www.googleapis.com/auth/firebase.messaging"]


def service_account_credentials(gateway: Gateway) -> Any:
    return service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
        str(gateway.fcm_credentials_file), scopes=SCOPES
    )


def refresh(gateway: Gateway, credentials: Any) -> None:
    """google-auth's blocking refresh (the JWT-bearer grant), trusting the gateway's CA.

    ``trust_env`` is off: requests lets REQUESTS_CA_BUNDLE override ``session.verify``.
    """
    with requests.Session() as session:
        session.trust_env = False
        session.verify = str(gateway.ca_file)
        credentials.refresh(Request(session))


async def access_token(gateway: Gateway) -> str:
    credentials = service_account_credentials(gateway)
    await asyncio.to_thread(refresh, gateway, credentials)
    token: str = credentials.token
    return token


def http_client(gateway: Gateway, **options: Any) -> httpx.AsyncClient:
    context = ssl.create_default_context(cafile=gateway.ca_file)
    return httpx.AsyncClient(base_url=gateway.fcm_endpoint, verify=context, **options)


def send_path(gateway: Gateway, project: str | None = None) -> str:
    return f"/v1/projects/{project or gateway.fcm_project}/messages:send"


def message(token: str, **data: str) -> dict[str, Any]:
    return {"message": {"token": token, "data": data, "android": {"priority": "high"}}}
