"""Secrets are compared in constant time: a source review, and a count of what each check does.

Why no stopwatch. ``hmac.compare_digest`` and ``==`` on a 32-byte MAC differ by a few
nanoseconds between a first-byte and a last-byte mismatch; one call of the functions around
them (an HMAC, a JSON parse) costs microseconds and its jitter on a shared two-core machine is
larger still. A timing test with a bound loose enough never to flake would pass for ``==`` too,
so it would prove nothing. Instead:

1. a review test walks the AST of pushd and mfa_core and fails on an ``==``, ``!=``, ``in`` or
   ``not in`` whose operands are named like a secret (secret, token, code, mac, signature,
   digest, hash, password) unless listed below with the reason it is safe;
2. each comparison in mfa_core is traced (``sys.settrace``/``sys.setprofile``, no patching):
   the check must call ``compare_digest`` for every candidate, and the Python lines it runs
   must not depend on where the mismatch is, or on which candidate matched. An early-exit loop
   or an ``==`` changes the counts, whatever the machine's load.
"""

from __future__ import annotations

import ast
import contextlib
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

import mfa_core
import pushd
from mfa_core.account_recovery import ContactDetails, check_codes, start_alternative
from mfa_core.encoding import b64url_decode, b64url_encode
from mfa_core.errors import MfaError
from mfa_core.jws import sign_jwt, verify_jwt
from mfa_core.oath import OathKind, OathParameters, code_at, verify_hotp
from mfa_core.push import challenge_response, verify_challenge_response
from mfa_core.recovery import generate_recovery_codes, hash_recovery_codes, redeem_recovery_code
from pushd.services.device import _same  # the device endpoint's message-id comparison
from tests.support.rng import seeded_rng

ROOTS = (Path(pushd.__file__).parent, Path(mfa_core.__file__).parent)
REPO = ROOTS[0].parent
SENSITIVE = ("secret", "token", "code", "mac", "signature", "digest", "hash", "password")

# (file, comparison as ast.unparse writes it) -> why a plain comparison is right there
REVIEWED: dict[tuple[str, str], str] = {
    (
        "pushd/services/challenges.py",
        "d.push_token == message.push_token",
    ): "push tokens address a phone (APNs/FCM); they authenticate nothing and come from us",
    (
        "pushd/web/pages_auth.py",
        "password != fields.get('password2', '')",
    ): "the two fields the person just typed into one form, not a stored secret",
    (
        "pushd/web/pages_auth.py",
        "password != fields.get('password2')",
    ): "the two fields the person just typed into one form, not a stored secret",
    (
        "mfa_core/recovery.py",
        "code not in codes",
    ): "de-duplicating freshly generated codes, before anyone has seen them",
    (
        "mfa_core/recovery.py",
        "index in code_set.used",
    ): "the position of the code that already matched in constant time, not the code",
}


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    source: str


def _words(name: str) -> list[str]:
    return [w.lower() for w in re.findall(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])", name)]


def _sensitive(name: str) -> bool:
    return any(word.removesuffix("s").endswith(SENSITIVE) for word in _words(name))


def _names(node: ast.expr) -> list[str]:  # noqa: PLR0911 - a case per kind of node
    """The identifiers an operand is read from: ``a.b[c]`` -> b, a; ``x.encode()`` -> encode, x."""
    match node:
        case ast.Name(id=name):
            return [name]
        case ast.Attribute(value=value, attr=attr):
            return [attr, *_names(value)]
        case ast.Subscript(value=value, slice=ast.Constant(value=str(key))):
            return [*_names(value), key]
        case ast.Subscript(value=value):
            return _names(value)
        case ast.Call(func=ast.Attribute(value=value, attr=attr)):
            return [attr, *_names(value)]
        case ast.Call(func=ast.Name(id=name)):
            return [name]
    return []


