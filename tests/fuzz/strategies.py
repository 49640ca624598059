"""Hypothesis strategies for untrusted input, and the one settings profile tests/fuzz uses."""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from mfa_core.oath import APP_DIGITS, MAX_PERIOD, OathKind, OathParameters
from mfa_core.push_uri import PushRegistration


def fuzz_settings(examples: int) -> settings:
    """Derandomized and without an example database: CI runs the same inputs every time."""
    return settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )


# --- JSON --------------------------------------------------------------------------------

# Lone surrogates included: JSON's \ud800 escape puts them in a Python string. (Built from a
# list: st.text() drops surrogates from any alphabet it is given.)
any_text = st.lists(
    st.characters(exclude_categories=()) | st.sampled_from('\ud800\udcff\x00"\\'),
    max_size=40,
).map("".join)


def json_values_with(text: st.SearchStrategy[str]) -> st.SearchStrategy[object]:
    """Mostly scalars (what protocol fields hold), sometimes a small nested value: deep
    recursive JSON is slow to generate and the parsers only look one level down."""
    scalars = (
        st.none()
        | st.booleans()
        | st.integers(min_value=-(2**70), max_value=2**70)
        | st.floats(allow_nan=False, allow_infinity=False)
        | text
    )
    nested = st.recursive(
        scalars,
        lambda children: (
            st.lists(children, max_size=3) | st.dictionaries(text, children, max_size=3)
        ),
        max_leaves=4,
    )
    return scalars | nested


json_values = json_values_with(any_text)
json_objects = st.dictionaries(any_text, json_values, max_size=6)
# What a well-behaved client sends: text that encodes as UTF-8.
clean_json_objects = st.dictionaries(
    st.text(max_size=20), json_values_with(st.text(max_size=20)), max_size=6
)

# --- registration and OATH URIs ------------------------------------------------------------

labels = st.text(alphabet=st.characters(exclude_categories=["Cs"]), min_size=1, max_size=24)
message_ids = st.builds(
    lambda uuid, ms: f"REGISTER:{uuid}{ms}",
    st.uuids(version=4),
    st.integers(min_value=0, max_value=10**15 - 1),
)
urls = st.builds(
    lambda host, path, action: f"https://{host}/{path}?_action={action}",
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789.-", min_size=1, max_size=20),
    st.text(max_size=20),
    st.just("register"),
)


@st.composite
def push_registrations(draw: st.DrawFn) -> PushRegistration:
    base = draw(urls)
    optional = st.none() | labels
    return PushRegistration(
        issuer=draw(labels),
        account=draw(labels),
        registration_url=base,
        authentication_url=base.replace("_action=register", "_action=authenticate"),
        secret=draw(st.binary(min_size=32, max_size=64)),
        challenge=draw(st.binary(min_size=1, max_size=64)),
        message_id=draw(message_ids),
        load_balancer_cookie=draw(optional),
        background_colour=draw(
            st.none() | st.text(alphabet="0123456789abcdefABCDEF", min_size=6, max_size=6)
        ),
        image_url=draw(optional),
        user_id=draw(optional),
        device_profile_id=draw(optional),
    )


@st.composite
def oath_parameters(draw: st.DrawFn, *, with_issuer: bool = True) -> OathParameters:
    kind = draw(st.sampled_from(OathKind))
    return OathParameters(
        kind=kind,
        secret=draw(st.binary(min_size=10, max_size=64)),
        account=draw(labels),
        issuer=draw(st.none() | labels) if with_issuer else None,
        digits=draw(st.sampled_from(APP_DIGITS)),
        algorithm=draw(st.sampled_from(["md5", "sha1", "sha224", "sha256", "sha384", "sha512"])),
        period=draw(st.integers(1, MAX_PERIOD)) if kind is OathKind.TOTP else 30,
        counter=draw(st.integers(0, 2**64 - 1)) if kind is OathKind.HOTP else 0,
    )


# Pieces a mutated URI is made of: the keys, separators and escapes the parsers split on.
uri_pieces = st.sampled_from(
    ["r=", "a=", "s=", "c=", "m=", "l=", "issuer=", "secret=", "digits=", "period=", "counter=",
     "algorithm=", "image=", "&", "=", "?", "#", "%", "%3A", "%3a", "%ED%A0%80", "%FF", ":", "/",
     "//", "@", "[", "]", " ", "\t", "\x00", "é", "\ud800", "AA", "A" * 44, "-1", "99999999999"]
)  # fmt: skip

# --- stored records, generated from their type hints ----------------------------------------


def values_of(hint: Any) -> st.SearchStrategy[Any]:  # noqa: PLR0911 - a branch per kind of hint
    """Valid values of a record field type (what pushd itself would write)."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return st.one_of([values_of(a) for a in args])
    if hint is type(None):
        return st.none()
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        hints = typing.get_type_hints(hint)
        fields = {f.name: values_of(hints[f.name]) for f in dataclasses.fields(hint)}
        return st.fixed_dictionaries(fields).map(lambda kw: hint(**kw))
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return st.lists(values_of(args[0]), max_size=3).map(tuple)
        return st.tuples(*(values_of(a) for a in args))
    if origin is frozenset:
        return st.frozensets(values_of(args[0]), max_size=3)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return st.sampled_from(hint)
    scalars: dict[Any, st.SearchStrategy[Any]] = {
        str: st.text(max_size=12),
        bytes: st.binary(max_size=12),
        int: st.integers(min_value=-(2**63), max_value=2**64 - 1),
        float: st.floats(allow_nan=False),
        bool: st.booleans(),
    }
    return scalars[hint]


# msgpack values a corrupted record might hold instead of a field's value.
msgpack_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats()
    | st.text(max_size=8)
    | st.binary(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=8,
)
