"""Loading and writing a batch's instances, history and timers inside the consumer's transaction.

A batch costs a few statements whatever its size: one to load (and on PostgreSQL row-lock, in id order so
that two transactions never wait on each other crosswise) the instances of its keys, one to load the timer
rows its timer messages name, then one each for the new instances, the instance updates, the history rows,
the cancelled timers and the armed timers. On PostgreSQL each statement takes one array parameter per
column (``unnest``), so neither SQLAlchemy nor asyncpg processes parameters row by row; SQLite keeps
SQLAlchemy Core with executemany, compiled once. Nothing here commits (see ``store``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.errors import TransientError
from gateway.process.batch import CANCELLED, PENDING, Batch, Slot
from gateway.process.engine import FiredTimer, InstanceState
from gateway.process.tables import dumps, loads, process_history, process_instance, process_timer

#: Keys or ids per ``IN`` list on SQLite (its bound-parameter limit is far above this).
SQLITE_IN_MAX = 500

_PG_LOAD = (
    "SELECT id, key, version, state, data::text, seq, entered_seq, transitions FROM process_instance "
    "WHERE machine = $1 AND key = ANY($2::varchar[]) ORDER BY id FOR UPDATE"
)
_PG_TIMERS = (
    "SELECT id, instance_id, name, state_entry, status FROM process_timer WHERE id = ANY($1::bigint[])"
)
# ON CONFLICT: another consumer created the key after our read (a rebalance overlap); see ``write``.
_PG_INSERT = (
    "INSERT INTO process_instance (machine, key, version, state, data, seq, entered_seq, transitions, "
    "created_at, updated_at) "
    "SELECT $1, k, v, s, d::json, q, e, t, c, u FROM unnest($2::varchar[], $3::varchar[], $4::varchar[], "
    "$5::text[], $6::bigint[], $7::bigint[], $8::bigint[], $9::timestamptz[], $10::timestamptz[]) "
    "WITH ORDINALITY AS r(k, v, s, d, q, e, t, c, u, n) ORDER BY n "
    "ON CONFLICT (machine, key) DO NOTHING RETURNING id, key"
)
_PG_UPDATE = (
    "UPDATE process_instance AS p SET version = r.v, state = r.s, data = r.d::json, seq = r.q, "
    "entered_seq = r.e, transitions = r.t, updated_at = r.u "
    "FROM unnest($1::bigint[], $2::varchar[], $3::varchar[], $4::text[], $5::bigint[], $6::bigint[], "
    "$7::bigint[], $8::timestamptz[]) AS r(i, v, s, d, q, e, t, u) WHERE p.id = r.i"
)
_PG_HISTORY = (
    "INSERT INTO process_history (instance_id, seq, from_state, to_state, transition_at, message_id, "
    "message_type, at, disposition) "
    "SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::varchar[], $4::varchar[], $5::varchar[], "
    "$6::uuid[], $7::varchar[], $8::timestamptz[], $9::varchar[])"
)
_PG_CANCEL = (
    "UPDATE process_timer AS p SET status = $3 FROM unnest($1::bigint[], $2::varchar[]) AS r(i, n) "
    "WHERE p.instance_id = r.i AND p.name = r.n AND p.status = $4"
)
_PG_ARM = (
    "INSERT INTO process_timer (instance_id, machine, key, name, due_at, state_entry, status) "
    "SELECT i, $1, k, n, d, e, s FROM unnest($2::bigint[], $3::varchar[], $4::varchar[], "
    "$5::timestamptz[], $6::bigint[], $7::varchar[]) WITH ORDINALITY AS r(i, k, n, d, e, s, o) ORDER BY o"
)


def _is_postgres(conn: AsyncConnection) -> bool:
    return conn.dialect.name == "postgresql"


def _chunks(values: Sequence[object]) -> list[Sequence[object]]:
    return [values[i : i + SQLITE_IN_MAX] for i in range(0, len(values), SQLITE_IN_MAX)]


async def load_instances(
    conn: AsyncConnection, machine: str, keys: Sequence[str]
) -> dict[str, InstanceState]:
    """The instances of ``keys`` by key, row-locked on PostgreSQL until the transaction ends."""
    if not keys:
        return {}
    if _is_postgres(conn):
        rows: Sequence[Any] = (await conn.exec_driver_sql(_PG_LOAD, (machine, list(keys)))).all()
        return {
            r[1]: InstanceState(r[0], r[1], r[2], r[3], loads(r[4]), r[5], r[6], r[7]) for r in rows
        }
    t = process_instance
    columns = (t.c.id, t.c.key, t.c.version, t.c.state, t.c.data, t.c.seq, t.c.entered_seq, t.c.transitions)
    found: dict[str, InstanceState] = {}
    for chunk in _chunks(keys):
        query = sa.select(*columns).where(t.c.machine == machine, t.c.key.in_(chunk))
        for r in await conn.execute(query):
            found[r[1]] = InstanceState(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7])
    return found


async def load_timers(conn: AsyncConnection, ids: Sequence[int]) -> dict[int, FiredTimer]:
    """The timer rows named by timer messages, by id."""
    if not ids:
        return {}
    rows: list[Any]
    if _is_postgres(conn):
        rows = list((await conn.exec_driver_sql(_PG_TIMERS, (list(ids),))).all())
    else:
        t = process_timer
        columns = (t.c.id, t.c.instance_id, t.c.name, t.c.state_entry, t.c.status)
        rows = []
        for chunk in _chunks(ids):
            rows.extend(await conn.execute(sa.select(*columns).where(t.c.id.in_(chunk))))
    return {r[0]: FiredTimer(r[0], r[1], r[2], r[3], r[4]) for r in rows}


async def write(conn: AsyncConnection, machine: str, batch: Batch) -> None:
    """Persist the batch's changes: new instances, updates, history, cancelled and armed timers."""
    ids = {
        key: slot.stored.id for key, slot in batch.slots.items() if slot.stored and slot.stored.id is not None
    }
    new = batch.new_slots()
    if new:
        ids.update(await _insert(conn, machine, new))
    updated = batch.updated_slots()
    if updated:
        await _update(conn, updated)
    if batch.history:
        await _history(conn, batch, ids)
    if batch.cancels:
        await _cancel(conn, list(batch.cancels))
    if batch.armed:
        await _arm(conn, machine, batch, ids)