def _public(node: ast.expr) -> bool:
    """Literals, CONSTANTS, lengths: comparing with these reveals nothing secret."""
    match node:
        case ast.Constant():
            return True
        case ast.Name(id=name) | ast.Attribute(attr=name) if name.isupper():
            return True
        case ast.Call(func=ast.Name(id="len" | "type" | "int" | "isinstance")):
            return True
        case ast.Tuple(elts=elts) | ast.List(elts=elts) | ast.Set(elts=elts):
            return all(_public(e) for e in elts)
        case ast.UnaryOp(operand=operand):
            return _public(operand)
    return False


def plain_comparisons_of_secrets(source: str, path: str) -> Iterator[Finding]:
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Compare):
            continue
        operands = [node.left, *node.comparators]
        for op, left, right in zip(node.ops, operands, operands[1:], strict=False):
            if not isinstance(op, ast.Eq | ast.NotEq | ast.In | ast.NotIn):
                continue
            if _public(left) or _public(right):
                continue
            if any(_sensitive(name) for name in _names(left) + _names(right)):
                yield Finding(path, node.lineno, ast.unparse(node))


def all_findings() -> list[Finding]:
    found: list[Finding] = []
    for root in ROOTS:
        for file in sorted(root.rglob("*.py")):
            relative = file.relative_to(REPO).as_posix()
            found += plain_comparisons_of_secrets(file.read_text(encoding="utf-8"), relative)
    return found


def test_secrets_are_compared_with_compare_digest() -> None:
    findings = all_findings()
    unreviewed = [f for f in findings if (f.path, f.source) not in REVIEWED]
    assert unreviewed == [], (
        "compare secrets with hmac.compare_digest, or add the comparison to REVIEWED with why"
        " it is safe"
    )
    stale = set(REVIEWED) - {(f.path, f.source) for f in findings}
    assert stale == set(), "REVIEWED lists comparisons that are gone: remove them"


@pytest.mark.parametrize(
    ("source", "flagged"),
    [
        ("ok = expected_mac == given_mac", True),
        ("ok = signature != hmac.new(k, m, sha256).digest()", True),
        ("ok = stored.digest == candidate", True),
        ("ok = record.csrf_token == fields['csrf']", True),
        ("ok = user.password_hash == hashed", True),
        ("ok = code.encode() == sent.encode()", True),
        ("ok = given in session.tokens", True),
        ("ok = hmac.compare_digest(expected_mac, given_mac)", False),
        ("ok = token is None", False),
        ("ok = len(token) == 43", False),
        ("ok = code == ''", False),
        ("ok = error.code == ErrorCode.LOCKED", False),
        ("ok = kind in ('totp', 'hotp')", False),
        ("ok = status == 200", False),
    ],
)
def test_the_review_flags_what_it_should(source: str, flagged: bool) -> None:
    assert bool(list(plain_comparisons_of_secrets(source, "x.py"))) is flagged


# --- what each comparison does, counted -------------------------------------------------


@dataclass
class Trace:
    lines: Counter[tuple[str, int]]
    order: list[tuple[str, int]]
    compare_digest: int


def trace(check: Callable[[], object]) -> Trace:
    """Run ``check`` (an MfaError is its "no"), recording the mfa_core/pushd lines it runs and
    how often it calls compare_digest."""
    order: list[tuple[str, int]] = []
    calls = 0
    roots = tuple(str(root) for root in ROOTS)

    def lines(frame: FrameType, event: str, _arg: Any) -> Any:
        if event == "line":
            order.append((frame.f_code.co_filename, frame.f_lineno))
        return lines

    def calls_into(frame: FrameType, event: str, _arg: Any) -> Any:
        return lines if frame.f_code.co_filename.startswith(roots) else None

    def profile(_frame: FrameType, event: str, arg: Any) -> None:
        nonlocal calls
        if event == "c_call" and getattr(arg, "__name__", "") == "compare_digest":
            calls += 1

    old_trace, old_profile = sys.gettrace(), sys.getprofile()
    sys.settrace(calls_into)
    sys.setprofile(profile)
    try:
        with contextlib.suppress(MfaError):
            check()
    finally:
        sys.setprofile(old_profile)
        sys.settrace(old_trace)
    return Trace(Counter(order), order, calls)


