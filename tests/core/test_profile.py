from __future__ import annotations

import pytest

from mfa_core import profile as p
from mfa_core.errors import (
    DeviceLimitReached,
    DuplicateDevice,
    InvalidParameter,
    ReauthenticationRequired,
    RuleViolation,
    UnknownDevice,
)

NOW = 10_000.0
M = p.Method


def device(device_id: str, kind: p.DeviceKind, name: str = "My key") -> p.Device:
    return p.Device(device_id=device_id, kind=kind, name=name, created_at=NOW)


def enrolled(*devices: p.Device) -> p.MfaProfile:
    profile = p.MfaProfile()
    for d in devices:
        profile = p.add_device(profile, d, now=NOW)
    return profile


def test_new_profile_asks_for_set_up_with_every_offer() -> None:
    step = p.next_step(p.MfaProfile(), recovery_codes_remaining=0)
    assert step == p.NextStep(
        kind=p.StepKind.SETUP, methods=(M.SKIP, M.OPT_OUT, M.WEBAUTHN, M.PUSH, M.OTP)
    )


def test_skip_asks_again_and_records_the_time() -> None:
    skipped = p.skip(p.MfaProfile(), now=NOW)
    assert (skipped.state, skipped.state_changed_at) == (p.ProfileState.SKIPPED, NOW)
    assert p.next_step(skipped, recovery_codes_remaining=0).kind is p.StepKind.SETUP


def test_opt_out_never_asks_until_opt_in() -> None:
    out = p.opt_out(p.MfaProfile(), now=NOW)
    assert p.next_step(out, recovery_codes_remaining=0) == p.NextStep(
        kind=p.StepKind.NONE, methods=()
    )
    back = p.opt_in(out, now=NOW + 1)
    assert back.state is p.ProfileState.UNSET
    assert p.next_step(back, recovery_codes_remaining=0).kind is p.StepKind.SETUP
    with pytest.raises(RuleViolation):
        p.opt_in(back, now=NOW)


def test_registering_undoes_opt_out() -> None:
    out = p.opt_out(p.MfaProfile(), now=NOW)
    assert p.add_device(out, device("k", p.DeviceKind.WEBAUTHN), now=NOW).state is (
        p.ProfileState.ENROLLED
    )


def test_enrolled_users_cannot_skip_or_opt_out() -> None:
    profile = enrolled(device("k", p.DeviceKind.WEBAUTHN))
    for action in (p.skip, p.opt_out):
        with pytest.raises(RuleViolation) as caught:
            action(profile, now=NOW)
        assert caught.value.reason == "already_enrolled"


def test_authenticate_offers_what_the_user_has() -> None:
    profile = enrolled(device("o", p.DeviceKind.OATH), device("k", p.DeviceKind.WEBAUTHN))
    step = p.next_step(profile, recovery_codes_remaining=3)
    assert step == p.NextStep(
        kind=p.StepKind.AUTHENTICATE, methods=(M.WEBAUTHN, M.OTP, M.RECOVERY_CODE)
    )
    assert p.next_step(profile, recovery_codes_remaining=0).methods == (M.WEBAUTHN, M.OTP)


def test_one_oath_one_push_many_webauthn() -> None:
    profile = enrolled(
        device("o", p.DeviceKind.OATH),
        device("p", p.DeviceKind.PUSH),
        device("k1", p.DeviceKind.WEBAUTHN),
        device("k2", p.DeviceKind.WEBAUTHN),
    )
    assert p.setup_offers(profile) == (M.WEBAUTHN,)
    with pytest.raises(DeviceLimitReached):
        p.add_device(profile, device("o2", p.DeviceKind.OATH), now=NOW)
    with pytest.raises(DeviceLimitReached):
        p.check_can_add(profile, p.DeviceKind.PUSH)
    with pytest.raises(DuplicateDevice):
        p.add_device(profile, device("k1", p.DeviceKind.WEBAUTHN), now=NOW)
    many = profile
    for i in range(p.DEVICE_LIMITS[p.DeviceKind.WEBAUTHN] - 2):
        many = p.add_device(many, device(f"x{i}", p.DeviceKind.WEBAUTHN), now=NOW)
    with pytest.raises(DeviceLimitReached):
        p.add_device(many, device("one-too-many", p.DeviceKind.WEBAUTHN), now=NOW)


def test_enrolment_time_is_the_first_registration() -> None:
    profile = enrolled(device("a", p.DeviceKind.WEBAUTHN))
    later = p.add_device(profile, device("b", p.DeviceKind.WEBAUTHN), now=NOW + 50)
    assert later.state_changed_at == NOW


def test_rename_and_touch() -> None:
    profile = enrolled(device("a", p.DeviceKind.WEBAUTHN), device("b", p.DeviceKind.OATH))
    renamed = p.rename_device(profile, "a", "  Yubikey\t5 ")
    assert renamed.device("a").name == "Yubikey 5"
    assert renamed.device("b").name == "My key"
    touched = p.touch_device(renamed, "b", now=NOW + 5)
    assert touched.device("b").last_used_at == NOW + 5
    with pytest.raises(UnknownDevice):
        p.rename_device(profile, "zzz", "x")


@pytest.mark.parametrize("name", ["", "   ", "x" * 65, "bad\u200bname", None])
def test_device_names_are_checked(name: object) -> None:
    with pytest.raises(InvalidParameter):
        p.clean_device_name(name)  # type: ignore[arg-type]


def test_removal_needs_a_fresh_password_check() -> None:
    profile = enrolled(device("a", p.DeviceKind.WEBAUTHN), device("b", p.DeviceKind.OATH))
    for reauth in (None, NOW - 301, NOW + 10):
        with pytest.raises(ReauthenticationRequired):
            p.remove_device(profile, "a", reauthenticated_at=reauth, now=NOW)
    fewer = p.remove_device(profile, "a", reauthenticated_at=NOW - 60, now=NOW)
    assert [d.device_id for d in fewer.devices] == ["b"]
    assert fewer.state is p.ProfileState.ENROLLED
    with pytest.raises(UnknownDevice):
        p.remove_device(fewer, "a", reauthenticated_at=NOW, now=NOW)


def test_removing_the_last_device_means_set_up_next_login() -> None:
    profile = enrolled(device("a", p.DeviceKind.PUSH))
    empty = p.remove_device(profile, "a", reauthenticated_at=NOW, now=NOW)
    assert empty == p.MfaProfile(state=p.ProfileState.UNSET, devices=(), state_changed_at=NOW)
    assert p.next_step(empty, recovery_codes_remaining=5).kind is p.StepKind.SETUP


def test_reset_is_a_fresh_profile() -> None:
    assert p.reset(now=NOW) == p.MfaProfile(state_changed_at=NOW)
