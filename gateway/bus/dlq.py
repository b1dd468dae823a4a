"""Dead letters: messages a consumer group could not process, with the reason, kept for inspection and replay.

A dead letter is written in one transaction with a copy of the record queued (outbox) for ``<topic>.dlq``,
so the database row and the dead-letter topic agree. Replay queues the original record again for its
original topic, marked for the one group that failed it; other groups skip it (they already applied it).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway import limits
from gateway.bus import outbox
from gateway.bus.base import OutgoingRecord, Record
from gateway.bus.topics import dlq_topic
from gateway.clock import Clock, as_utc
from gateway.errors import Conflict, NotFound
from gateway.ids import uuid7
from gateway.store.tables import dead_letter

HEADER_REPLAY_GROUP = "proud-replay-group"
HEADER_REPLAY_OF = "proud-replay-of"
STATUS_OPEN = "open"
STATUS_REPLAYED = "replayed"
#: Longest error text kept per dead letter; a stack of nested causes can be huge.
ERROR_TEXT_MAX = 4_000


@dataclass(frozen=True, slots=True)
class Failure:
    """What went wrong with one record, over all attempts."""

    reason: str
    error_type: str
    attempts: int
    first_error: str
    first_error_at: dt.datetime
    last_error: str
    last_error_at: dt.datetime


@dataclass(frozen=True, slots=True)
class DeadLetter:
    id: uuid.UUID
    group_id: str
    topic: str
    partition: int
    offset: int
    key: str | None
    message_id: uuid.UUID | None
    message_type: str | None
    reason: str
    error_type: str
    attempts: int
    first_error: str
    first_error_at: dt.datetime
    last_error: str
    last_error_at: dt.datetime
    status: str
    replayed_at: dt.datetime | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...]

    def summary(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "group": self.group_id,
            "topic": self.topic,
            "partition": self.partition,
            "offset": self.offset,
            "key": self.key,
            "message_type": self.message_type,
            "message_id": str(self.message_id) if self.message_id else None,
            "reason": self.reason,
            "error_type": self.error_type,
            "attempts": self.attempts,
            "status": self.status,
            "first_error_at": self.first_error_at.isoformat(),
            "last_error_at": self.last_error_at.isoformat(),
            "replayed_at": self.replayed_at.isoformat() if self.replayed_at else None,
        }

    def detail(self) -> dict[str, Any]:
        return self.summary() | {
            "first_error": self.first_error,
            "last_error": self.last_error,
            "value": self.value.decode("utf-8", errors="replace"),
            "headers": {k: v.decode("utf-8", errors="replace") for k, v in self.headers},
        }


def _clip(text: str) -> str:
    return text if len(text) <= ERROR_TEXT_MAX else text[: ERROR_TEXT_MAX - 1] + "…"


async def add(
    conn: AsyncConnection,
    *,
    group_id: str,
    record: Record,
    failure: Failure,
    message_id: uuid.UUID | None,
    message_type: str | None,
    now: dt.datetime,
) -> uuid.UUID:
    """Record a dead letter and queue its copy for ``<topic>.dlq``, in the caller's transaction."""
    letter_id = uuid7()
    await conn.execute(
        dead_letter.insert().values(
            id=letter_id,
            group_id=group_id,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            key=record.key,
            value=record.value,
            headers=[[k, v.decode("latin-1")] for k, v in record.headers],
            message_id=message_id,
            message_type=message_type,
            reason=_clip(failure.reason),
            error_type=failure.error_type,
            attempts=failure.attempts,
            first_error=_clip(failure.first_error),
            first_error_at=failure.first_error_at,
            last_error=_clip(failure.last_error),
            last_error_at=failure.last_error_at,
            status=STATUS_OPEN,
            replayed_at=None,
        )
    )
    headers = (
        *record.headers,
        ("proud-dlq-id", str(letter_id).encode()),
        ("proud-dlq-group", group_id.encode()),
        ("proud-dlq-reason", _clip(failure.reason).encode()),
        ("proud-dlq-error-type", failure.error_type.encode()),
        ("proud-dlq-attempts", str(failure.attempts).encode()),
        ("proud-dlq-first-error-at", failure.first_error_at.isoformat().encode()),
        ("proud-dlq-last-error-at", failure.last_error_at.isoformat().encode()),
        ("proud-dlq-source", f"{record.topic}[{record.partition}]@{record.offset}".encode()),
    )
    copy = OutgoingRecord(dlq_topic(record.topic), record.key or str(letter_id), record.value, headers)
    await outbox.add(conn, [(letter_id, copy)], now)
    return letter_id


