"""Getting back in without the usual device: a recovery code, the alternative method
(one code by SMS and one by email), or manual verification of a photo ID."""

from __future__ import annotations

from aiohttp import BodyPartReader, hdrs, web

from pushd.appkeys import SERVICES
from pushd.errors import ApiError
from pushd.services.cases import MAX_EVIDENCE_BYTES, SIGNATURES
from pushd.web import csrf
from pushd.web.flow import finish_sign_in, go, page, second_step, text
from pushd.web.messages import Refused, friendly, refusal
from pushd.web.security import check_origin, client_ip
from pushd.web.session import Session, load, update

MAX_NOTE_CHARS = 1000
SMALL_FIELD_BYTES = 8192


async def recovery_page(request: web.Request) -> web.StreamResponse:
    await second_step(request)
    return await page(request, "recovery_login.html", title="Use a recovery code", error=None)


async def recovery_verify(request: web.Request) -> web.StreamResponse:
    _, fields = await csrf.form(request)
    session = await second_step(request)
    services = request.app[SERVICES]
    try:
        status = await services.mfa.status(session.username)
        await services.codes.redeem(
            status.user, text(fields, "code")[:64], client_ip=client_ip(request)
        )
    except Refused as caught:
        e = refusal(caught)
        return await page(
            request, "recovery_login.html", status=e.status, title="Use a recovery code",
            error=friendly(e),
        )  # fmt: skip
    raise await finish_sign_in(request, session)


# --- the alternative method ------------------------------------------------------------


async def alternative_page(request: web.Request) -> web.StreamResponse:
    session = await second_step(request)
    return await _alternative(request, session)


async def _alternative(
    request: web.Request,
    session: Session,
    *,
    error: str | None = None,
    status: int = 200,
    unavailable: bool = False,
) -> web.Response:
    return await page(
        request,
        "alternative.html",
        status=status,
        title="Get back in with SMS and email",
        sent_to=session.record.alternative_to if session.record.alternative_id else "",
        unavailable=unavailable,
        error=error,
    )


async def alternative_start(request: web.Request) -> web.StreamResponse:
    await csrf.form(request)
    session = await second_step(request)
    try:
        view = await request.app[SERVICES].alternative.start(session.username)
    except Refused as caught:
        e = refusal(caught)
        unavailable = e.code == "alternative_unavailable"
        return await _alternative(
            request, session, error=friendly(e), status=e.status, unavailable=unavailable
        )
    await update(
        request,
        session,
        alternative_id=view.alternative_id,
        alternative_to=f"{view.sms_to} and {view.email_to}",
    )
    raise go("/login/alternative")


async def alternative_resend(request: web.Request) -> web.StreamResponse:
    await csrf.form(request)
    session = await second_step(request)
    if not session.record.alternative_id:
        raise go("/login/alternative")
    try:
        await request.app[SERVICES].alternative.resend(session.record.alternative_id)
    except Refused as caught:
        e = refusal(caught)
        return await _alternative(request, session, error=friendly(e), status=e.status)
    raise go("/login/alternative?notice=codes_sent")


async def alternative_verify(request: web.Request) -> web.StreamResponse:
    _, fields = await csrf.form(request)
    session = await second_step(request)
    if not session.record.alternative_id:
        raise go("/login/alternative")
    try:
        await request.app[SERVICES].alternative.verify(
            session.record.alternative_id,
            sms_code=text(fields, "sms_code")[:20],
            email_code=text(fields, "email_code")[:20],
            client_ip=client_ip(request),
        )
    except Refused as caught:
        e = refusal(caught)
        return await _alternative(request, session, error=friendly(e), status=e.status)
    raise await finish_sign_in(request, session)


# --- manual verification ----------------------------------------------------------------


async def case_page(request: web.Request) -> web.StreamResponse:
    await second_step(request)
    return await page(request, "case.html", title="Manual verification", error=None)


async def case_submit(request: web.Request) -> web.StreamResponse:
    """The form is multipart: read as a stream (the document may be up to 10 MB)."""
    check_origin(request)
    fields, kind, document = await _read_case_form(request)
    csrf.check_token(await load(request), fields.get("csrf"))
    session = await second_step(request)
    error = _document_problem(kind, document)
    if error is None:
        cases = request.app[SERVICES].cases
        try:
            opened = await cases.open(session.username, note=fields.get("note", "").strip())
            await cases.add_evidence(opened.case.case_id, content_type=kind, data=document)
        except Refused as caught:
            e = refusal(caught)
            error = friendly(e)
    if error is not None:
        return await page(
            request, "case.html", status=400, title="Manual verification", error=error
        )
    return await page(
        request,
        "message.html",
        title="We have your request",
        message="Someone will compare your ID with your account and email you the outcome."
        " Your copy of the document is destroyed when the case is decided.",
        link=("/login/mfa", "Back"),
    )


async def _read_case_form(request: web.Request) -> tuple[dict[str, str], str, bytes]:
    fields: dict[str, str] = {}
    if not request.content_type.startswith("multipart/"):  # no file: the CSRF check still runs
        posted = await csrf.posted_form(request)
        return {k: v for k, v in posted.items() if isinstance(v, str)}, "", b""
    kind, document = "", b""
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            continue
        if part.name == "document":
            kind = part.headers.get(hdrs.CONTENT_TYPE, "").split(";", 1)[0].strip().lower()
            document = await _read_limited(part, MAX_EVIDENCE_BYTES)
        elif part.name in ("csrf", "note"):
            raw = await _read_limited(part, SMALL_FIELD_BYTES)
            fields[part.name] = raw.decode("utf-8", "replace")[:MAX_NOTE_CHARS]
    return fields, kind, document


async def _read_limited(part: BodyPartReader, limit: int) -> bytes:
    data = bytearray()
    while chunk := await part.read_chunk(64 * 1024):
        data += chunk
        if len(data) > limit:
            raise ApiError(413, "payload_too_large", "the document must be under 10 MB")
    return bytes(data)


def _document_problem(kind: str, document: bytes) -> str | None:
    if not document:
        return "Choose the file with the photo or scan of your ID."
    if kind not in SIGNATURES or not document.startswith(SIGNATURES[kind]):
        return "Send a photo (JPEG or PNG) or a PDF of your ID."
    return None
