"""Secrets at rest: the master key, sealing with SecretBox, and the code-hashing key.

Sealed values are ``0x01 | key id (4 bytes) | SecretBox(nonce + ciphertext)``, so
that records sealed under an older master key can still be opened (and re-sealed)
after a rotation. The key that hashes recovery and one-time codes is random,
created once, and kept sealed in the store: rotating the master key does not
change it, so stored hashes stay valid.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Sequence
from pathlib import Path

import nacl.exceptions
import nacl.secret

SEALED_VERSION = b"\x01"
KEY_ID_BYTES = 4
KEY_FILE_NAME = "master.key"


class SealError(Exception):
    """A sealed value that no configured key opens."""


class Vault:
    def __init__(self, master_keys: Sequence[bytes]) -> None:
        """``master_keys[0]`` seals; every key in the list can open."""
        if not master_keys or any(len(k) != 32 for k in master_keys):
            raise ValueError("master keys are 32 bytes")
        self._boxes = {_key_id(k): nacl.secret.SecretBox(k) for k in master_keys}
        self._current = _key_id(master_keys[0])

    @property
    def current_key_id(self) -> bytes:
        return self._current

    def seal(self, plaintext: bytes) -> bytes:
        box = self._boxes[self._current]
        return SEALED_VERSION + self._current + bytes(box.encrypt(plaintext))

    def open(self, sealed: bytes) -> bytes:
        header = len(SEALED_VERSION) + KEY_ID_BYTES
        if len(sealed) <= header or sealed[:1] != SEALED_VERSION:
            raise SealError("not a sealed value")
        box = self._boxes.get(sealed[1:header])
        if box is None:
            raise SealError("sealed under a key that is not configured")
        try:
            return bytes(box.decrypt(sealed[header:]))
        except nacl.exceptions.CryptoError as e:
            raise SealError("sealed value does not open") from e

    def sealed_with_current_key(self, sealed: bytes) -> bool:
        return sealed_key_id(sealed) == self._current

    def can_open(self, sealed: bytes) -> bool:
        """Whether a configured key has this value's key id (not whether it decrypts)."""
        return sealed_key_id(sealed) in self._boxes

    def reseal(self, sealed: bytes) -> bytes:
        """The value sealed under the current key: itself when it already is."""
        if self.sealed_with_current_key(sealed):
            return sealed
        return self.seal(self.open(sealed))


def sealed_key_id(sealed: bytes) -> bytes:
    """The id of the master key a sealed value was sealed with."""
    return sealed[len(SEALED_VERSION) : len(SEALED_VERSION) + KEY_ID_BYTES]


def key_id_of(master_key: bytes) -> bytes:
    return _key_id(master_key)


def load_master_key(configured_hex: str, data_dir: Path) -> bytes:
    """The configured key, else the key file in ``data_dir`` (created 0600 on first start)."""
    if configured_hex:
        return bytes.fromhex(configured_hex)
    path = data_dir / KEY_FILE_NAME
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_key_file(path)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(secrets.token_hex(32) + "\n")
    return _read_key_file(path)


def new_hash_key() -> bytes:
    return secrets.token_bytes(32)


def api_key_digest(key: str) -> str:
    """API keys carry 256 random bits, so a plain SHA-256 is a safe one-way lookup value."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _read_key_file(path: Path) -> bytes:
    text = path.read_text(encoding="ascii").strip()
    try:
        key = bytes.fromhex(text)
    except ValueError as e:
        raise ValueError(f"{path} does not hold a hex key") from e
    if len(key) != 32:
        raise ValueError(f"{path} must hold 64 hex characters")
    return key


def _key_id(key: bytes) -> bytes:
    return hashlib.blake2b(key, digest_size=KEY_ID_BYTES, person=b"pushd-keyid").digest()
