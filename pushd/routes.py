"""Every route pushd serves, in one table."""

from __future__ import annotations

from aiohttp import web

from pushd.handlers import device, ops, push_api


def add_routes(app: web.Application) -> None:
    app.add_routes(
        [
            web.post("/v1/users/{username}/push/registrations", push_api.start_registration),
            web.get("/v1/push/registrations/{id}", push_api.get_registration),
            web.delete("/v1/push/registrations/{id}", push_api.cancel_registration),
            web.post("/v1/users/{username}/push/challenges", push_api.create_challenge),
            web.get("/v1/push/challenges/{id}", push_api.get_challenge),
            web.delete("/v1/push/challenges/{id}", push_api.cancel_challenge),
            web.post("/push/device", device.device_endpoint),
            web.get("/v1/openapi.json", ops.openapi),
            web.get("/healthz", ops.healthz),
            web.get("/readyz", ops.readyz),
            web.get("/metrics", ops.metrics),
        ]
    )
