"""Error pages: HTML for the pages (JSON for their own fetch calls), never a traceback."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import jinja2
from aiohttp import web

from pushd.errors import ApiError
from pushd.web.messages import friendly
from pushd.web.render import html, render_text
from pushd.web.session import Session, load

log = logging.getLogger("pushd.web")

TITLES = {
    400: "That did not work",
    403: "Not allowed",
    404: "Page not found",
    405: "Not allowed",
    410: "Expired",
    413: "Too large",
    429: "Too many attempts",
    503: "Temporarily unavailable",
}
HTTP_MESSAGES = {
    404: "There is no page at this address. Check the link, or start again from the sign-in page.",
    405: "This page cannot be used that way. Start again from the sign-in page.",
}


def wants_json(request: web.Request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


async def error_page(
    request: web.Request, error: ApiError, *, from_router: bool = False
) -> web.Response:
    """The page (or JSON, for fetch) that answers an error no handler dealt with.

    ``from_router``: aiohttp's own 404/405 (no such page), not a service's refusal.
    """
    text = (from_router and HTTP_MESSAGES.get(error.status)) or friendly(error)
    if wants_json(request):
        body = {"error": {**error.details, "code": error.code, "message": text}}
        return web.json_response(body, status=error.status, headers=error.headers)
    session: Session | None = None
    try:
        if error.status not in (500, 503):
            session = await load(request)
        page = render_text(
            request,
            "error.html",
            status=error.status,
            csrf_token=session.record.csrf_token if session else "",
            signed_in=session is not None and session.signed_in,
            values={"title": TITLES.get(error.status, "Something went wrong"), "message": text},
        )
    except (jinja2.TemplateError, KeyError, OSError, ApiError):
        log.exception("error page not rendered")
        page = f"<!doctype html><title>Error</title><p>{error.status}: something went wrong.</p>"
    response = html(page, status=error.status)
    response.headers.update(_safe_headers(error.headers))
    return response


def _safe_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k in ("Allow", "Retry-After")}
