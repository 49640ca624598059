"""Registration QR codes: ``pushauth://`` (push) and ``mfauth://`` (push + OATH), section 1."""

from __future__ import annotations

import re
from dataclasses import dataclass

from mfa_core.encoding import b64url_decode, b64url_encode
from mfa_core.errors import InvalidEncoding, InvalidMessageId, InvalidParameter, InvalidUri
from mfa_core.message_id import MessageKind, parse_message_id
from mfa_core.oath import OathKind, OathParameters, oath_from_params, oath_query
from mfa_core.uri import SplitUri, join_uri, split_uri

MIN_SECRET_BYTES = 32
_COLOUR = re.compile(r"[0-9a-fA-F]{6}")


@dataclass(frozen=True, slots=True, kw_only=True)
class PushRegistration:
    """Everything a ``pushauth://`` code tells the app."""

    issuer: str
    account: str
    registration_url: str
    authentication_url: str
    secret: bytes
    challenge: bytes
    message_id: str
    load_balancer_cookie: str | None = None
    background_colour: str | None = None
    image_url: str | None = None
    user_id: str | None = None
    device_profile_id: str | None = None

    @property
    def refresh_url(self) -> str:
        """The app derives the token-refresh endpoint from ``r``."""
        return self.registration_url.replace("_action=register", "_action=refresh")


@dataclass(frozen=True, slots=True, kw_only=True)
class CombinedRegistration:
    """An ``mfauth://`` code: one scan registers push and OATH together."""

    push: PushRegistration
    oath: OathParameters


def build_registration_uri(registration: PushRegistration) -> str:
    return join_uri(
        scheme="pushauth",
        host="push",
        issuer=registration.issuer,
        account=registration.account,
        params=_push_query(registration, image_encoded=True),
    )


def parse_registration_uri(uri: str) -> PushRegistration:
    return _push_from(split_uri(uri, scheme="pushauth", hosts=("push",)), image_encoded=True)


def build_combined_uri(combined: CombinedRegistration) -> str:
    push, oath = combined.push, combined.oath
    if (oath.issuer, oath.account) != (push.issuer, push.account):
        raise InvalidParameter("push and OATH must name the same issuer and account")
    return join_uri(
        scheme="mfauth",
        host=str(oath.kind),
        issuer=push.issuer,
        account=push.account,
        params=[*_push_query(push, image_encoded=False), *oath_query(oath, with_issuer=False)],
    )


def parse_combined_uri(uri: str) -> CombinedRegistration:
    split = split_uri(uri, scheme="mfauth", hosts=(OathKind.TOTP, OathKind.HOTP))
    push = _push_from(split, image_encoded=False)
    oath = oath_from_params(
        kind=OathKind(split.host), issuer=push.issuer, account=push.account, params=split.params
    )
    return CombinedRegistration(push=push, oath=oath)


def _push_query(reg: PushRegistration, *, image_encoded: bool) -> list[tuple[str, str]]:
    _check_registration(reg)
    params = [
        ("r", _text(reg.registration_url)),
        ("a", _text(reg.authentication_url)),
        ("s", b64url_encode(reg.secret)),
        ("c", b64url_encode(reg.challenge)),
        ("m", reg.message_id),
    ]
    if reg.load_balancer_cookie is not None:
        params.append(("l", _text(reg.load_balancer_cookie)))
    params.append(("issuer", _text(reg.issuer)))
    if reg.background_colour is not None:
        params.append(("b", reg.background_colour))
    if reg.image_url is not None:
        params.append(("image", _text(reg.image_url) if image_encoded else reg.image_url))
    if reg.user_id is not None:
        params.append(("uid", _text(reg.user_id)))
    if reg.device_profile_id is not None:
        params.append(("pid", _text(reg.device_profile_id)))
    return params


def _check_registration(reg: PushRegistration) -> None:
    if "_action=register" not in reg.registration_url:
        raise InvalidParameter("the registration URL must contain _action=register")
    if "_action=authenticate" not in reg.authentication_url:
        raise InvalidParameter("the authentication URL must contain _action=authenticate")
    if len(reg.secret) < MIN_SECRET_BYTES or not reg.challenge:
        raise InvalidParameter("the secret must be at least 32 bytes and the challenge non-empty")
    if reg.background_colour is not None and not _COLOUR.fullmatch(reg.background_colour):
        raise InvalidParameter("background colour must be six hex digits")
    try:
        parse_message_id(reg.message_id, MessageKind.REGISTER)
    except InvalidMessageId as e:
        raise InvalidParameter("the message id must be a REGISTER id") from e


def _push_from(split: SplitUri, *, image_encoded: bool) -> PushRegistration:
    params = split.params
    issuer = _decoded(params["issuer"]) if params.get("issuer") else split.label_issuer
    if not issuer:
        raise InvalidUri("the code names no issuer")
    registration = PushRegistration(
        issuer=issuer,
        account=split.account,
        registration_url=_decoded(split.require("r")),
        authentication_url=_decoded(split.require("a")),
        secret=_decoded_bytes(split.require("s")),
        challenge=_decoded_bytes(split.require("c")),
        message_id=split.require("m"),
        load_balancer_cookie=_optional(params, "l"),
        background_colour=params.get("b") or None,
        image_url=_optional(params, "image") if image_encoded else params.get("image") or None,
        user_id=_optional(params, "uid"),
        device_profile_id=_optional(params, "pid"),
    )
    if len(registration.secret) < MIN_SECRET_BYTES or not registration.challenge:
        raise InvalidUri("secret shorter than 32 bytes or empty challenge")
    if "_action=register" not in registration.registration_url:
        raise InvalidUri("the registration URL lacks _action=register")
    return registration


def _text(value: str) -> str:
    return b64url_encode(value.encode("utf-8"))


def _decoded_bytes(value: str) -> bytes:
    try:
        return b64url_decode(value)
    except InvalidEncoding as e:
        raise InvalidUri("a parameter is not base64url") from e


def _decoded(value: str) -> str:
    try:
        return _decoded_bytes(value).decode("utf-8")
    except UnicodeDecodeError as e:
        raise InvalidUri("a parameter is not UTF-8 text") from e


def _optional(params: dict[str, str], key: str) -> str | None:
    value = params.get(key)
    return _decoded(value) if value else None
