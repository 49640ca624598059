"""Server-side sessions for the hosted pages.

The browser holds a random id in an HttpOnly, SameSite=Lax cookie (Secure, with the
``__Host-`` prefix, when ``PUBLIC_URL`` is https); the store holds the session under the
id's SHA-256, so a copy of the store opens no session. The id and the CSRF token are
replaced at every privilege change (password accepted, second factor passed), which
prevents session fixation. A session ends after ``SESSION_IDLE_TIMEOUT`` without a
request, after ``SESSION_MAX_AGE``, and when the account's password changes.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, replace
from typing import Any

from aiohttp import web

from pushd.appkeys import SERVICES
from pushd.services.bundle import Services
from pushd.store.records import SessionRecord

PLAIN_COOKIE, SECURE_COOKIE = "pushd_session", "__Host-pushd_session"
TOUCH_EVERY = 60.0  # seconds: a busy page does not write the session on every request
_CURRENT = web.RequestKey["Session | None"]("pushd_web_session")
# Read by security.on_prepare: the id to set in the cookie, or "" to clear it.
SET_COOKIE = web.RequestKey[str]("pushd_web_set_cookie")


@dataclass(frozen=True, slots=True)
class Session:
    sid: str  # the cookie's value; never stored
    record: SessionRecord

    @property
    def signed_in(self) -> bool:
        return self.record.password_ok and self.record.mfa_ok

    @property
    def username(self) -> str:
        return self.record.username


def secure_cookies(services: Services) -> bool:
    return services.ctx.settings.base_url.startswith("https://")


def cookie_name(services: Services) -> str:
    return SECURE_COOKIE if secure_cookies(services) else PLAIN_COOKIE


def _digest(sid: str) -> str:
    return hashlib.sha256(sid.encode("ascii", "replace")).hexdigest()


def _expiry(services: Services, created_at: float, now: float) -> float:
    settings = services.ctx.settings
    return min(now + settings.session_idle_timeout, created_at + settings.session_max_age)


async def load(request: web.Request) -> Session | None:
    """The request's valid session, or None (an ended one is deleted)."""
    if _CURRENT in request:
        return request[_CURRENT]
    services = request.app[SERVICES]
    sid = request.cookies.get(cookie_name(services), "")
    session = await _valid(services, sid) if 20 <= len(sid) <= 64 else None
    if session is None and sid:
        request[SET_COOKIE] = ""  # forget the stale cookie
    request[_CURRENT] = session
    return session


async def _valid(services: Services, sid: str) -> Session | None:
    store, now = services.ctx.store, services.ctx.clock()
    found = await store.sessions.get(_digest(sid))
    if found is None:
        return None
    record = found.record
    ended = record.expires_at <= now
    if record.user_id and not ended:
        user = await store.users.get(record.user_id)
        changed = user.record.account.password_changed_at if user else None
        ended = user is None or (changed is not None and changed > record.created_at)
    if ended:
        await store.sessions.delete(_digest(sid))
        return None
    if now - record.seen_at >= TOUCH_EVERY:
        expires_at = _expiry(services, record.created_at, now)
        mutated = await store.sessions.mutate(
            _digest(sid), lambda r: replace(r, seen_at=now, expires_at=expires_at)
        )
        if mutated is None:
            return None
        record = mutated.record
    return Session(sid, record)


async def ensure(request: web.Request) -> Session:
    """The request's session, creating an anonymous one (it carries the CSRF token)."""
    return await load(request) or await _create(request, _blank(request.app[SERVICES]))


def _blank(services: Services) -> SessionRecord:
    now = services.ctx.clock()
    return SessionRecord(
        created_at=now,
        seen_at=now,
        expires_at=_expiry(services, now, now),
        csrf_token=secrets.token_urlsafe(32),
    )


async def _create(request: web.Request, record: SessionRecord) -> Session:
    sid = secrets.token_urlsafe(32)
    await request.app[SERVICES].ctx.store.sessions.insert(_digest(sid), record)
    session = Session(sid, record)
    request[_CURRENT] = session
    request[SET_COOKIE] = sid
    return session


async def update(request: web.Request, session: Session, **changes: Any) -> Session:
    """Change the session's fields in place (same id)."""
    store = request.app[SERVICES].ctx.store
    mutated = await store.sessions.mutate(_digest(session.sid), lambda r: replace(r, **changes))
    record = mutated.record if mutated else replace(session.record, **changes)
    updated = Session(session.sid, record)
    request[_CURRENT] = updated
    return updated


async def rotate(request: web.Request, session: Session | None, **changes: Any) -> Session:
    """A privilege change: a new id and CSRF token; the old id is dropped at once."""
    services = request.app[SERVICES]
    base = session.record if session else _blank(services)
    fresh = _blank(services)
    record = replace(
        base,
        created_at=fresh.created_at,
        seen_at=fresh.seen_at,
        expires_at=fresh.expires_at,
        csrf_token=fresh.csrf_token,
        **changes,
    )
    if session is not None:
        await services.ctx.store.sessions.delete(_digest(session.sid))
    return await _create(request, record)


async def end(request: web.Request, session: Session | None) -> None:
    if session is not None:
        await request.app[SERVICES].ctx.store.sessions.delete(_digest(session.sid))
    request[_CURRENT] = None
    request[SET_COOKIE] = ""


def seal(request: web.Request, text: str) -> bytes:
    return request.app[SERVICES].ctx.vault.seal(text.encode("utf-8")) if text else b""


def unseal(request: web.Request, sealed: bytes) -> str:
    return request.app[SERVICES].ctx.vault.open(sealed).decode("utf-8") if sealed else ""
