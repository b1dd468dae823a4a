"""Our supply periods at an OPM: at most one of our contracts supplies an OPM on any day.

A period is claimed or moved only under a lock on the OPM row, so two transactions writing periods of one
OPM run one after the other: the second sees the first's period and refuses an overlap. PostgreSQL takes the
lock with ``SELECT … FOR UPDATE`` (READ COMMITTED: the overlap query after the lock sees the committed rows);
SQLite transactions here begin IMMEDIATE and are serialised already.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.errors import Conflict
from gateway.masterdata import tables as t
from schemas.masterdata.opm import SupplyPeriod


def describe(start: dt.date, end: dt.date | None) -> str:
    return f"from {start} to {end}" if end is not None else f"from {start} indefinitely"


async def lock_opm(conn: AsyncConnection, opm_id: uuid.UUID) -> Any:
    """Lock the OPM row until the transaction ends, and return it."""
    row = (await conn.execute(sa.select(t.opm).where(t.opm.c.id == opm_id).with_for_update())).first()
    assert row is not None, f"OPM {opm_id} vanished inside the transaction"
    return row


async def require_free(
    conn: AsyncConnection, opm_id: uuid.UUID, start: dt.date, end: dt.date | None,
    contract_id: uuid.UUID,
) -> None:
    """``Conflict`` when another contract's period at the OPM shares a day with ``start``..``end``.

    Call with the OPM locked (``lock_opm``); otherwise a concurrent writer may slip in between.
    """
    assert end is None or end >= start, (start, end)
    s = t.supply.c
    overlapping = sa.and_(
        s.opm_id == opm_id, s.contract_id != contract_id, sa.or_(s.end.is_(None), s.end >= start)
    )
    if end is not None:
        overlapping = sa.and_(overlapping, s.start <= end)
    query = (
        sa.select(t.contract.c.number, s.start, s.end, t.opm.c.code)
        .join(t.contract, t.contract.c.id == s.contract_id).join(t.opm, t.opm.c.id == s.opm_id)
        .where(overlapping).order_by(s.start).limit(1)
    )
    other = (await conn.execute(query)).first()
    if other is not None:
        raise Conflict(
            f"OPM {other.code} is already supplied under contract {other.number} "
            f"{describe(other.start, other.end)}; a contract {describe(start, end)} would overlap it"
        )


async def reserve(
    conn: AsyncConnection, opm_id: uuid.UUID, contract_id: uuid.UUID, start: dt.date, end: dt.date | None
) -> None:
    """Lock the OPM and refuse a period overlapping another contract's; ``add`` then stores it in the same
    transaction (after the contract row it refers to)."""
    await lock_opm(conn, opm_id)
    await require_free(conn, opm_id, start, end, contract_id)


async def add(
    conn: AsyncConnection, opm_id: uuid.UUID, contract_id: uuid.UUID, start: dt.date, end: dt.date | None
) -> None:
    """Store a period ``reserve`` allowed in this transaction."""
    await conn.execute(
        sa.insert(t.supply).values(contract_id=contract_id, opm_id=opm_id, start=start, end=end)
    )


async def move_end(conn: AsyncConnection, contract_id: uuid.UUID, end: dt.date | None) -> None:
    """Let the contract's supply end on ``end`` (None: indefinitely), refusing an overlap."""
    row = await period_row(conn, contract_id)
    assert row is not None, f"contract {contract_id} has no supply period to move"
    await lock_opm(conn, row.opm_id)
    await require_free(conn, row.opm_id, row.start, end, contract_id)
    await conn.execute(sa.update(t.supply).where(t.supply.c.contract_id == contract_id).values(end=end))


async def release(conn: AsyncConnection, contract_id: uuid.UUID) -> None:
    """Remove the contract's period: supply never started under it."""
    result = await conn.execute(sa.delete(t.supply).where(t.supply.c.contract_id == contract_id))
    assert result.rowcount == 1, f"contract {contract_id} had {result.rowcount} supply periods"


async def period_row(conn: AsyncConnection, contract_id: uuid.UUID) -> Any:
    return (await conn.execute(sa.select(t.supply).where(t.supply.c.contract_id == contract_id))).first()


async def periods_of_opm(conn: AsyncConnection, opm_id: uuid.UUID) -> list[SupplyPeriod]:
    """Every period at the OPM, oldest first."""
    rows = await conn.execute(
        sa.select(t.contract.c.number, t.supply.c.start, t.supply.c.end)
        .join(t.contract, t.contract.c.id == t.supply.c.contract_id)
        .where(t.supply.c.opm_id == opm_id).order_by(t.supply.c.start)
    )
    return [SupplyPeriod(contract=row.number, start=row.start, end=row.end) for row in rows]
