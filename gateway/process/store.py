"""Reading and writing process instances, history, timers and machine versions inside a caller's transaction.

Nothing here commits: the consumer runner (messages) and the timer scheduler own their transactions, so a
state change, its history, its timers and its outbox rows commit together or not at all.
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
from gateway.errors import TransientError
from gateway.process.engine import FiredTimer, InstanceState, Outcome
from gateway.process.tables import (
    process_history,
    process_instance,
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


async def load_instance(conn: AsyncConnection, machine: str, key: str) -> InstanceState | None:
    """The instance for (machine, key), row-locked on PostgreSQL until the transaction ends."""
    t = process_instance
    query = sa.select(
        t.c.id, t.c.key, t.c.version, t.c.state, t.c.data, t.c.seq, t.c.entered_seq, t.c.transitions
    ).where(t.c.machine == machine, t.c.key == key)
    if _is_postgres(conn):
        query = query.with_for_update()
    row = (await conn.execute(query)).one_or_none()
    if row is None:
        return None
    return InstanceState(
        id=row.id, key=row.key, version=row.version, state=row.state, data=row.data, seq=row.seq,
        entered_seq=row.entered_seq, transitions=row.transitions,
    )


async def load_timer(conn: AsyncConnection, timer_id: int) -> FiredTimer | None:
    t = process_timer
    columns = (t.c.id, t.c.instance_id, t.c.name, t.c.state_entry, t.c.status)
    query = sa.select(*columns).where(t.c.id == timer_id)
    row = (await conn.execute(query)).one_or_none()
    if row is None:
        return None
    return FiredTimer(row.id, row.instance_id, row.name, row.state_entry, row.status)


async def save(
    conn: AsyncConnection, machine: str, before: InstanceState | None, outcome: Outcome, now: dt.datetime
) -> int:
    """Persist a changing outcome; returns the instance id."""
    after = outcome.instance
    assert outcome.changed and after is not None
    values = {
        "version": after.version, "state": after.state, "data": dict(after.data), "seq": after.seq,
        "entered_seq": after.entered_seq, "transitions": after.transitions, "updated_at": now,
    }
    if before is None or before.id is None:
        instance_id = await _insert_instance(conn, machine, after.key, values, now)
    else:
        instance_id = before.id
        t = process_instance
        await conn.execute(t.update().where(t.c.id == instance_id).values(values))
    if outcome.history:
        await conn.execute(process_history.insert(), [
            {
                "instance_id": instance_id, "seq": h.seq, "from_state": h.from_state, "to_state": h.to_state,
                "transition_at": h.where, "message_id": h.message_id, "message_type": h.message_type,
                "at": h.at, "disposition": h.disposition,
            }
            for h in outcome.history
        ])
    if outcome.cancel and before is not None:
        t = process_timer
        await conn.execute(
            t.update()
            .where(t.c.instance_id == instance_id, t.c.status == PENDING, t.c.name.in_(outcome.cancel))
            .values(status=CANCELLED)
        )
    if outcome.arm:
        await conn.execute(process_timer.insert(), [
            {
                "instance_id": instance_id, "machine": machine, "key": after.key, "name": timer.name,
                "due_at": timer.due_at.astimezone(dt.UTC), "state_entry": timer.state_entry,
                "status": PENDING, "fired_at": None,
            }
            for timer in outcome.arm
        ])
    return instance_id


async def _insert_instance(
    conn: AsyncConnection, machine: str, key: str, values: dict[str, object], now: dt.datetime
) -> int:
    insert = pg_insert if _is_postgres(conn) else sqlite_insert
    statement = (
        insert(process_instance)
        .values(machine=machine, key=key, created_at=now, **values)
        .on_conflict_do_nothing(index_elements=[process_instance.c.machine, process_instance.c.key])
        .returning(process_instance.c.id)
    )
    instance_id = await conn.scalar(statement)
    if instance_id is None:
        # Another consumer created it after our read (a rebalance overlap); a retry sees and locks it.
        raise TransientError(f"process instance {machine}/{key} was created concurrently")
    return int(instance_id)


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
