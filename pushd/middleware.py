"""Request middleware: errors as JSON with stable codes (HTML pages for the hosted pages),
bearer-key auth, request metrics."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from mfa_core.errors import MfaError
from pushd.appkeys import SERVICES
from pushd.errors import ApiError, from_mfa_error
from pushd.services.api_keys import Scope
from pushd.store.engine import StoreError, VersionConflict
from pushd.web.errors import error_page
from pushd.web.security import is_page

log = logging.getLogger("pushd.http")
RETRY_SOON = {"Retry-After": "1"}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_HTTP_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}
PUBLIC_API_PATHS = frozenset({"/v1/openapi.json"})


def error_response(error: ApiError) -> web.Response:
    return web.json_response(error.body(), status=error.status, headers=error.headers)


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """JSON errors for the API; the hosted pages (every other path) get HTML error pages."""
    from_router = False
    try:
        return await handler(request)
    except ApiError as e:
        error = e
    except MfaError as e:
        error = from_mfa_error(e)
    except web.HTTPException as e:
        if e.status < 400:
            raise
        code = _HTTP_CODES.get(e.status, "http_error")
        error, from_router = ApiError(e.status, code, e.reason, headers=_allow(e)), True
    except VersionConflict:  # a record that kept changing under contention: transient
        log.warning("gave up on a contended record", exc_info=True)
        error = ApiError(503, "busy", "too many changes at once; try again", headers=RETRY_SOON)
    except StoreError:
        log.exception("store unavailable")
        error = ApiError(503, "unavailable", "storage is unavailable; try again")
    except Exception:  # the last line of defence: log it, never show a traceback
        log.exception("unhandled error")
        error = ApiError(500, "internal_error", "something went wrong")
    if is_page(request.path):
        return await error_page(request, error, from_router=from_router)
    return error_response(error)


@web.middleware
async def bearer_auth(request: web.Request, handler: Handler) -> web.StreamResponse:
    """``/v1/admin`` takes admin keys, the rest of ``/v1`` API keys; nothing else needs one."""
    path = request.path
    if not path.startswith("/v1/") or path in PUBLIC_API_PATHS:
        return await handler(request)
    needed = Scope.ADMIN if path.startswith("/v1/admin/") else Scope.API
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    scope = None
    if hmac.compare_digest(scheme.lower().encode(), b"bearer") and key.strip():
        scope = await request.app[SERVICES].keys.scope_of(key.strip())
    if scope is not needed:
        raise ApiError(
            401,
            "unauthorized",
            "a valid API key is required",
            headers={"WWW-Authenticate": 'Bearer realm="pushd"'},
        )
    return await handler(request)


@web.middleware
async def count_requests(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    resource = request.match_info.route.resource
    route = resource.canonical if resource is not None else "unmatched"
    metrics = request.app[SERVICES].ctx.metrics
    metrics.http_requests.labels(route, request.method, str(response.status)).inc()
    return response


def _allow(error: web.HTTPException) -> dict[str, str]:
    allow = error.headers.get("Allow")
    return {"Allow": allow} if allow else {}
