"""The ``api_key`` table: who may call ``/api/**``, in which role.

Only the SHA-256 of a secret is stored: a copy of the database (a backup, a dump sent for support) must not
let anyone call the API. The secret is shown once, when the key is created.
"""

from __future__ import annotations

from typing import Final

import sqlalchemy as sa

from gateway.store.tables import Timestamp, metadata

#: Roles in the order of what they may do; each may do everything the roles before it may.
ROLE_NAMES: Final = ("reader", "operator", "admin")
#: Longest key name: a person's or a system's name (``billing-portal``, ``jana.novakova``).
KEY_NAME_CHARS_MAX: Final = 100
#: Hex digits of a SHA-256 digest.
KEY_HASH_CHARS: Final = 64

api_key = sa.Table(
    "api_key",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("name", sa.String(KEY_NAME_CHARS_MAX), nullable=False, unique=True),
    sa.Column("role", sa.String(20), nullable=False),
    # Unique: every request looks its key up by this, and two keys with one secret would be one key.
    sa.Column("key_hash", sa.String(KEY_HASH_CHARS), nullable=False, unique=True),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("last_used_at", Timestamp, nullable=True),
    sa.Column("revoked_at", Timestamp, nullable=True),
    sa.CheckConstraint(sa.column("role").in_(ROLE_NAMES), name="role"),
)
