"""Versioned msgpack records (never pickle).

A record is a frozen dataclass. It is written as ``[schema_version, {field: value}]``
with nested dataclasses, enums, tuples, frozensets and bytes rebuilt from the type
hints on the way back. Fields added later take their defaults; removed fields are
ignored; a class may declare ``MIGRATIONS`` to rewrite old versions.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any, ClassVar, Protocol, TypeVar, get_args, get_origin

import msgpack


class CodecError(Exception):
    """Bytes that are not a record of the expected type and version."""


class Record(Protocol):
    __dataclass_fields__: ClassVar[dict[str, dataclasses.Field[Any]]]


R = TypeVar("R", bound=Record)
MAX_RECORD_BYTES = 4 * 1024 * 1024


def encode(record: Record) -> bytes:
    version = getattr(type(record), "SCHEMA_VERSION", 1)
    packed: bytes = msgpack.packb([version, _to_plain(record)], use_bin_type=True)
    return packed


def decode(data: bytes, cls: type[R]) -> R:
    if len(data) > MAX_RECORD_BYTES:
        raise CodecError("record too large")
    try:
        envelope = msgpack.unpackb(data, raw=False, strict_map_key=True, use_list=True)
    except (ValueError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError) as e:
        raise CodecError("not msgpack") from e
    if not (isinstance(envelope, list) and len(envelope) == 2 and isinstance(envelope[0], int)):
        raise CodecError("not a versioned record")
    version, fields = envelope
    current = getattr(cls, "SCHEMA_VERSION", 1)
    migrations: Mapping[int, Callable[[dict[str, Any]], dict[str, Any]]] = getattr(
        cls, "MIGRATIONS", {}
    )
    while version < current and isinstance(fields, dict):
        if version not in migrations:
            raise CodecError(f"no migration from version {version}")
        fields = migrations[version](fields)
        version += 1
    if version != current:
        raise CodecError(f"record version {version} is newer than this pushd ({current})")
    return typing.cast(R, _from_plain(fields, cls))


def _to_plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (tuple, list, frozenset, set)):
        items = [_to_plain(v) for v in value]
        return sorted(items) if isinstance(value, (frozenset, set)) else items
    if isinstance(value, Mapping):
        return {k: _to_plain(v) for k, v in value.items()}
    return value


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _from_plain(value: Any, hint: Any) -> Any:
    origin = get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return _from_union(value, get_args(hint))
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return _from_dataclass(value, hint)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        try:
            return hint(value)
        except ValueError as e:
            raise CodecError(f"{value!r} is not a {hint.__name__}") from e
    if origin in (tuple, frozenset):
        if not isinstance(value, list):
            raise CodecError(f"expected a list for {hint}")
        args = get_args(hint)
        items = [_from_plain(v, args[0]) for v in value]
        return tuple(items) if origin is tuple else frozenset(items)
    if origin in (dict, Mapping, typing.Mapping) or hint in (dict, Mapping):
        if not isinstance(value, dict):
            raise CodecError(f"expected a map for {hint}")
        value_hint = get_args(hint)[1] if get_args(hint) else Any
        return {k: _from_plain(v, value_hint) for k, v in value.items()}
    return _scalar(value, hint)


def _from_union(value: Any, options: tuple[Any, ...]) -> Any:
    if value is None and type(None) in options:
        return None
    for option in options:
        if option is type(None):
            continue
        try:
            return _from_plain(value, option)
        except CodecError:
            continue
    raise CodecError(f"{value!r} matches none of {options}")


def _from_dataclass(value: Any, cls: type) -> Any:
    if not isinstance(value, dict):
        raise CodecError(f"expected a map for {cls.__name__}")
    hints = _hints(cls)
    kwargs = {
        f.name: _from_plain(value[f.name], hints[f.name])
        for f in dataclasses.fields(cls)
        if f.name in value
    }
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as e:
        raise CodecError(f"cannot rebuild {cls.__name__}: {e}") from e


def _scalar(value: Any, hint: Any) -> Any:
    if hint is Any or hint is object:
        return value
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint is bool and not isinstance(value, bool):
        raise CodecError("expected a bool")
    if hint in (int, float) and isinstance(value, bool):
        raise CodecError(f"expected {hint.__name__}")
    if isinstance(hint, type) and not isinstance(value, hint):
        raise CodecError(f"expected {hint.__name__}, got {type(value).__name__}")
    return value
