"""Strict JSON for untrusted input: objects only, no duplicate keys, no NaN."""

from __future__ import annotations

import json

from mfa_core.errors import MalformedInput


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    result: dict[str, object] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError("duplicate key")
        result[key] = value
    return result


def _no_constants(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def parse_json_object(
    data: bytes | str, error: type[MalformedInput] = MalformedInput
) -> dict[str, object]:
    """Parse a JSON object, raising ``error`` on anything else."""
    try:
        value = json.loads(data, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
        # "\ud800" parses to a lone surrogate, which is not text: it cannot be encoded to
        # hash, compare, store or log it. UnicodeEncodeError is a ValueError.
        compact_json(value).encode("utf-8")
    except (ValueError, RecursionError) as e:  # JSONDecodeError and UnicodeDecodeError too
        raise error("not a JSON object") from e
    if not isinstance(value, dict):
        raise error("not a JSON object")
    return value


def compact_json(value: object) -> str:
    """Compact JSON as the apps write it: no spaces, key order kept."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
