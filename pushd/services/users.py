"""Finding users by username (or email), and provisioning them on first registration."""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Mapping
from dataclasses import replace

from mfa_core.account_recovery import normalise_phone
from mfa_core.errors import MfaError
from pushd.errors import ApiError, conflict, invalid_request
from pushd.services.context import Context
from pushd.services.passwords import Passwords, check_strength
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
    found = await ctx.store.user_by("username", key)
    if found is None and "@" in login:
        found = await ctx.store.user_by("email", key)
    return found


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


_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]+")


def clean_email(raw: object) -> str:
    """An address of the usual shape (the domain lower-cased); the link proves it later."""
    text = raw.strip() if isinstance(raw, str) else ""
    if len(text) > 254 or not _EMAIL.fullmatch(text):
        raise invalid_request("not an email address")
    local, _, domain = text.rpartition("@")
    return f"{local}@{domain.lower()}"


def clean_phone(raw: object) -> str:
    try:
        return normalise_phone(raw if isinstance(raw, str) else "")
    except MfaError as e:
        raise invalid_request(e.detail) from e


async def create_user(
    ctx: Context,
    passwords: Passwords,
    *,
    username: str,
    email: object = None,
    phone: object = None,
    password: object = None,
) -> UserRecord:
    name = clean_username(username)
    address = clean_email(email) if email is not None else None
    number = clean_phone(phone) if phone is not None else None
    hashed = None
    if password is not None:
        hashed = await passwords.hash(check_strength(password, username=name, email=address))
    now = ctx.clock()
    record = UserRecord(
        user_id=str(uuid.UUID(bytes=ctx.rng(16), version=4)),
        account=Account(
            username=name,
            created_at=now,
            email=address,
            phone=number,
            password_hash=hashed,
            password_changed_at=now if hashed else None,
        ),
    )
    try:
        await ctx.store.users.insert(record.user_id, record)
    except AlreadyExists as e:
        raise conflict("username_taken", "that username is taken") from e
    except LookupTaken as e:
        code = "email_taken" if e.name == "email" else "username_taken"
        raise conflict(code, f"that {e.name} is taken") from e
    return record


async def update_account(
    ctx: Context, passwords: Passwords, username: str, changes: Mapping[str, object]
) -> UserRecord:
    """Change email, phone, email_verified or password (``None`` clears email or phone)."""
    current = (await require_user(ctx, username)).record
    account = current.account
    if "email" in changes:
        email = clean_email(changes["email"]) if changes["email"] is not None else None
        account = replace(
            account, email=email, email_verified=email == account.email and account.email_verified
        )
    if "phone" in changes:
        phone = changes["phone"]
        account = replace(account, phone=clean_phone(phone) if phone is not None else None)
    if "email_verified" in changes:
        if not isinstance(changes["email_verified"], bool):
            raise invalid_request("email_verified must be true or false")
        account = replace(account, email_verified=changes["email_verified"])
    if "password" in changes:
        password = check_strength(
            changes["password"], username=account.username, email=account.email
        )
        account = replace(
            account, password_hash=await passwords.hash(password), password_changed_at=ctx.clock()
        )
    try:
        mutated = await ctx.store.users.mutate(
            current.user_id, lambda u: replace(u, account=account)
        )
    except LookupTaken as e:
        raise conflict("email_taken", "that email address is taken") from e
    if mutated is None:
        raise user_not_found()
    return mutated.record
