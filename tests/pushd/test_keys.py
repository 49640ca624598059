from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from pushd.keys import SealError, Vault, api_key_digest, load_master_key


def test_seal_and_open() -> None:
    vault = Vault([bytes(range(32))])
    sealed = vault.seal(b"device secret")
    assert b"device secret" not in sealed
    assert vault.open(sealed) == b"device secret"
    assert vault.seal(b"device secret") != sealed  # a fresh nonce every time
    assert vault.sealed_with_current_key(sealed)


def test_old_keys_still_open_after_rotation() -> None:
    old, new = bytes(32), bytes(range(32))
    sealed = Vault([old]).seal(b"x")
    rotated = Vault([new, old])
    assert rotated.open(sealed) == b"x"
    assert not rotated.sealed_with_current_key(sealed)
    with pytest.raises(SealError):
        Vault([new]).open(sealed)


@pytest.mark.parametrize("sealed", [b"", b"\x01abcd", b"\x02" + bytes(60)])
def test_garbage_does_not_open(sealed: bytes) -> None:
    with pytest.raises(SealError):
        Vault([bytes(32)]).open(sealed)


def test_tampering_is_detected() -> None:
    vault = Vault([bytes(32)])
    sealed = bytearray(vault.seal(b"secret"))
    sealed[-1] ^= 1
    with pytest.raises(SealError):
        vault.open(bytes(sealed))


def test_vault_needs_32_byte_keys() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        Vault([b"short"])
    with pytest.raises(ValueError, match="32 bytes"):
        Vault([])


def test_key_file_is_created_once_with_mode_0600(tmp_path: Path) -> None:
    key = load_master_key("", tmp_path / "data")
    path = tmp_path / "data" / "master.key"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load_master_key("", tmp_path / "data") == key
    assert load_master_key("ab" * 32, tmp_path / "other") == bytes.fromhex("ab" * 32)
    assert not (tmp_path / "other").exists()


def test_a_broken_key_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "master.key").write_text("not hex")
    with pytest.raises(ValueError, match="hex"):
        load_master_key("", tmp_path)
    (tmp_path / "master.key").write_text("abcd")
    with pytest.raises(ValueError, match="64 hex"):
        load_master_key("", tmp_path)


def test_api_key_digest_is_stable_and_one_way() -> None:
    assert api_key_digest("pk_abc") == api_key_digest("pk_abc")
    assert "pk_abc" not in api_key_digest("pk_abc")
