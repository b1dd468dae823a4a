"""Filing readings: ids drawn, the readings in force loaded, the batch decided (``classify``), then written —
rows, register rows and one ``meter.reading`` event per reading — in the caller's transaction.

PostgreSQL: one statement each (ids from the sequence, one lookup with array parameters, binary COPY into
``rd_reading``, ``rd_register`` and ``outbox``), with the rows prepared ahead (``prepare``). SQLite:
executemany with the same values, ids counted on from the largest (the write lock is held from BEGIN
IMMEDIATE, so no other writer draws the same).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.bus import outbox
from gateway.bus.base import OutgoingRecord
from gateway.readings import tables as t
from gateway.readings.classify import Decision, InForce, Plan, classify
from gateway.readings.model import GasDocument, Incoming
from gateway.readings.prepare import (
    OUTBOX_COLUMNS,
    READING_COLUMNS,
    REGISTER_COLUMNS,
    SOURCE_OTE,
    Key,
    NewRows,
    PreparedBatch,
    headers,
)
from gateway.readings.register_text import register_values
from gateway.readings.topics import METER_READINGS
from gateway.store.db import copy_binary, copy_payload, is_postgres

#: Readings one ``file_readings`` call decides and writes (one statement per table); callers cut larger
#: inputs into batches of at most this many.
READINGS_PER_BATCH_MAX: Final = 5_000
#: Keys per SQLite lookup (four parameters each: well below SQLite's 32,766 parameters per statement).
SQLITE_KEYS_PER_STATEMENT_MAX: Final = 1_000

# The sequence is looked up once (as in masterdata.bulk_audit), then drawn from n times.
# One array of ids (a row per id cost more to fetch than the ids cost to draw).
_PG_IDS: Final = "SELECT array_agg(nextval('rd_reading_id_seq')) FROM generate_series(1, $1)"
# One probe of ux_rd_reading_in_force per key; FOR UPDATE keeps a concurrent writer (a partition moving
# between consumers) from correcting the same reading meanwhile.
_PG_IN_FORCE: Final = (
    "SELECT r.id, r.opm, r.meter_id, r.date_from, r.date_to, r.fingerprint, r.document_id, "
    "r.document_version, r.document_segment, r.correction_reason "
    "FROM unnest($1::varchar[], $2::varchar[], $3::text[]::date[], $4::text[]::date[]) "
    "AS k(opm, meter_id, date_from, date_to) "
    "JOIN rd_reading AS r ON r.opm = k.opm AND r.meter_id = k.meter_id AND r.date_from = k.date_from "
    "AND r.date_to = k.date_to WHERE r.superseded_by IS NULL AND r.status <> 'duplicate' FOR UPDATE OF r"
)
#: The in-force index's name, as PostgreSQL names it in a unique violation.
_IN_FORCE_INDEX: Final = "ux_rd_reading_in_force"
_PG_SUPERSEDE: Final = (
    "UPDATE rd_reading SET superseded_by = u.by FROM unnest($1::bigint[], $2::bigint[]) AS u(id, by) "
    "WHERE rd_reading.id = u.id AND rd_reading.superseded_by IS NULL"
)


async def file_readings(
    conn: AsyncConnection, batch: PreparedBatch, now: dt.datetime, readings: Sequence[Incoming] | None = None,
) -> list[Decision]:
    """Decide and write ``batch`` (prepared at ``now``); ``readings`` are the same readings, which SQLite's
    rows are made of (PostgreSQL's come prepared)."""
    assert 0 < len(batch) <= READINGS_PER_BATCH_MAX, len(batch)
    assert readings is None or len(readings) == len(batch)
    assert conn.in_transaction(), "readings are filed in the caller's transaction"
    ids = await draw_ids(conn, len(batch))
    if is_postgres(conn):
        if batch.unique_keys() and await copy_new(conn, batch.new_rows(ids)):
            return [Decision(reading_id, "new") for reading_id in ids]
        plan = await _decide(conn, batch, ids)
        await _copy_readings(conn, batch, plan)
        await _copy_rest(conn, batch, plan)
        return plan.decisions
    assert readings is not None, "SQLite's rows are made from the readings"
    plan = await _decide(conn, batch, ids)
    await _insert(conn, readings, batch, plan, now)
    return plan.decisions


async def _decide(conn: AsyncConnection, batch: PreparedBatch, ids: list[int]) -> Plan:
    """The batch decided against the readings in force, which are superseded where corrected."""
    plan = classify(batch.keys, batch.fingerprints, batch.documents, ids, await in_force(conn, batch.keys))
    if plan.superseded:  # before the new rows: the in-force index allows one per key at any time
        await _supersede(conn, plan.superseded)
    return plan


async def copy_new(conn: AsyncConnection, rows: NewRows) -> bool:
    """``rows`` written as new readings, without looking anything up, if no key of theirs has a reading in
    force; False (and nothing written) otherwise. PostgreSQL only.

    New readings are the rule on the bulk path, and a lookup per key cost as much as writing the reading.
    ``ux_rd_reading_in_force`` decides instead: it refuses a key that has a reading in force, the savepoint
    undoes the attempt, and the caller takes the way of lookup and decisions."""
    assert is_postgres(conn)
    try:
        async with conn.begin_nested():
            await copy_payload(conn, t.reading.name, READING_COLUMNS, rows.readings, "binary")
    except sa.exc.IntegrityError as exc:
        if _IN_FORCE_INDEX not in str(exc.orig):
            raise
        return False
    if rows.registers:
        await copy_payload(conn, t.register.name, REGISTER_COLUMNS, rows.registers, "text")
    await copy_payload(conn, "outbox", OUTBOX_COLUMNS, rows.events, "binary")
    return True


async def draw_ids(conn: AsyncConnection, count: int) -> list[int]:
    if is_postgres(conn):
        drawn: list[int] = (await conn.exec_driver_sql(_PG_IDS, (count,))).scalar_one()
        ids = sorted(drawn)
    else:
        largest = await conn.scalar(sa.select(sa.func.coalesce(sa.func.max(t.reading.c.id), 0)))
        ids = list(range(int(largest or 0) + 1, int(largest or 0) + 1 + count))
    assert len(ids) == count and len(set(ids)) == count
    return ids


async def in_force(conn: AsyncConnection, keys: Sequence[Key]) -> dict[Key, InForce]:
    """The reading in force for each of ``keys`` that has one."""
    unique = list(dict.fromkeys(keys))
    if is_postgres(conn):
        columns = tuple([key[position] for key in unique] for position in range(4))
        rows: Iterable[Any] = (await conn.exec_driver_sql(_PG_IN_FORCE, columns)).all()
    else:
        rows = await _in_force_sqlite(conn, unique)
    found = {(row[1], row[2], row[3].isoformat(), row[4].isoformat()): _in_force(row) for row in rows}
    assert len(found) <= len(unique), "ux_rd_reading_in_force allows one reading in force per key"
    return found


def _in_force(row: Any) -> InForce:
    document = None if row[6] is None else GasDocument(row[6], row[7], row[8], row[9])
    return InForce(row[0], bytes(row[5]), document)


async def _in_force_sqlite(conn: AsyncConnection, keys: list[Key]) -> list[Any]:
    r = t.reading.c
    rows: list[Any] = []
    for start in range(0, len(keys), SQLITE_KEYS_PER_STATEMENT_MAX):
        chunk = [
            (opm, meter, dt.date.fromisoformat(first), dt.date.fromisoformat(last))
            for opm, meter, first, last in keys[start : start + SQLITE_KEYS_PER_STATEMENT_MAX]
        ]
        query = sa.select(
            r.id, r.opm, r.meter_id, r.date_from, r.date_to, r.fingerprint, r.document_id, r.document_version,
            r.document_segment, r.correction_reason,
        ).where(
            sa.tuple_(r.opm, r.meter_id, r.date_from, r.date_to).in_(chunk),
            r.superseded_by.is_(None), r.status != "duplicate",
        )
        rows.extend((await conn.execute(query)).all())
    return rows


async def _supersede(conn: AsyncConnection, superseded: Mapping[int, int]) -> None:
    if is_postgres(conn):
        result = await conn.exec_driver_sql(_PG_SUPERSEDE, (list(superseded), list(superseded.values())))
    else:
        statement = (
            t.reading.update()
            .where(t.reading.c.id == sa.bindparam("old_id"), t.reading.c.superseded_by.is_(None))
            .values(superseded_by=sa.bindparam("new_id"))
        )
        pairs = [{"old_id": old, "new_id": new} for old, new in superseded.items()]
        result = await conn.execute(statement, pairs)
    # Each was loaded in force under a row lock (PostgreSQL) or the write lock (SQLite): none can have gone.
    assert result.rowcount == len(superseded), (result.rowcount, len(superseded))


async def _copy_readings(conn: AsyncConnection, batch: PreparedBatch, plan: Plan) -> None:
    rows = [
        batch.reading_row(index, d.id, d.status, d.corrects, d.duplicate_of, d.superseded_by)
        for index, d in enumerate(plan.decisions)
    ]
    await copy_binary(conn, t.reading.name, READING_COLUMNS, rows)


async def _copy_rest(conn: AsyncConnection, batch: PreparedBatch, plan: Plan) -> None:
    """The register rows and the events of the readings written."""
    registers: list[bytes] = []
    events: list[bytes] = []
    for index, decision in enumerate(plan.decisions):
        reading_id, status = decision.id, decision.status
        if status != "duplicate":  # a duplicate's values are those of the reading it repeats
            registers.extend(batch.register_rows(index, reading_id))
        events.append(batch.outbox_row(index, batch.event(index, reading_id, status, decision.corrects)))
    if registers:
        await copy_payload(conn, t.register.name, REGISTER_COLUMNS, b"".join(registers), "text")
    await copy_binary(conn, "outbox", OUTBOX_COLUMNS, events)


async def _insert(
    conn: AsyncConnection, readings: Sequence[Incoming], batch: PreparedBatch, plan: Plan, now: dt.datetime,
) -> None:
    reading_rows: list[dict[str, Any]] = []
    register_rows: list[dict[str, Any]] = []
    events: list[tuple[Any, OutgoingRecord]] = []
    for index, (reading, decision) in enumerate(zip(readings, plan.decisions, strict=True)):
        reading_rows.append(_reading_row(reading, decision, now))
        if decision.status != "duplicate":
            register_rows.extend(_register_rows(reading, decision.id))
        event = batch.event(index, decision.id, decision.status, decision.corrects)
        message_id = batch.message_id(index)
        record = OutgoingRecord(METER_READINGS.name, reading.opm, event, headers(message_id))
        events.append((message_id, record))
    await conn.execute(t.reading.insert(), reading_rows)
    if register_rows:
        await conn.execute(t.register.insert(), register_rows)
    await outbox.add(conn, events, now)


def _reading_row(reading: Incoming, decision: Decision, now: dt.datetime) -> dict[str, Any]:
    document = reading.document
    return {
        "id": decision.id, "opm": reading.opm, "commodity": reading.commodity, "meter_id": reading.meter_id,
        "date_from": reading.date_from, "date_to": reading.date_to, "reason": reading.reason,
        "kind": reading.kind, "status": decision.status, "corrects": decision.corrects,
        "duplicate_of": decision.duplicate_of, "superseded_by": decision.superseded_by,
        "fingerprint": reading.fingerprint, "source": SOURCE_OTE, "ote_message_id": reading.ote_message_id,
        "archive_id": reading.archive_id, "document_id": None if document is None else document.pof_id,
        "document_version": None if document is None else document.version,
        "document_segment": None if document is None else document.segment,
        "correction_reason": None if document is None else document.correction_reason, "created_at": now,
        "register_values": register_values(reading.registers),
    }


def _register_rows(reading: Incoming, reading_id: int) -> list[dict[str, Any]]:
    return [
        {
            "reading_id": reading_id, "register": value.register, "start_state": value.start_state,
            "end_state": value.end_state, "consumption_kwh": value.consumption_kwh,
            "volume_m3": value.volume_m3,
            "conversion_factor": value.conversion_factor,
            "calorific_value_kwh_per_m3": value.calorific_value_kwh_per_m3, "dso_energy_kwh": dso_kwh,
            "note": note,
        }
        for value, dso_kwh, note in zip(reading.registers, reading.dso_energy_kwh, reading.notes, strict=True)
    ]
