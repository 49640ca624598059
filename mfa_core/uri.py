"""The ``scheme://type/issuer:account?key=value`` shape shared by pushauth, mfauth and otpauth."""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

from mfa_core.errors import InvalidUri

MAX_URI_CHARS = 8192
_ENCODED_COLON = re.compile("%3a", re.IGNORECASE)


@dataclass(frozen=True, slots=True, kw_only=True)
class SplitUri:
    host: str
    label_issuer: str | None
    account: str
    params: dict[str, str]

    def require(self, key: str) -> str:
        value = self.params.get(key)
        if not value:
            raise InvalidUri(f"missing parameter {key!r}")
        return value


def split_uri(uri: str, *, scheme: str, hosts: Collection[str]) -> SplitUri:
    """Split a provisioning URI into its type, label and (percent-decoded) parameters."""
    if not isinstance(uri, str) or len(uri) > MAX_URI_CHARS:
        raise InvalidUri("not a provisioning URI")
    try:
        uri.encode("utf-8")  # a lone surrogate (bytes that were not UTF-8) is not text
        parts = urlsplit(uri.strip())
    except ValueError as e:  # UnicodeEncodeError too
        raise InvalidUri("not a provisioning URI") from e
    if parts.scheme.lower() != scheme:
        raise InvalidUri(f"not a {scheme}:// URI")
    host = parts.netloc.lower()
    if host not in hosts:
        raise InvalidUri(f"unknown {scheme} type")
    label_issuer, account = _split_label(parts.path.removeprefix("/"))
    return SplitUri(
        host=host, label_issuer=label_issuer, account=account, params=_parse_query(parts.query)
    )


def join_uri(
    *, scheme: str, host: str, issuer: str, account: str, params: Sequence[tuple[str, str]]
) -> str:
    """Build a provisioning URI; values are percent-encoded only where they must be."""
    label = f"{quote(issuer, safe='@')}:{quote(account, safe='@')}"
    query = "&".join(f"{key}={quote(value, safe=':@/')}" for key, value in params)
    return f"{scheme}://{host}/{label}?{query}"


def _split_label(raw: str) -> tuple[str | None, str]:
    if ":" in raw:
        raw_issuer, _, raw_account = raw.partition(":")
    elif _ENCODED_COLON.search(raw):
        raw_issuer, raw_account = _ENCODED_COLON.split(raw, maxsplit=1)
    else:
        raw_issuer, raw_account = "", raw
    issuer, account = _unquote(raw_issuer), _unquote(raw_account)
    if not account:
        raise InvalidUri("the label names no account")
    return issuer or None, account


def _parse_query(query: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for item in query.split("&"):
        if not item:
            continue
        raw_key, sep, raw_value = item.partition("=")
        key = _unquote(raw_key)
        if not sep or key in params:
            raise InvalidUri("malformed or repeated parameter")
        params[key] = _unquote(raw_value)
    return params


def _unquote(text: str) -> str:
    try:
        return unquote(text, errors="strict")
    except UnicodeDecodeError as e:
        raise InvalidUri("percent-encoding is not UTF-8") from e
