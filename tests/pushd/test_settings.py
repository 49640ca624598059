from __future__ import annotations

from pathlib import Path

import pytest

from pushd.settings import Settings, SettingsError, describe_settings, load_settings


def test_defaults() -> None:
    settings = load_settings({})
    assert (settings.host, settings.port, settings.challenge_ttl) == ("127.0.0.1", 8080, 120.0)
    assert settings.base_url == "http://127.0.0.1:8080"


def test_environment_then_file_then_flags(tmp_path: Path) -> None:
    config = tmp_path / "pushd.toml"
    config.write_text('port = 9000\nissuer = "Acme"\nrequire_number_matching = true\n')
    env = {
        "PUSHD_CONFIG": str(config),
        "PUSHD_ISSUER": "Acme Staging",
        "PUSHD_PUBLIC_URL": "https://sso.example.com/",
        "PUSHD_REQUIRE_NUMBER_MATCHING": "off",
        "PUSHD_DATA_DIR": "/srv/pushd",
        "PUSHD_CHALLENGE_TTL": "90",
    }
    settings = load_settings(env, overrides={"port": 9100, "host": None})
    assert settings.port == 9100
    assert settings.issuer == "Acme Staging"
    assert settings.base_url == "https://sso.example.com"
    assert settings.require_number_matching is False
    assert settings.data_dir == Path("/srv/pushd")
    assert settings.challenge_ttl == 90.0


def test_data_dir_from_the_file(tmp_path: Path) -> None:
    config = tmp_path / "pushd.toml"
    config.write_text('data_dir = "/var/lib/pushd"\n')
    assert load_settings({}, config_file=config).data_dir == Path("/var/lib/pushd")


@pytest.mark.parametrize(
    "env",
    [
        {"PUSHD_PORT": "http"},
        {"PUSHD_PORT": "0"},
        {"PUSHD_CHALLENGE_TTL": "-1"},
        {"PUSHD_MASTER_KEY": "abc"},
        {"PUSHD_MASTER_KEY": "zz" * 32},
        {"PUSHD_ACCESS_LOG": "maybe"},
        {"PUSHD_LB_COOKIE": "nocookie"},
        {"PUSHD_CONFIG": "/does/not/exist.toml"},
        {"PUSHD_REDIS_URL": "http://127.0.0.1:6379"},
        {"PUSHD_REDIS_URL": "127.0.0.1:6379"},
        {"PUSHD_REDIS_URL": "redis+sentinel://:pw@10.0.0.1/mymaster"},
        {"PUSHD_REDIS_URL": "redis+sentinel://10.0.0.1:26379"},
        {"PUSHD_REDIS_URL": "redis+cluster://10.0.0.1:x,10.0.0.2:7000"},
    ],
)
def test_bad_settings_are_named(env: dict[str, str]) -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings(env)
    assert "pw@" not in str(refused.value)  # a secret URL is never echoed


def test_unknown_or_broken_file(tmp_path: Path) -> None:
    config = tmp_path / "pushd.toml"
    config.write_text("colour = 'blue'\n")
    with pytest.raises(SettingsError, match="unknown setting"):
        load_settings({}, config_file=config)
    config.write_text("port = \n")
    with pytest.raises(SettingsError, match="cannot read"):
        load_settings({}, config_file=config)
    config.write_text('port = "nine"\n')
    with pytest.raises(SettingsError):
        load_settings({}, config_file=config)


def test_secrets_are_redacted() -> None:
    settings = Settings(master_key="ab" * 32)
    assert "ab" * 32 not in repr(settings)
    assert "master_key=<redacted>" in repr(settings)
    assert "master_key=''" in repr(Settings())


def test_every_setting_is_described() -> None:
    text = describe_settings()
    for name in (
        "PUSHD_HOST",
        "PUSHD_PORT",
        "PUSHD_DATA_DIR",
        "PUSHD_PUBLIC_URL",
        "PUSHD_MASTER_KEY",
    ):
        assert name in text
