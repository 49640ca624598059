"""APNs provider-token rules on their own, with a hand-driven clock."""

from __future__ import annotations

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from authenticator_sim.gateway.apns_auth import ProviderTokens
from authenticator_sim.gateway.stats import Stats

KEY = ec.generate_private_key(ec.SECP256R1())
T0 = 1_800_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def bearer(iat: object, *, kid: str = "KEY0000001", iss: str = "TEAM000001") -> bytes:
    token = jwt.encode({"iss": iss, "iat": iat}, KEY, algorithm="ES256", headers={"kid": kid})
    return f"bearer {token}".encode()


def tokens(clock: Clock, *, strict: bool = True) -> ProviderTokens:
    return ProviderTokens(
        KEY.public_key(),
        key_id="KEY0000001",
        team_id="TEAM000001",
        strict_updates=strict,
        stats=Stats(),
        clock=clock,
    )


@pytest.mark.parametrize(
    ("authorization", "reason"),
    [
        (None, "MissingProviderToken"),
        (b"", "MissingProviderToken"),
        (b"basic abc", "MissingProviderToken"),
        (b"bearer not-a-jwt", "InvalidProviderToken"),
        (bearer(int(T0), kid="OTHERKEY01"), "InvalidProviderToken"),
        (bearer(int(T0), iss="OTHERTEAM1"), "InvalidProviderToken"),
        (bearer(int(T0) + 3600), "InvalidProviderToken"),  # from the future
        (bearer(int(T0) - 3601), "ExpiredProviderToken"),
        (bearer(int(T0) - 3599), None),
    ],
)
def test_reasons(authorization: bytes | None, reason: str | None) -> None:
    assert tokens(Clock()).check(authorization) == reason


def test_a_cached_token_still_expires() -> None:
    clock = Clock()
    checker = tokens(clock)
    token = bearer(int(T0))
    assert checker.check(token) is None
    clock.now += 3601
    assert checker.check(token) == "ExpiredProviderToken"


def test_one_update_per_20_minutes() -> None:
    clock = Clock()
    checker = tokens(clock)
    first, same_iat_again = bearer(int(T0)), bearer(int(T0))
    assert first != same_iat_again  # ECDSA signatures differ; the token is the same
    assert checker.check(first) is None
    assert checker.check(same_iat_again) is None
    clock.now += 1199
    newer = bearer(int(clock.now))
    assert checker.check(newer) == "TooManyProviderTokenUpdates"
    assert checker.check(newer) == "TooManyProviderTokenUpdates"  # refused is not recorded
    clock.now += 1
    assert checker.check(newer) is None
    assert checker.check(first) is None  # an older token already seen stays fine


def test_not_strict_allows_any_update() -> None:
    clock = Clock()
    checker = tokens(clock, strict=False)
    assert checker.check(bearer(int(T0))) is None
    assert checker.check(bearer(int(T0) + 1)) is None