def _current(slot: Slot) -> InstanceState:
    assert slot.current is not None and slot.updated_at is not None
    return slot.current


async def _insert(conn: AsyncConnection, machine: str, new: dict[str, Slot]) -> dict[str, int]:
    """Insert the new instances; returns their ids by slot key."""
    states = {key: _current(slot) for key, slot in new.items()}
    if _is_postgres(conn):
        columns = (
            machine, [s.key for s in states.values()], [s.version for s in states.values()],
            [s.state for s in states.values()], [dumps(s.data) for s in states.values()],
            [s.seq for s in states.values()], [s.entered_seq for s in states.values()],
            [s.transitions for s in states.values()], [slot.created_at for slot in new.values()],
            [slot.updated_at for slot in new.values()],
        )
        returned: Sequence[Any] = (await conn.exec_driver_sql(_PG_INSERT, columns)).all()
    else:
        rows = [
            {
                "machine": machine, "key": s.key, "version": s.version, "state": s.state,
                "data": dict(s.data), "seq": s.seq, "entered_seq": s.entered_seq,
                "transitions": s.transitions, "created_at": new[key].created_at,
                "updated_at": new[key].updated_at,
            }
            for key, s in states.items()
        ]
        statement = (
            sqlite_insert(process_instance)
            .on_conflict_do_nothing(index_elements=[process_instance.c.machine, process_instance.c.key])
            .returning(process_instance.c.id, process_instance.c.key)
        )
        returned = list(await conn.execute(statement, rows))
    by_instance_key = {str(r[1]): int(r[0]) for r in returned}
    missing = [s.key for s in states.values() if s.key not in by_instance_key]
    if missing:
        # Another consumer created them after our read (a rebalance overlap); a retry sees and locks them.
        raise TransientError(f"process instances {machine}/{missing[:5]} were created concurrently")
    return {key: by_instance_key[s.key] for key, s in states.items()}


