"""Reading and writing process instances, history, timers and machine versions inside a caller's transaction.

Nothing here commits: the consumer runner (messages) and the timer scheduler own their transactions, so a
state change, its history, its timers and its outbox rows commit together or not at all. Messages' instance
changes are loaded and written a batch at a time by ``store_batch``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.clock import as_utc
from gateway.process.tables import (
    process_history,
    process_machine_version,
    process_timer,
)

PENDING, FIRED, CANCELLED = "pending", "fired", "cancelled"


@dataclass(frozen=True, slots=True)
class DueTimer:
    id: int
    instance_id: int
    machine: str
    key: str
    name: str
    due_at: dt.datetime


def _is_postgres(conn: AsyncConnection) -> bool:
    return conn.dialect.name == "postgresql"


async def claim_due_timers(conn: AsyncConnection, now: dt.datetime, limit: int) -> list[DueTimer]:
    """Mark up to ``limit`` due pending timers fired and return them. Concurrent schedulers on PostgreSQL
    skip each other's locked rows, so each timer is claimed by exactly one transaction."""
    t = process_timer
    query = (
        sa.select(t.c.id, t.c.instance_id, t.c.machine, t.c.key, t.c.name, t.c.due_at)
        .where(t.c.status == PENDING, t.c.due_at <= now.astimezone(dt.UTC))
        .order_by(t.c.due_at, t.c.id)
        .limit(limit)
    )
    if _is_postgres(conn):
        query = query.with_for_update(skip_locked=True)
    rows = (await conn.execute(query)).all()
    if not rows:
        return []
    claimed = [r.id for r in rows]
    await conn.execute(
        t.update().where(t.c.id.in_(claimed), t.c.status == PENDING).values(status=FIRED, fired_at=now)
    )
    return [DueTimer(r.id, r.instance_id, r.machine, r.key, r.name, as_utc(r.due_at)) for r in rows]


async def register_version(
    conn: AsyncConnection, machine: str, version: str, source: str, now: dt.datetime
) -> None:
    """Remember a machine version's source, so instances started on it can run after the file changes."""
    insert = pg_insert if _is_postgres(conn) else sqlite_insert
    await conn.execute(
        insert(process_machine_version)
        .values(machine=machine, version=version, source=source, first_seen_at=now)
        .on_conflict_do_nothing()
    )


async def version_source(conn: AsyncConnection, machine: str, version: str) -> str | None:
    t = process_machine_version
    value = await conn.scalar(sa.select(t.c.source).where(t.c.machine == machine, t.c.version == version))
    return None if value is None else str(value)


async def history(conn: AsyncConnection, instance_id: int) -> Sequence[sa.Row[tuple[object, ...]]]:
    """An instance's history in order (for ops views and tests)."""
    t = process_history
    return (await conn.execute(sa.select(t).where(t.c.instance_id == instance_id).order_by(t.c.seq))).all()
