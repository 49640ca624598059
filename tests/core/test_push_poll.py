from __future__ import annotations

import pytest

from mfa_core.errors import InvalidDeviceReply
from mfa_core.push_poll import parse_poll_claims, poll_claims
from tests.support.rng import seeded_rng

NOW = 1_800_000_000.0


def test_round_trip() -> None:
    claims = poll_claims(mechanism_uid="m-1", now=NOW, rng=seeded_rng())
    assert set(claims) == {"mechanismUid", "iat", "nonce"}
    parsed = parse_poll_claims(claims, now=NOW + 30)
    assert (parsed.mechanism_uid, parsed.issued_at) == ("m-1", int(NOW))
    assert len(parsed.nonce) == 22


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({}, "invalid_device_reply"),
        ({"mechanismUid": "m", "iat": "1800000000", "nonce": "short"}, "invalid_device_reply"),
        ({"mechanismUid": "", "iat": "1800000000", "nonce": "x" * 22}, "invalid_device_reply"),
        ({"mechanismUid": "m", "iat": 1800000000, "nonce": "x" * 22}, "poll_stale"),
        ({"mechanismUid": "m", "iat": "-5", "nonce": "x" * 22}, "poll_stale"),
        ({"mechanismUid": "m", "iat": "1799999900", "nonce": "x" * 22}, "poll_stale"),
        ({"mechanismUid": "m", "iat": "1800000100", "nonce": "x" * 22}, "poll_stale"),
    ],
)
def test_refusals(claims: dict[str, object], reason: str) -> None:
    with pytest.raises(InvalidDeviceReply) as caught:
        parse_poll_claims(claims, now=NOW)
    assert caught.value.reason == reason
