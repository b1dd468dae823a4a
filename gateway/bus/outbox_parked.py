"""Parked outbox rows: records the relay will not publish because they are over the configured
``message_bytes_max``, kept with the reason until an operator releases them.

The relay publishes strictly in order, so a row the bus refuses at every round would hold back every row
after it. ``outbox.add`` already refuses a record over the bus's hard limit (``limits.MESSAGE_BYTES_MAX``),
which no setting can raise; a lower configured limit is a setting of the running daemon (and may be lowered
after a row was queued), so the relay checks it and moves such a row here in one transaction: out of the
line, not lost. ``release`` queues it again at the end of the line, with its message id (it was never
published, so no consumer has seen it), once the limit allows it; until then it refuses, naming the size.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway import limits
from gateway.clock import as_utc
from gateway.errors import Conflict, NotFound
from gateway.store.tables import outbox, outbox_parked

#: Most parked rows one listing or one ``release --all`` handles; the rest wait for the next.
PARKED_BATCH_MAX = 1_000
assert PARKED_BATCH_MAX <= limits.OUTBOX_BATCH_MAX


@dataclass(frozen=True, slots=True)
class Parked:
    """A parked row, without its value (``size_bytes`` says how large it is)."""

    seq: int
    message_id: uuid.UUID
    topic: str
    key: str
    size_bytes: int
    created_at: dt.datetime
    parked_at: dt.datetime
    reason: str

    def summary(self) -> dict[str, Any]:
        return {
            "seq": self.seq, "message_id": str(self.message_id), "topic": self.topic, "key": self.key,
            "size_bytes": self.size_bytes, "created_at": self.created_at.isoformat(),
            "parked_at": self.parked_at.isoformat(), "reason": self.reason,
        }


def over_limit_reason(size_bytes: int, bytes_max: int) -> str:
    return (
        f"value is {size_bytes} bytes, over message_bytes_max of {bytes_max} bytes: raise "
        f"PROUD_MESSAGE_BYTES_MAX (at most {limits.MESSAGE_BYTES_MAX}) and release it"
    )


async def park(conn: AsyncConnection, seqs_sizes: Sequence[tuple[int, int]], bytes_max: int,
               now: dt.datetime) -> None:
    """Move the outbox rows ``seqs_sizes`` names (seq, value size) here, inside the caller's transaction."""
    o = outbox.c
    for seq, size_bytes in seqs_sizes:
        copied = sa.select(
            o.seq, o.message_id, o.topic, o.key, o.value, o.headers, o.created_at,
            sa.literal(now, outbox_parked.c.parked_at.type),
            sa.literal(over_limit_reason(size_bytes, bytes_max), sa.Text),
        ).where(o.seq == seq, o.sent_at.is_(None))
        moved = await conn.execute(outbox_parked.insert().from_select(
            ["seq", "message_id", "topic", "key", "value", "headers", "created_at", "parked_at", "reason"],
            copied,
        ))
        # Only the elected relay moves unsent rows, so the row it just read is still there and unsent.
        assert moved.rowcount == 1, f"outbox row {seq} vanished while being parked"
        await conn.execute(outbox.delete().where(o.seq == seq))


_SIZE = sa.func.length(outbox_parked.c.value)


def _parked(row: Any) -> Parked:
    return Parked(
        seq=row.seq, message_id=row.message_id, topic=row.topic, key=row.key, size_bytes=int(row.size),
        created_at=as_utc(row.created_at), parked_at=as_utc(row.parked_at), reason=row.reason,
    )


def _listing(seqs: Sequence[int] | None) -> sa.Select[Any]:
    p = outbox_parked.c
    query = sa.select(p.seq, p.message_id, p.topic, p.key, _SIZE.label("size"), p.created_at, p.parked_at,
                      p.reason).order_by(p.seq).limit(PARKED_BATCH_MAX)
    return query if seqs is None else query.where(p.seq.in_(seqs))


async def listing(engine: AsyncEngine) -> tuple[list[Parked], int]:
    """The oldest ``PARKED_BATCH_MAX`` parked rows and how many there are in all."""
    async with engine.connect() as conn:
        rows = (await conn.execute(_listing(None))).all()
        total = await count(conn)
    return [_parked(row) for row in rows], total


async def count(conn: AsyncConnection) -> int:
    return int(await conn.scalar(sa.select(sa.func.count()).select_from(outbox_parked)) or 0)


async def release(engine: AsyncEngine, seqs: Sequence[int] | None, bytes_max: int) -> list[Parked]:
    """Queue the parked rows ``seqs`` (None: the oldest ``PARKED_BATCH_MAX``) at the end of the outbox.

    All or none: an unknown seq is ``NotFound``, a row still over ``bytes_max`` a ``Conflict`` naming it."""
    assert seqs is None or 0 < len(seqs) <= PARKED_BATCH_MAX
    async with engine.begin() as conn:
        found = [_parked(row) for row in (await conn.execute(_listing(seqs))).all()]
        missing = sorted(set(seqs or ()) - {p.seq for p in found})
        if missing:
            raise NotFound(f"no parked outbox row with seq {', '.join(map(str, missing))}")
        for p in found:
            if p.size_bytes > bytes_max:
                raise Conflict(
                    f"parked outbox row {p.seq} (message {p.message_id}, topic {p.topic}, key {p.key!r}) is "
                    f"{p.size_bytes} bytes, still over message_bytes_max of {bytes_max} bytes: raise the "
                    "limit first"
                )
        q = outbox_parked.c
        for p in found:
            again = sa.select(q.message_id, q.topic, q.key, q.value, q.headers, q.created_at).where(
                q.seq == p.seq
            )
            await conn.execute(outbox.insert().from_select(
                ["message_id", "topic", "key", "value", "headers", "created_at"], again,
            ))
            await conn.execute(outbox_parked.delete().where(q.seq == p.seq))
    return found
