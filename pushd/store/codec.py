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
    # type() rather than isinstance(): True is an int, and no version.
    if not (isinstance(envelope, list) and len(envelope) == 2 and type(envelope[0]) is int):
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


# Each type's encoder and each hint's decoder is worked out once and cached: records are
# decoded on every request, and walking type hints per value cost more than the I/O.
Convert = Callable[[Any], Any]


def _to_plain(value: Any) -> Any:
    kind = type(value)
    if kind in _PLAIN:
        return value
    encoder = _ENCODERS.get(kind)
    if encoder is None:
        encoder = _ENCODERS[kind] = _encoder(kind)
    return encoder(value)


_ENCODERS: dict[type, Convert] = {}
_PLAIN = frozenset({str, bytes, int, float, bool, type(None)})  # msgpack's own types


def _encoder(kind: type) -> Convert:
    if dataclasses.is_dataclass(kind):
        names = tuple(f.name for f in dataclasses.fields(kind))
        return lambda value: {name: _to_plain(getattr(value, name)) for name in names}
    if issubclass(kind, enum.Enum):
        return _enum_value
    if issubclass(kind, (frozenset, set)):
        return lambda value: sorted([_to_plain(v) for v in value])
    if issubclass(kind, (tuple, list)):
        return lambda value: [_to_plain(v) for v in value]
    if issubclass(kind, Mapping):
        return lambda value: {k: _to_plain(v) for k, v in value.items()}
    return _same


def _enum_value(value: enum.Enum) -> Any:
    return value.value


def _same(value: Any) -> Any:
    return value


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _from_plain(value: Any, hint: Any) -> Any:
    return _decoder(hint)(value)


@cache
def _decoder(hint: Any) -> Convert:  # noqa: PLR0911 - one branch per kind of hint
    origin = get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return _union_decoder(get_args(hint))
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        cls = hint
        return lambda value: _from_dataclass(value, cls)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return _enum_decoder(hint)
    if origin in (tuple, frozenset):
        return _sequence_decoder(hint, origin)
    if origin in (dict, Mapping, typing.Mapping) or hint in (dict, Mapping):
        return _mapping_decoder(hint)
    if hint in (str, bytes, int, float, bool):
        exact: type = hint  # msgpack yields exactly these; anything else takes the checks

        def scalar(value: Any) -> Any:
            return value if type(value) is exact else _scalar(value, exact)

        return scalar
    return lambda value: _scalar(value, hint)


def _union_decoder(options: tuple[Any, ...]) -> Convert:
    nullable = type(None) in options
    decoders = [_decoder(option) for option in options if option is not type(None)]

    def union(value: Any) -> Any:
        if value is None and nullable:
            return None
        for decode_option in decoders:
            try:
                return decode_option(value)
            except CodecError:
                continue
        raise CodecError(f"{value!r} matches none of {options}")

    return union


def _enum_decoder(cls: type[enum.Enum]) -> Convert:
    members = {m.value: m for m in cls if isinstance(m.value, (str, int))}

    def member(value: Any) -> Any:
        if type(value) in (str, int) and (found := members.get(value)) is not None:
            return found
        try:
            return cls(value)
        except ValueError as e:
            raise CodecError(f"{value!r} is not a {cls.__name__}") from e

    return member


def _sequence_decoder(hint: Any, origin: Any) -> Convert:
    if origin is tuple and get_args(hint)[-1] is not Ellipsis:
        return _fixed_tuple_decoder(hint)
    item_hint = get_args(hint)[0]
    item = _decoder(item_hint)
    build = tuple if origin is tuple else frozenset
    exact = item_hint if item_hint in (str, bytes, int, float, bool) else None

    def sequence(value: Any) -> Any:
        if not isinstance(value, list):
            raise CodecError(f"expected a list for {hint}")
        if exact is not None and all(type(v) is exact for v in value):
            return build(value)  # the common case: nothing to convert or check per item
        return build([item(v) for v in value])

    return sequence


def _fixed_tuple_decoder(hint: Any) -> Convert:
    """``tuple[int, int, int]``: exactly three items, each of its own type."""
    items = [_decoder(arg) for arg in get_args(hint)]

    def fixed(value: Any) -> Any:
        if not isinstance(value, list) or len(value) != len(items):
            raise CodecError(f"expected {len(items)} items for {hint}")
        return tuple(decode_item(v) for decode_item, v in zip(items, value, strict=True))

    return fixed


def _mapping_decoder(hint: Any) -> Convert:
    value_decoder = _decoder(get_args(hint)[1] if get_args(hint) else Any)

    def mapping(value: Any) -> Any:
        if not isinstance(value, dict):
            raise CodecError(f"expected a map for {hint}")
        return {k: value_decoder(v) for k, v in value.items()}

    return mapping


@cache
def _field_decoders(cls: type) -> tuple[tuple[str, Convert], ...]:
    """Built on first use, not with the class's decoder, so nested types may refer back."""
    hints = _hints(cls)
    return tuple((f.name, _decoder(hints[f.name])) for f in dataclasses.fields(cls))


def _from_dataclass(value: Any, cls: type) -> Any:
    if not isinstance(value, dict):
        raise CodecError(f"expected a map for {cls.__name__}")
    kwargs = {name: decode(value[name]) for name, decode in _field_decoders(cls) if name in value}
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
