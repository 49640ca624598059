"""The operator commands, through ``pushd.cli.main``."""

from __future__ import annotations

from pathlib import Path

import pytest

from pushd.cli import main


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PUSHD_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("PUSHD_CONFIG", raising=False)
    return tmp_path


def test_apikey_create_list_revoke(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["apikey", "create", "login-page"]) == 0
    key = capsys.readouterr().out.strip()
    assert key.startswith("pk_")
    assert len(key) > 40
    assert main(["apikey", "create", "ops", "--admin"]) == 0
    admin = capsys.readouterr().out.strip()
    assert admin.startswith("ak_")
    assert main(["apikey", "list"]) == 0
    listing = capsys.readouterr().out
    for expected in ("login-page", "ops", "admin"):
        assert expected in listing
    assert key not in listing
    assert admin not in listing
    assert main(["apikey", "revoke", "login-page"]) == 0
    assert main(["apikey", "revoke", "login-page"]) == 1
    assert (env / "pushd.db").exists()


def test_unsuspend_an_unknown_user(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["push", "unsuspend", "nobody"]) == 1
    assert "no such user" in capsys.readouterr().err


def test_serve_help_documents_every_setting(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_code:
        main(["serve", "--help"])
    assert exit_code.value.code == 0
    out = capsys.readouterr().out
    for name in ("PUSHD_HOST", "PUSHD_PORT", "PUSHD_DATA_DIR", "PUSHD_PUBLIC_URL", "--port"):
        assert name in out


def test_bad_settings_exit_with_a_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PUSHD_PORT", "eighty")
    with pytest.raises(SystemExit) as exit_code:
        main(["apikey", "list"])
    assert exit_code.value.code == 2
    assert "PUSHD_PORT" in capsys.readouterr().err


def test_user_commands(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import io
    import json

    monkeypatch.setenv("PUSHD_PASSWORD_MEMORY_KIB", "1024")
    monkeypatch.setenv("PUSHD_PASSWORD_TIME_COST", "1")
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough passphrase\n"))
    assert main(["user", "add", "zoe", "--email", "zoe@example.com", "--password-stdin"]) == 0
    created = json.loads(capsys.readouterr().out)
    assert (created["username"], created["has_password"]) == ("zoe", True)
    assert main(["user", "show", "zoe"]) == 0
    assert json.loads(capsys.readouterr().out)["email"] == "zoe@example.com"
    assert main(["user", "add", "zoe"]) == 1
    assert "taken" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("another long passphrase\n"))
    assert main(["user", "set-password", "zoe"]) == 0
    assert main(["user", "unlock", "zoe"]) == 0
    assert main(["user", "reset-mfa", "zoe"]) == 0
    assert main(["user", "show", "nobody"]) == 1
