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


def test_keys_new_prints_a_usable_key_and_its_id(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["keys", "new"]) == 0
    captured = capsys.readouterr()
    key = captured.out.strip()
    assert len(bytes.fromhex(key)) == 32
    monkeypatch.setenv("PUSHD_MASTER_KEY", key)
    assert main(["apikey", "create", "login-page"]) == 0  # the store opens under it
    capsys.readouterr()
    assert main(["keys", "status"]) == 0
    status = capsys.readouterr().out
    key_id = captured.err.split()[-1]
    assert f"{key_id}  " in status
    assert "current (seals)" in status
    assert key not in status + captured.err


def test_keys_reseal_with_nothing_to_do(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "reseal"]) == 0
    assert "re-sealed 0 value(s)" in capsys.readouterr().err


def test_check_refuses_what_is_not_an_http_url(env: Path) -> None:
    assert main(["check", "--url", "file:///etc/passwd"]) == 2
    assert main(["check", "--url", "http://127.0.0.1:9/readyz", "--timeout", "1"]) == 1


def test_other_master_keys_must_be_keys(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PUSHD_OTHER_MASTER_KEYS", "ab" * 32 + ",not-a-key")
    with pytest.raises(SystemExit) as exit_info:
        main(["keys", "status"])
    assert exit_info.value.code == 2
    assert "PUSHD_OTHER_MASTER_KEYS" in capsys.readouterr().err
