"""The OTE archive (SQLAlchemy Core, on the backbone's ``metadata``): every message exchanged with CS OTE.

Kept for audit (ote-market.md §8: "keep raw signed payloads"): the bytes exactly as they crossed the wire,
in both directions, whether or not we could read them. ``id`` doubles as the dead-letter offset of an
inbound message we refused, so a dead letter points at its archive row.
"""

from __future__ import annotations

from typing import Final

import sqlalchemy as sa

from connectors.ote.transport import BODY_BYTES_MAX
from gateway.store.tables import BigId, Timestamp, metadata

DIRECTION_IN: Final = "in"
DIRECTION_OUT: Final = "out"
#: An RFC 4514 subject of a peer certificate; real ones are a few hundred characters.
PEER_SUBJECT_CHARS_MAX: Final = 1_000

ote_archive = sa.Table(
    "ote_archive",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("direction", sa.String(3), nullable=False),
    sa.Column("received_at", Timestamp, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("size_bytes", sa.Integer, nullable=False),
    # Both None when the message could not be read (malformed XML, an unknown root).
    sa.Column("message_code", sa.String(4), nullable=True),
    sa.Column("message_id", sa.String(35), nullable=True),
    sa.Column("peer_subject", sa.String(PEER_SUBJECT_CHARS_MAX), nullable=True),
    # What was on the wire: the whole SOAP envelope, bounded by the transport's BODY_BYTES_MAX.
    sa.Column("raw", sa.LargeBinary, nullable=False),
    sa.CheckConstraint(f"direction IN ('{DIRECTION_IN}', '{DIRECTION_OUT}')", name="direction"),
    sa.CheckConstraint(f"size_bytes <= {BODY_BYTES_MAX}", name="size"),
)
sa.Index("ix_ote_archive_message_id", ote_archive.c.message_id)
sa.Index("ix_ote_archive_received_at", ote_archive.c.received_at)
