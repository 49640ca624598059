"""Compact JWS tokens as an attacker would write them: every trick against an HS256 verifier.

Each forgery is built from the claims a genuine reply carries (so only the token's header
or signature is wrong) and from the key material an attacker may plausibly hold: the device
secret itself (a verifier that reads ``alg`` loosely would then accept it), another device's
secret they own, an empty key, or a key of their own named in the header.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Mapping

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from mfa_core.encoding import b64url_encode
from mfa_core.jsonutil import compact_json

Forge = Callable[[Mapping[str, object], bytes, bytes], str]
"""(claims, the device's secret, a secret the attacker owns) -> token"""

_RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def token(header: bytes, claims: Mapping[str, object], sign: Callable[[bytes], bytes]) -> str:
    payload = compact_json(dict(claims)).encode()
    signing_input = f"{b64url_encode(header)}.{b64url_encode(payload)}"
    return f"{signing_input}.{b64url_encode(sign(signing_input.encode()))}"


def hmac_with(key: bytes, digest: str = "sha256") -> Callable[[bytes], bytes]:
    return lambda data: hmac.new(key, data, getattr(hashlib, digest)).digest()


def rsa_signature(data: bytes) -> bytes:
    return _RSA.sign(data, padding.PKCS1v15(), hashes.SHA256())


def header(**fields: object) -> bytes:
    return json.dumps(fields, separators=(",", ":")).encode()


FORGERIES: dict[str, Forge] = {
    "alg none, no signature": lambda c, _s, _a: token(header(alg="none"), c, lambda _: b""),
    "alg none, a valid HS256 MAC": lambda c, s, _a: token(header(alg="none"), c, hmac_with(s)),
    "alg None (capitalised)": lambda c, s, _a: token(header(alg="None"), c, hmac_with(s)),
    "alg hs256 (lower case), a valid MAC": lambda c, s, _a: token(
        header(alg="hs256"), c, hmac_with(s)
    ),
    "alg HS512 under the secret": lambda c, s, _a: token(
        header(alg="HS512", typ="JWT"), c, hmac_with(s, "sha512")
    ),
    "alg HS384 under the secret": lambda c, s, _a: token(
        header(alg="HS384"), c, hmac_with(s, "sha384")
    ),
    "RS256, the secret used as the public key (HMAC)": lambda c, s, _a: token(
        header(alg="RS256", typ="JWT"), c, hmac_with(s)
    ),
    "RS256, a real RSA signature with the key in jwk": lambda c, _s, _a: token(
        header(alg="RS256", jwk={"kty": "RSA", "e": "AQAB", "n": "attacker"}), c, rsa_signature
    ),
    "ES256 header, HMAC signature": lambda c, s, _a: token(header(alg="ES256"), c, hmac_with(s)),
    "no alg at all, a valid MAC": lambda c, s, _a: token(header(typ="JWT"), c, hmac_with(s)),
    "alg as a list": lambda c, s, _a: token(header(alg=["HS256"]), c, hmac_with(s)),
    "alg twice: none then HS256, a valid MAC": lambda c, s, _a: token(
        b'{"alg":"none","alg":"HS256"}', c, hmac_with(s)
    ),
    "alg twice: HS256 then none, a valid MAC": lambda c, s, _a: token(
        b'{"alg":"HS256","alg":"none"}', c, hmac_with(s)
    ),
    "crit extension the verifier does not know": lambda c, s, _a: token(
        header(alg="HS256", b64=False, crit=["b64"]), c, hmac_with(s)
    ),
    "kid naming the attacker's own device, signed with its secret": lambda c, _s, a: token(
        header(alg="HS256", typ="JWT", kid="attacker-device"), c, hmac_with(a)
    ),
    "kid path traversal, signed with an empty key": lambda c, _s, _a: token(
        header(alg="HS256", kid="../../../../../../dev/null"), c, hmac_with(b"")
    ),
    "kid SQL injection, signed with zero bytes": lambda c, _s, _a: token(
        header(alg="HS256", kid="' UNION SELECT '00000000000000000000000000000000"),
        c,
        hmac_with(bytes(32)),
    ),
    "jwk naming the attacker's own HMAC key": lambda c, _s, a: token(
        header(alg="HS256", jwk={"kty": "oct", "k": b64url_encode(a)}), c, hmac_with(a)
    ),
    "HS256 under the attacker's own secret": lambda c, _s, a: token(
        header(typ="JWT", alg="HS256"), c, hmac_with(a)
    ),
    "signature stripped": lambda c, s, _a: (
        token(header(alg="HS256"), c, hmac_with(s)).rsplit(".", 1)[0] + "."
    ),
    "signature truncated to 16 bytes": lambda c, s, _a: token(
        header(alg="HS256"), c, lambda data: hmac_with(s)(data)[:16]
    ),
}
