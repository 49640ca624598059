"""Puts N users with a push device straight into a store (benchmark set-up)."""

from __future__ import annotations

import secrets
import sqlite3
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from mfa_core.profile import Device, DeviceKind, MfaProfile, ProfileState
from mfa_core.push import challenge_response, sign_jwt
from mfa_core.push_replies import Transport, authentication_claims
from pushd.app import STORE_FILE
from pushd.keys import Vault
from pushd.services.api_keys import Scope, create_key
from pushd.store import codec
from pushd.store.engine import RecordEngine
from pushd.store.records import Account, ChallengeRecord, PushDevice, UserRecord
from pushd.store.redis_engine import RedisEngine
from pushd.store.sqlite import SQLiteEngine
from pushd.store.tables import Store

MASTER_KEY = "6b" * 32


@dataclass(frozen=True, slots=True)
class SeededUser:
    username: str
    secret: bytes
    push_token: str = ""


async def seed_users(
    data_dir: Path,
    count: int,
    *,
    transport: Transport = Transport.FCM,
    redis_url: str = "",
    redis_prefix: str = "{pushd}:",
) -> tuple[str, list[SeededUser]]:
    """Create ``count`` enrolled users (in Redis when ``redis_url`` is given, else the
    embedded store in ``data_dir``); returns an API key and the users' secrets."""
    engine: RecordEngine
    if redis_url:
        engine = await RedisEngine.open(redis_url, prefix=redis_prefix)
    else:
        engine = await SQLiteEngine.open(data_dir / STORE_FILE, clock=time.time)
    store = Store(engine)
    vault = Vault([bytes.fromhex(MASTER_KEY)])
    users = []
    now = time.time()
    try:
        for i in range(count):
            secret = secrets.token_bytes(32)
            device_id = str(uuid.uuid4())
            username = f"user{i:05d}"
            record = UserRecord(
                user_id=str(uuid.uuid4()),
                account=Account(username=username, created_at=now),
                profile=MfaProfile(
                    state=ProfileState.ENROLLED,
                    devices=(Device(device_id=device_id, kind=DeviceKind.PUSH, name="Phone",
                                    created_at=now),),
                    state_changed_at=now,
                ),
                push=(PushDevice(
                    device_id=device_id, mechanism_uid=str(uuid.uuid4()),
                    sealed_secret=vault.seal(secret), push_token=bench_token(transport, i),
                    transport=transport, device_name="Phone", device_type="android",
                    registered_at=now,
                ),),
            )  # fmt: skip
            await store.users.insert(record.user_id, record)
            users.append(SeededUser(username, secret, bench_token(transport, i)))
        key = await create_key(store, "bench", Scope.API, now=now)
    finally:
        await store.close()
    return key, users


def bench_token(transport: Transport, i: int) -> str:
    """APNs tokens are 64 hex characters; FCM registration tokens are opaque."""
    return f"{i:064x}" if transport is Transport.APNS else f"bench-{i}"


def read_challenge(data_dir: Path, challenge_id: str) -> ChallengeRecord:
    """Read a challenge the daemon wrote (read-only; WAL lets us look while it runs)."""
    uri = f"file:{data_dir / STORE_FILE}?mode=ro"
    with sqlite3.connect(uri, uri=True) as db:
        row = db.execute(
            "SELECT data FROM records WHERE tbl='challenge' AND key=?", (challenge_id,)
        ).fetchone()
    return codec.decode(row[0], ChallengeRecord)


def approve_body(record: ChallengeRecord, secret: bytes) -> bytes:
    """What the phone sends to approve ``record`` (number matching answered right)."""
    claims = authentication_claims(
        response=challenge_response(secret, record.challenge),
        chosen_number=record.number.answer if record.number else None,
    )
    jwt = sign_jwt(claims, secret)
    return f'{{"messageId":"{record.message_id}","jwt":"{jwt}"}}'.encode()
