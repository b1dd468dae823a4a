"""API keys: create, list, revoke, and look one up by its secret.

A secret is ``proud_`` and 43 URL-safe characters (32 random bytes). It is shown once, when the key is
created; the table keeps only its SHA-256, so a secret that is lost cannot be recovered, only replaced. A
revoked key stays in the table, and its name stays taken: the audit trail names writers ``key:<name>``, and
a name reused by another key would make that ambiguous.

Nothing here knows aiohttp or typer: ``auth`` uses it for every request, ``proud keys`` from the CLI.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.clock import as_utc
from gateway.errors import Conflict, NotFound
from gateway.http.auth_tables import KEY_NAME_CHARS_MAX, ROLE_NAMES, api_key
from gateway.http.views import BadParameter
from gateway.store.db import translate_errors

SECRET_PREFIX: Final = "proud_"
#: Random bytes in a secret: 256 bits, far beyond guessing; ``token_urlsafe`` writes them as 43 characters.
SECRET_RANDOM_BYTES: Final = 32
SECRET_RANDOM_CHARS: Final = 43
_SECRET_SHAPE: Final = re.compile(rf"{SECRET_PREFIX}[A-Za-z0-9_-]{{{SECRET_RANDOM_CHARS}}}")
# Names appear in logs, audit columns ("key:<name>") and shell commands: no spaces, quotes or colons.
_NAME_SHAPE: Final = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._@-]{{0,{KEY_NAME_CHARS_MAX - 1}}}")


class Role(enum.StrEnum):
    """What a key may do. Each role may do everything the roles before it may."""

    READER = "reader"
    OPERATOR = "operator"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return ROLE_NAMES.index(self.value)

    def covers(self, needed: Role) -> bool:
        """Whether a key with this role may call an operation that needs ``needed``."""
        return self.rank >= needed.rank


assert tuple(role.value for role in Role) == ROLE_NAMES, "Role and the table's check constraint disagree"


@dataclass(frozen=True)
class ApiKey:
    """One row of ``api_key``, without the hash (nothing outside this module needs it)."""

    id: uuid.UUID
    name: str
    role: Role
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def view(self) -> dict[str, Any]:
        """JSON-ready, for ``proud keys list --json``: never the secret, never its hash."""
        return {
            "id": str(self.id), "name": self.name, "role": self.role.value,
            "created_at": _iso(self.created_at), "last_used_at": _iso(self.last_used_at),
            "revoked_at": _iso(self.revoked_at), "active": self.active,
        }


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else as_utc(value).isoformat()


def new_secret() -> str:
    secret = SECRET_PREFIX + secrets.token_urlsafe(SECRET_RANDOM_BYTES)
    assert looks_like_secret(secret), "token_urlsafe changed its output length"
    return secret


def looks_like_secret(text: str) -> bool:
    """Whether ``text`` has the shape of a secret; anything else is refused without a database lookup."""
    return _SECRET_SHAPE.fullmatch(text) is not None


def hash_secret(secret: str) -> str:
    """The stored form of a secret. Unsalted on purpose: the secret has 256 random bits, so no table of
    precomputed hashes can cover it, and the lookup must find the row by the hash alone."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def parse_key_name(raw: str) -> str:
    if _NAME_SHAPE.fullmatch(raw) is None:
        expected = (
            f"1 to {KEY_NAME_CHARS_MAX} characters: letters, digits and . _ @ -, starting with a letter or "
            "digit"
        )
        raise BadParameter("name", raw, expected)
    return raw


def _from_row(row: Any) -> ApiKey:
    return ApiKey(
        id=row.id, name=row.name, role=Role(row.role), created_at=as_utc(row.created_at),
        last_used_at=as_utc(row.last_used_at) if row.last_used_at else None,
        revoked_at=as_utc(row.revoked_at) if row.revoked_at else None,
    )


_COLUMNS: Final = (
    api_key.c.id, api_key.c.name, api_key.c.role, api_key.c.created_at, api_key.c.last_used_at,
    api_key.c.revoked_at,
)


async def _by_name(conn: AsyncConnection, name: str) -> ApiKey | None:
    row = (await conn.execute(sa.select(*_COLUMNS).where(api_key.c.name == name))).one_or_none()
    return None if row is None else _from_row(row)


async def create_key(engine: AsyncEngine, name: str, role: Role, now: dt.datetime) -> tuple[ApiKey, str]:
    """A new key and its secret, which exists nowhere else from then on. Conflict if the name is taken."""
    name = parse_key_name(name)
    secret = new_secret()
    key = ApiKey(id=uuid.uuid4(), name=name, role=role, created_at=now, last_used_at=None, revoked_at=None)
    values = {
        "id": key.id, "name": name, "role": role.value, "key_hash": hash_secret(secret), "created_at": now,
    }
    with translate_errors("creating an API key"):
        async with engine.begin() as conn:
            existing = await _by_name(conn, name)
            if existing is not None:
                state = "an active key" if existing.active else "a revoked key (names are never reused)"
                raise Conflict(f"the API key name {name!r} is taken by {state}")
            try:
                await conn.execute(api_key.insert().values(values))
            except sa.exc.IntegrityError as exc:  # created by someone else since the check above
                raise Conflict(f"the API key name {name!r} is taken") from exc
    return key, secret


async def list_keys(engine: AsyncEngine) -> list[ApiKey]:
    """Every key, active and revoked, by name."""
    with translate_errors("listing API keys"):
        async with engine.connect() as conn:
            rows = (await conn.execute(sa.select(*_COLUMNS).order_by(api_key.c.name))).all()
    return [_from_row(row) for row in rows]


async def revoke_key(engine: AsyncEngine, name: str, now: dt.datetime) -> ApiKey:
    """Revoke a key for good. NotFound for an unknown name, Conflict if it is revoked already."""
    with translate_errors("revoking an API key"):
        async with engine.begin() as conn:
            key = await _by_name(conn, name)
            if key is None:
                raise NotFound(f"no API key named {name!r}")
            if not key.active:
                raise Conflict(f"the API key {name!r} was revoked already, at {_iso(key.revoked_at)}")
            query = api_key.update().where(api_key.c.id == key.id, api_key.c.revoked_at.is_(None))
            await conn.execute(query.values(revoked_at=now))
    return ApiKey(key.id, key.name, key.role, key.created_at, key.last_used_at, revoked_at=now)


async def find_by_secret(engine: AsyncEngine, secret: str) -> ApiKey | None:
    """The key whose secret this is, revoked or not; None for a secret no key has."""
    query = sa.select(*_COLUMNS).where(api_key.c.key_hash == hash_secret(secret))
    with translate_errors("looking up an API key"):
        async with engine.connect() as conn:
            row = (await conn.execute(query)).one_or_none()
    return None if row is None else _from_row(row)


async def record_use(engine: AsyncEngine, key_id: uuid.UUID, now: dt.datetime) -> None:
    with translate_errors("recording an API key's use"):
        async with engine.begin() as conn:
            await conn.execute(api_key.update().where(api_key.c.id == key_id).values(last_used_at=now))


async def has_active_key(engine: AsyncEngine, role: Role) -> bool:
    query = sa.select(api_key.c.id).where(api_key.c.role == role.value, api_key.c.revoked_at.is_(None))
    with translate_errors("looking for an API key"):
        async with engine.connect() as conn:
            return (await conn.execute(query.limit(1))).first() is not None
