"""Built-in templates render, fit their channel, and overrides are checked at start-up."""

from __future__ import annotations

import importlib.resources
from pathlib import Path

import pytest

from pushd.messaging import TEMPLATE_VALUES, TemplateError, Templates
from pushd.messaging.templates import SMS_MAX_CHARS
from pushd.settings import Settings
from tests.pushd.messaging.conftest import CODE, LINK

VALUES = {
    "link": LINK,
    "code": CODE,
    "username": "alice",
    "case_id": "C-20240101-0042",
    "minutes": "15",
}


def sample(name: str) -> dict[str, str]:
    return {key: VALUES[key] for key in TEMPLATE_VALUES[name]}


def overriding(tmp_path: Path, name: str, text: str) -> Settings:
    (tmp_path / f"{name}.txt").write_text(text, encoding="utf-8")
    return Settings(templates_dir=str(tmp_path))


def test_every_template_ships_as_package_data() -> None:
    shipped = importlib.resources.files("pushd.messaging").joinpath("templates")
    assert {f"{name}.txt" for name in TEMPLATE_VALUES} <= {p.name for p in shipped.iterdir()}


@pytest.mark.parametrize("name", sorted(TEMPLATE_VALUES))
def test_every_builtin_renders_with_its_values(name: str) -> None:
    values = sample(name)
    message = Templates(Settings(issuer="Bühne")).render(name, secrets=[CODE], **values)

    assert "Bühne" in message.body
    assert "If you did not" in message.body  # says what to do when it was not you
    for key, value in values.items():
        shown = key != "username" or name != "alternative_sms"  # lock screens show SMS
        assert (value in message.body + message.subject) == shown
    assert "{" not in message.body + message.subject
    assert message.secrets == (CODE,)
    if name == "alternative_sms":
        assert message.subject == ""
    else:
        assert "Bühne" in message.subject
        assert "\n" not in message.subject


def test_sms_fits_one_message() -> None:
    message = Templates(Settings(issuer="Backstage Identity")).render(
        "alternative_sms", username="a" * 64, code="12345678", minutes="10"
    )
    assert len(message.body) < SMS_MAX_CHARS


def test_a_value_cannot_break_the_subject_line() -> None:
    message = Templates(Settings()).render(
        "case_opened", username="alice", case_id="C-1\r\nBcc: mallory@example.com"
    )
    assert "\n" not in message.subject
    assert "\r" not in message.subject


@pytest.mark.parametrize(
    "values",
    [
        {"link": LINK, "username": "alice"},  # minutes missing
        {"link": LINK, "username": "alice", "minutes": "15", "code": CODE},  # not verify_email's
        {"link": LINK, "username": "alice", "minutes": "15", "site": "Elsewhere"},  # the issuer's
    ],
)
def test_render_takes_exactly_the_templates_values(values: dict[str, str]) -> None:
    with pytest.raises(TemplateError, match="verify_email takes"):
        Templates(Settings()).render("verify_email", **values)


def test_unknown_template_name() -> None:
    with pytest.raises(TemplateError, match="no template"):
        Templates(Settings()).render("welcome")


def test_override_is_used_and_others_stay_builtin(tmp_path: Path) -> None:
    settings = overriding(
        tmp_path, "verify_email", "Subject: {{ site }}: check your address\n\nGo to {{ link }}\n"
    )
    templates = Templates(settings)

    message = templates.render("verify_email", username="alice", link=LINK, minutes="15")
    assert message.subject == "Backstage: check your address"
    assert message.body == f"Go to {LINK}"
    sms = templates.render("alternative_sms", username="alice", code=CODE, minutes="5")
    assert "recovery code" in sms.body


@pytest.mark.parametrize(
    ("name", "text", "complaint"),
    [
        ("verify_email", "Subject: Hi\n\nHello {{ usename }} {{ link }}", "unknown value"),
        ("alternative_sms", "Subject:\n\nYour code for {{ account }}", "unknown value"),
        ("password_reset", "Reset {{ link }}\n\nbody", "first line must be 'Subject"),
        ("password_reset", "Subject: Reset\nbody {{ link }}", "blank line"),
        ("case_opened", "Subject: Case\n\n{% if case_id %}open", "Unexpected end"),
        ("case_rejected", "Subject: {{ username.nope }}\n\nRejected.", "cannot render"),
        ("contact_changed", "Subject: Changed\n\n", "must not be empty"),
        ("case_approved", "Subject:\n\nApproved {{ case_id }}", "must not be empty"),
        ("alternative_sms", "Subject:\n\n{{ code }} " + "x" * 160, "keep SMS to 160"),
    ],
)
def test_broken_override_fails_at_construction(
    tmp_path: Path, name: str, text: str, complaint: str
) -> None:
    with pytest.raises(TemplateError, match=complaint) as raised:
        Templates(overriding(tmp_path, name, text))
    assert f"{name}.txt" in str(raised.value)


def test_missing_templates_dir_fails(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="not a directory"):
        Templates(Settings(templates_dir=str(tmp_path / "absent")))


def test_misnamed_override_fails_rather_than_being_ignored(tmp_path: Path) -> None:
    (tmp_path / "verify-email.txt").write_text("Subject: x\n\ny", encoding="utf-8")
    with pytest.raises(TemplateError, match=r"verify-email\.txt"):
        Templates(Settings(templates_dir=str(tmp_path)))