def _from_row(row: Any) -> DeadLetter:
    return DeadLetter(
        id=row.id,
        group_id=row.group_id,
        topic=row.topic,
        partition=row.partition,
        offset=row.offset,
        key=row.key,
        message_id=row.message_id,
        message_type=row.message_type,
        reason=row.reason,
        error_type=row.error_type,
        attempts=row.attempts,
        first_error=row.first_error,
        first_error_at=as_utc(row.first_error_at),
        last_error=row.last_error,
        last_error_at=as_utc(row.last_error_at),
        status=row.status,
        replayed_at=as_utc(row.replayed_at) if row.replayed_at else None,
        value=row.value,
        headers=tuple((str(k), str(v).encode("latin-1")) for k, v in row.headers),
    )


async def list_letters(
    engine: AsyncEngine,
    *,
    status: str | None = STATUS_OPEN,
    topic: str | None = None,
    group_id: str | None = None,
    limit: int = 100,
) -> list[DeadLetter]:
    limit = max(1, min(limit, limits.DLQ_LIST_MAX))
    query = sa.select(dead_letter).order_by(dead_letter.c.last_error_at.desc()).limit(limit)
    if status:
        query = query.where(dead_letter.c.status == status)
    if topic:
        query = query.where(dead_letter.c.topic == topic)
    if group_id:
        query = query.where(dead_letter.c.group_id == group_id)
    async with engine.connect() as conn:
        return [_from_row(row) for row in await conn.execute(query)]


async def count_open(engine: AsyncEngine) -> dict[tuple[str, str], int]:
    query = (
        sa.select(dead_letter.c.topic, dead_letter.c.group_id, sa.func.count())
        .where(dead_letter.c.status == STATUS_OPEN)
        .group_by(dead_letter.c.topic, dead_letter.c.group_id)
    )
    async with engine.connect() as conn:
        return {(row[0], row[1]): int(row[2]) for row in await conn.execute(query)}


async def get(engine: AsyncEngine, letter_id: uuid.UUID) -> DeadLetter:
    async with engine.connect() as conn:
        row = (await conn.execute(sa.select(dead_letter).where(dead_letter.c.id == letter_id))).first()
    if row is None:
        raise NotFound(f"no dead letter with id {letter_id}")
    return _from_row(row)


async def replay(engine: AsyncEngine, letter_id: uuid.UUID, clock: Clock) -> DeadLetter:
    """Queue the original record for its topic again, for the group that failed it. Once per letter."""
    now = clock.now()
    async with engine.begin() as conn:
        row = (
            await conn.execute(sa.select(dead_letter).where(dead_letter.c.id == letter_id).with_for_update())
        ).first()
        if row is None:
            raise NotFound(f"no dead letter with id {letter_id}")
        letter = _from_row(row)
        if letter.status != STATUS_OPEN:
            raise Conflict(f"dead letter {letter_id} was already replayed at {letter.replayed_at}")
        headers = (
            *tuple((k, v) for k, v in letter.headers if k not in (HEADER_REPLAY_GROUP, HEADER_REPLAY_OF)),
            (HEADER_REPLAY_GROUP, letter.group_id.encode()),
            (HEADER_REPLAY_OF, str(letter.id).encode()),
        )
        record = OutgoingRecord(letter.topic, letter.key or str(letter.id), letter.value, headers)
        await outbox.add(conn, [(letter.message_id or letter.id, record)], now)
        await conn.execute(
            dead_letter.update()
            .where(dead_letter.c.id == letter_id)
            .values(status=STATUS_REPLAYED, replayed_at=now)
        )
    return await get(engine, letter_id)