async def _update(conn: AsyncConnection, updated: list[Slot]) -> None:
    pairs = [(slot, _current(slot)) for slot in updated]
    if _is_postgres(conn):
        columns = (
            [slot.stored.id for slot, _ in pairs if slot.stored is not None], [s.version for _, s in pairs],
            [s.state for _, s in pairs], [dumps(s.data) for _, s in pairs], [s.seq for _, s in pairs],
            [s.entered_seq for _, s in pairs], [s.transitions for _, s in pairs],
            [slot.updated_at for slot, _ in pairs],
        )
        await conn.exec_driver_sql(_PG_UPDATE, columns)
        return
    t = process_instance
    statement = t.update().where(t.c.id == sa.bindparam("b_id")).values(
        version=sa.bindparam("b_version"), state=sa.bindparam("b_state"), data=sa.bindparam("b_data"),
        seq=sa.bindparam("b_seq"), entered_seq=sa.bindparam("b_entered_seq"),
        transitions=sa.bindparam("b_transitions"), updated_at=sa.bindparam("b_updated_at"),
    )
    await conn.execute(statement, [
        {
            "b_id": slot.stored.id if slot.stored else None, "b_version": s.version, "b_state": s.state,
            "b_data": dict(s.data), "b_seq": s.seq, "b_entered_seq": s.entered_seq,
            "b_transitions": s.transitions, "b_updated_at": slot.updated_at,
        }
        for slot, s in pairs
    ])


async def _history(conn: AsyncConnection, batch: Batch, ids: dict[str, int]) -> None:
    entries = batch.history
    if _is_postgres(conn):
        columns = (
            [ids[key] for key, _ in entries], [h.seq for _, h in entries], [h.from_state for _, h in entries],
            [h.to_state for _, h in entries], [h.where for _, h in entries],
            [h.message_id for _, h in entries], [h.message_type for _, h in entries],
            [h.at for _, h in entries], [h.disposition for _, h in entries],
        )
        await conn.exec_driver_sql(_PG_HISTORY, columns)
        return
    await conn.execute(process_history.insert(), [
        {
            "instance_id": ids[key], "seq": h.seq, "from_state": h.from_state, "to_state": h.to_state,
            "transition_at": h.where, "message_id": h.message_id, "message_type": h.message_type,
            "at": h.at, "disposition": h.disposition,
        }
        for key, h in entries
    ])


async def _cancel(conn: AsyncConnection, cancels: list[tuple[int, str]]) -> None:
    if _is_postgres(conn):
        columns = ([i for i, _ in cancels], [n for _, n in cancels], CANCELLED, PENDING)
        await conn.exec_driver_sql(_PG_CANCEL, columns)
        return
    t = process_timer
    statement = (
        t.update()
        .where(t.c.instance_id == sa.bindparam("b_instance_id"), t.c.name == sa.bindparam("b_name"))
        .where(t.c.status == PENDING)
        .values(status=CANCELLED)
    )
    await conn.execute(statement, [{"b_instance_id": i, "b_name": n} for i, n in cancels])


async def _arm(conn: AsyncConnection, machine: str, batch: Batch, ids: dict[str, int]) -> None:
    armed = batch.armed
    if _is_postgres(conn):
        columns = (
            machine, [ids[t.key] for t in armed], [t.instance_key for t in armed], [t.name for t in armed],
            [t.due_at for t in armed], [t.state_entry for t in armed], [t.status for t in armed],
        )
        await conn.exec_driver_sql(_PG_ARM, columns)
        return
    await conn.execute(process_timer.insert(), [
        {
            "instance_id": ids[t.key], "machine": machine, "key": t.instance_key, "name": t.name,
            "due_at": t.due_at, "state_entry": t.state_entry, "status": t.status, "fired_at": None,
        }
        for t in armed
    ])

