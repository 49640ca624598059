"""The hosted login pages (see pushd/web/README or the project README)."""

from __future__ import annotations

from aiohttp import web


def add_web_routes(app: web.Application) -> None:
    """Register the pages; called once by pushd.routes.add_routes."""
