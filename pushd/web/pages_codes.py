"""The recovery codes page: shown once after a registration or a regeneration, with copy,
download and print; "I have saved them" forgets them (and ends a first login's set-up)."""

from __future__ import annotations

import re

from aiohttp import web

from pushd.appkeys import SERVICES
from pushd.web import csrf
from pushd.web.flow import finish_sign_in, go, page, place_of
from pushd.web.render import render_text
from pushd.web.session import Session, load, unseal, update


async def _with_codes(request: web.Request) -> tuple[Session, list[str]]:
    session = await load(request)
    if session is None or not session.record.password_ok or not session.record.sealed_codes:
        raise go(place_of(session))
    return session, unseal(request, session.record.sealed_codes).split("\n")


def _filename(request: web.Request) -> str:
    site = re.sub(r"[^a-z0-9]+", "-", request.app[SERVICES].ctx.settings.issuer.lower()).strip("-")
    return f"{site or 'pushd'}-recovery-codes.txt"


async def codes_page(request: web.Request) -> web.StreamResponse:
    session, codes = await _with_codes(request)
    return await page(
        request,
        "recovery_codes.html",
        session=session,
        title="Save your recovery codes",
        codes=codes,
        filename=_filename(request),
    )


async def codes_text(request: web.Request) -> web.StreamResponse:
    session, codes = await _with_codes(request)
    body = render_text(
        request, "recovery_codes.txt", values={"codes": codes, "username": session.username}
    )
    return web.Response(
        text=body,
        content_type="text/plain",
        charset="utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{_filename(request)}"',
            "Cache-Control": "no-store",
        },
    )


async def codes_saved(request: web.Request) -> web.StreamResponse:
    session, _ = await csrf.form(request)
    if not session.record.password_ok:
        raise go("/login")
    session = await update(request, session, sealed_codes=b"")
    if not session.record.mfa_ok:
        raise await finish_sign_in(request, session)  # a first login's set-up is complete
    raise go("/settings?notice=codes_saved")