def flip(data: bytes, index: int) -> bytes:
    changed = bytearray(data)
    changed[index] ^= 0x01
    return bytes(changed)


KEY = bytes(range(32))


def test_a_jwt_signature_check_does_the_same_work_wherever_it_differs() -> None:
    header, payload, signature = sign_jwt({"response": "x" * 44}, KEY).split(".")
    mac = b64url_decode(signature)

    def with_mac(mac: bytes) -> Callable[[], object]:
        return lambda: verify_jwt(f"{header}.{payload}.{b64url_encode(mac)}", KEY)

    right, first, last = (trace(with_mac(m)) for m in (mac, flip(mac, 0), flip(mac, -1)))
    assert right.compare_digest == first.compare_digest == last.compare_digest == 1
    assert first.order == last.order


def test_a_challenge_response_check_does_the_same_work_wherever_it_differs() -> None:
    challenge = bytes(32)
    good = challenge_response(KEY, challenge)
    first = trace(lambda: verify_challenge_response(KEY, challenge, "A" + good[1:]))
    last = trace(lambda: verify_challenge_response(KEY, challenge, good[:-2] + "A="))
    assert first.compare_digest == last.compare_digest == 1
    assert first.order == last.order


def test_the_device_endpoints_message_id_check_is_constant_time() -> None:
    stored = "AUTHENTICATE:6f1f7a3e-4a70-4c4c-9d4d-1e2a8c1f0b7a1732900000000"
    first = trace(lambda: _same(stored, "X" + stored[1:]))
    last = trace(lambda: _same(stored, stored[:-1] + "X"))
    assert first.compare_digest == last.compare_digest == 1
    assert first.order == last.order


def test_a_recovery_code_is_compared_with_every_stored_digest() -> None:
    hash_key = bytes(range(32, 64))
    codes = generate_recovery_codes(seeded_rng(9))
    stored = hash_recovery_codes(codes, owner="d", key=hash_key, rng=bytes, now=0.0)
    redeem = [
        trace(lambda c=code: redeem_recovery_code([stored], c, key=hash_key))  # type: ignore[misc]
        for code in (codes[0], codes[-1], "0000000000")
    ]
    assert [t.compare_digest for t in redeem] == [len(codes)] * 3
    assert redeem[0].lines == redeem[1].lines  # the first code or the last: the same work


def test_a_hotp_code_is_compared_with_every_counter_in_the_window() -> None:
    params = OathParameters(kind=OathKind.HOTP, secret=KEY[:20], account="a")
    window = [
        trace(lambda n=n: verify_hotp(params, code_at(params, n), next_counter=0, look_ahead=9))  # type: ignore[misc]
        for n in (0, 9)
    ]
    assert [t.compare_digest for t in window] == [10, 10]
    assert window[0].lines == window[1].lines


def test_both_alternative_codes_are_always_compared() -> None:
    issued = start_alternative(
        ContactDetails(email="a@example.com", email_verified=True, phone="+442079460958"),
        rng=lambda n: bytes(range(n)),
        now=0.0,
        key=KEY,
    )
    sms, email, challenge = issued.sms_code, issued.email_code, issued.challenge
    wrong = "0" * len(sms) if sms != "0" * len(sms) else "1" * len(sms)
    attempts = [
        trace(lambda s=s, e=e: check_codes(challenge, sms_code=s, email_code=e, key=KEY))  # type: ignore[misc]
        for s, e in ((wrong, email), (sms, wrong), (wrong, wrong))
    ]
    assert [t.compare_digest for t in attempts] == [2, 2, 2]
    assert attempts[0].order == attempts[1].order == attempts[2].order
