"""What every page answer carries: security headers, and the session cookie when it changed.

API paths (``/v1/``, ``/push/``, health and metrics) are left exactly as they were.
"""

from __future__ import annotations

import ipaddress
from http.cookies import SimpleCookie

from aiohttp import hdrs, web

from pushd.appkeys import SERVICES
from pushd.errors import ApiError
from pushd.web.session import SET_COOKIE, cookie_name, secure_cookies

API_PREFIXES = ("/v1/", "/push/")
API_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
STATIC_CACHE = "public, max-age=31536000, immutable"  # URLs carry the file's hash


def is_page(path: str) -> bool:
    """Whether a path belongs to the hosted pages (HTML errors) rather than the API (JSON)."""
    return not (path.startswith(API_PREFIXES) or path in API_PATHS)


async def on_prepare(request: web.Request, response: web.StreamResponse) -> None:
    if not is_page(request.path):
        return
    services = request.app[SERVICES]
    secure = secure_cookies(services)
    for name, value in PAGE_HEADERS.items():
        response.headers.setdefault(name, value)
    if secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if request.path.startswith("/static/"):
        response.headers["Cache-Control"] = STATIC_CACHE if "v" in request.query else "no-cache"
    sid = request.get(SET_COOKIE)
    if sid is not None:
        # Set-Cookie as a header: aiohttp serialises response.cookies before this signal.
        response.headers.add(hdrs.SET_COOKIE, session_cookie(cookie_name(services), sid, secure))


def session_cookie(name: str, sid: str, secure: bool) -> str:
    """The cookie's header value: HttpOnly, SameSite=Lax, Path=/, Secure behind TLS; an
    empty ``sid`` clears it. No expiry: the server ends the session."""
    jar: SimpleCookie = SimpleCookie()
    jar[name] = sid
    morsel = jar[name]
    morsel["path"] = "/"
    morsel["httponly"] = True
    morsel["samesite"] = "Lax"
    if secure:
        morsel["secure"] = True
    if not sid:
        morsel["max-age"] = 0
        morsel["expires"] = "Thu, 01 Jan 1970 00:00:00 GMT"
    return morsel.OutputString()


def check_origin(request: web.Request) -> None:
    """Refuse a state-changing request another site made the browser send.

    ``Sec-Fetch-Site`` decides when the browser sends it; otherwise a real ``Origin``
    must be ours. (With ``Referrer-Policy: no-referrer`` a same-origin form post may
    carry ``Origin: null``: the CSRF token is then what protects it.)
    """
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        if site not in ("same-origin", "none"):
            raise forbidden()
        return
    origin = request.headers.get("Origin")
    if origin is None or origin == "null":
        return
    own = {
        _origin(request.app[SERVICES].ctx.settings.base_url),
        f"{request.scheme}://{request.host}",
    }
    if origin.rstrip("/") not in own:
        raise forbidden()


def forbidden() -> ApiError:
    return ApiError(
        403, "csrf_failed", "this form has expired or came from another site; reload and retry"
    )


def _origin(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


def client_ip(request: web.Request) -> str | None:
    """The user's address for the per-address throttle: the peer, or (behind a proxy that
    the settings trust) the last hop of X-Forwarded-For."""
    raw = request.remote
    if request.app[SERVICES].ctx.settings.web_forwarded_for:
        # Several header lines are one list (RFC 9110 5.3): the proxy's own entry is the last
        # of them all, whatever the client put in a header line of its own.
        forwarded = ",".join(request.headers.getall("X-Forwarded-For", []))
        raw = forwarded.rsplit(",", 1)[-1].strip() or raw
    try:
        return str(ipaddress.ip_address(raw or ""))
    except ValueError:
        return None
