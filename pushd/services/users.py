"""Finding users by username (or email), and provisioning them on first registration."""

from __future__ import annotations

import unicodedata
import uuid

from pushd.errors import ApiError, invalid_request
from pushd.services.context import Context
from pushd.store.engine import AlreadyExists, LookupTaken
from pushd.store.records import Account, UserRecord
from pushd.store.tables import Versioned

MAX_USERNAME_CHARS = 128


def clean_username(raw: str) -> str:
    """Usernames are NFC text of 1..128 printable characters without spaces."""
    name = unicodedata.normalize("NFC", raw)
    if not 0 < len(name) <= MAX_USERNAME_CHARS or any(
        ch.isspace() or unicodedata.category(ch).startswith("C") for ch in name
    ):
        raise invalid_request("a username is 1 to 128 printable characters without spaces")
    return name


def user_not_found() -> ApiError:
    return ApiError(404, "user_not_found", "no such user")


async def find_user(ctx: Context, login: str) -> Versioned[UserRecord] | None:
    """By username, or by email address when ``login`` holds an ``@`` and no user has it."""
    key = login.casefold()
    user_id = await ctx.store.user_id_by("username", key)
    if user_id is None and "@" in login:
        user_id = await ctx.store.user_id_by("email", key)
    return await ctx.store.users.get(user_id) if user_id else None


async def require_user(ctx: Context, login: str) -> Versioned[UserRecord]:
    found = await find_user(ctx, clean_username(login))
    if found is None:
        raise user_not_found()
    return found


async def find_or_create_user(ctx: Context, username: str) -> Versioned[UserRecord]:
    """Sites that keep their own passwords register push without creating users first."""
    name = clean_username(username)
    for _ in range(3):
        found = await find_user(ctx, name)
        if found is not None:
            return found
        record = UserRecord(
            user_id=str(uuid.UUID(bytes=ctx.rng(16), version=4)),
            account=Account(username=name, created_at=ctx.clock()),
        )
        try:
            return await ctx.store.users.insert(record.user_id, record)
        except (AlreadyExists, LookupTaken):
            continue  # created concurrently: read it back
    raise ApiError(503, "unavailable", "could not create the user; try again")
