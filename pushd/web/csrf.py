"""CSRF protection: every POST carries the session's token (a hidden field, or a header
for the pages' own fetch calls), compared in constant time; the origin is checked too."""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from aiohttp import web

from pushd.errors import invalid_request
from pushd.web.security import check_origin, forbidden
from pushd.web.session import Session, load
from pushd.wire import read_json

FIELD = "csrf"
HEADER = "X-CSRF-Token"
MAX_FIELD_CHARS = 4096

Form = Mapping[str, str]


def check_token(session: Session | None, token: object) -> Session:
    if session is None or not isinstance(token, str):
        raise forbidden()
    if not hmac.compare_digest(token.encode(), session.record.csrf_token.encode()):
        raise forbidden()
    return session


async def posted_form(request: web.Request) -> Mapping[str, object]:
    """aiohttp's form parsing, with bytes that are not text in the declared (or an unknown)
    charset refused with a 400 rather than a 500."""
    try:
        return await request.post()
    except (ValueError, LookupError) as e:  # UnicodeDecodeError is a ValueError
        raise invalid_request("the form is not text") from e


async def form(request: web.Request) -> tuple[Session, Form]:
    """The session and the posted fields (text only; each field at most 4096 characters)."""
    check_origin(request)
    session = await load(request)
    posted = await posted_form(request)
    check_token(session, posted.get(FIELD))
    assert session is not None  # noqa: S101 - check_token raised otherwise
    fields = {
        key: value[:MAX_FIELD_CHARS] for key, value in posted.items() if isinstance(value, str)
    }
    return session, fields


async def json_body(request: web.Request) -> tuple[Session, dict[str, object]]:
    """For the pages' fetch calls: the token comes in the ``X-CSRF-Token`` header."""
    check_origin(request)
    session = check_token(await load(request), request.headers.get(HEADER))
    return session, await read_json(request, required=False)
