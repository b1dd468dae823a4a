"""Backbone tables (SQLAlchemy Core): outbox, inbox, dead letters, the SQL-log bus and the bench state.

Core rather than ORM here because these tables sit on the per-message hot path: each consumed batch writes
inbox rows and state in a handful of multi-row statements.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL wants BIGINT for a long-lived log.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Timestamp = sa.DateTime(timezone=True)


def _queued_record() -> list[sa.Column[object]]:
    """A queued record's columns, the same in ``outbox`` and ``outbox_parked`` (fresh objects for each)."""
    return [
        sa.Column("message_id", sa.Uuid, nullable=False),
        sa.Column("topic", sa.String(249), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("value", sa.LargeBinary, nullable=False),
        sa.Column("headers", sa.JSON, nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
    ]


outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("seq", BigId, primary_key=True, autoincrement=True),
    *_queued_record(),
    sa.Column("sent_at", Timestamp, nullable=True),
)
# The relay scans unsent rows in order; a partial index keeps that scan small however long the table.
sa.Index(
    "ix_outbox_unsent", outbox.c.seq,
    postgresql_where=outbox.c.sent_at.is_(None), sqlite_where=outbox.c.sent_at.is_(None),
)

# A row the relay could not publish because it is over the configured ``message_bytes_max`` (the bus would
# refuse it at every round and hold back every row after it): moved here, with the reason, until an operator
# releases it to the end of the line after raising the limit (``outbox_parked``). ``seq`` is its outbox seq.
outbox_parked = sa.Table(
    "outbox_parked",
    metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    *_queued_record(),
    sa.Column("parked_at", Timestamp, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
)

inbox = sa.Table(
    "inbox",
    metadata,
    sa.Column("group_id", sa.String(200), primary_key=True),
    sa.Column("message_id", sa.Uuid, primary_key=True),
    sa.Column("processed_at", Timestamp, nullable=False),
)

dead_letter = sa.Table(
    "dead_letter",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("group_id", sa.String(200), nullable=False),
    sa.Column("topic", sa.String(249), nullable=False),
    sa.Column("partition", sa.Integer, nullable=False),
    sa.Column("offset", sa.BigInteger, nullable=False),
    sa.Column("key", sa.String(200), nullable=True),
    sa.Column("value", sa.LargeBinary, nullable=False),
    sa.Column("headers", sa.JSON, nullable=False),
    sa.Column("message_id", sa.Uuid, nullable=True),
    sa.Column("message_type", sa.String(200), nullable=True),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("error_type", sa.String(200), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("first_error", sa.Text, nullable=False),
    sa.Column("first_error_at", Timestamp, nullable=False),
    sa.Column("last_error", sa.Text, nullable=False),
    sa.Column("last_error_at", Timestamp, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),  # open | replayed
    sa.Column("replayed_at", Timestamp, nullable=True),
    sa.UniqueConstraint("group_id", "topic", "partition", "offset"),
)
sa.Index("ix_dead_letter_status", dead_letter.c.status, dead_letter.c.last_error_at)

# --- SQL-log bus ------------------------------------------------------------------------------------------

bus_partition = sa.Table(
    "bus_partition",
    metadata,
    sa.Column("topic", sa.String(249), primary_key=True),
    sa.Column("partition", sa.Integer, primary_key=True),
    # Next offset to assign. Publishers take it with a row lock, so offsets become visible in order.
    sa.Column("next_offset", sa.BigInteger, nullable=False),
    sa.Column("retention_ms", sa.BigInteger, nullable=False),
)

bus_log = sa.Table(
    "bus_log",
    metadata,
    sa.Column("topic", sa.String(249), primary_key=True),
    sa.Column("partition", sa.Integer, primary_key=True),
    sa.Column("offset", sa.BigInteger, primary_key=True),
    sa.Column("key", sa.String(200), nullable=True),
    sa.Column("value", sa.LargeBinary, nullable=False),
    sa.Column("headers", sa.JSON, nullable=False),
    sa.Column("timestamp_ms", sa.BigInteger, nullable=False),
)

bus_group_member = sa.Table(
    "bus_group_member",
    metadata,
    sa.Column("group_id", sa.String(200), primary_key=True),
    sa.Column("member_id", sa.String(100), primary_key=True),
    sa.Column("topics", sa.JSON, nullable=False),
    sa.Column("heartbeat_at", Timestamp, nullable=False),
)

bus_group_offset = sa.Table(
    "bus_group_offset",
    metadata,
    sa.Column("group_id", sa.String(200), primary_key=True),
    sa.Column("topic", sa.String(249), primary_key=True),
    sa.Column("partition", sa.Integer, primary_key=True),
    sa.Column("next_offset", sa.BigInteger, nullable=False),
    # The member holding the partition and until when; a commit by anyone else is refused (fencing).
    sa.Column("owner", sa.String(100), nullable=True),
    sa.Column("lease_expires_at", Timestamp, nullable=True),
)

# --- benchmarks and bus tests ----------------------------------------------------------------------------

bench_state = sa.Table(
    "bench_state",
    metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("events", sa.BigInteger, nullable=False),
    sa.Column("total", sa.BigInteger, nullable=False),
    sa.Column("last_message_id", sa.Uuid, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
)

# One row per applied effect, deliberately without a unique key on the message: tests count rows per
# message to prove "exactly once", so a second application must be visible rather than refused.
effect_log = sa.Table(
    "effect_log",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("group_id", sa.String(200), nullable=False),
    sa.Column("message_id", sa.Uuid, nullable=False),
    sa.Column("key", sa.String(200), nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("applied_at", Timestamp, nullable=False),
)
sa.Index("ix_effect_log_message", effect_log.c.group_id, effect_log.c.message_id)
