"""``store.db.insert_records``: on PostgreSQL a binary COPY, elsewhere a multi-row INSERT; the rows read
back exactly, whatever their text holds (tabs, line ends, backslashes, JSON), and a violated constraint is
SQLAlchemy's ``IntegrityError``."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.masterdata.tables import JsonText
from gateway.store.db import insert_records
from tests.db_fixtures import db_url, engine

__all__ = ["db_url", "engine"]  # each test runs on SQLite and on PostgreSQL

_metadata = sa.MetaData()
SAMPLE = sa.Table(
    "test_insert_records", _metadata,
    sa.Column("id", sa.Integer, primary_key=True), sa.Column("text", sa.Text),
    sa.Column("amount", sa.Numeric), sa.Column("day", sa.Date), sa.Column("at", sa.DateTime(timezone=True)),
    sa.Column("flag", sa.Boolean), sa.Column("key", sa.Uuid), sa.Column("data", JsonText),
)
AWKWARD = 'tab\there, line\nend, cr\r, back\\slash \\N, "quoted" \\t, Příliš žluťoučký kůň'


def _rows() -> list[dict[str, Any]]:
    return [
        {"id": 1, "text": AWKWARD, "amount": Decimal("-1234.50"), "day": dt.date(2026, 11, 30),
         "at": dt.datetime(2026, 11, 30, 12, 0, 1, 250, tzinfo=dt.UTC), "flag": True,
         "key": uuid.UUID(int=7), "data": {"lines": [AWKWARD, 1]}},
        {"id": 2, "text": "", "amount": None, "day": None, "at": None, "flag": False, "key": None,
         "data": None},
    ]


async def _insert(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    await insert_records(conn, SAMPLE, list(rows[0]), [tuple(row.values()) for row in rows])


async def test_rows_read_back_exactly(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync: SAMPLE.drop(sync, checkfirst=True))
        await conn.run_sync(lambda sync: SAMPLE.create(sync))
    try:
        async with engine.begin() as conn:
            await _insert(conn, _rows())
        async with engine.connect() as conn:
            rows = await conn.execute(sa.select(SAMPLE).order_by(SAMPLE.c.id))
            found = [dict(row._mapping) for row in rows]
        expected = _rows()
        if engine.dialect.name == "sqlite":  # SQLite keeps no zone: the UTC value comes back naive
            expected[0]["at"] = expected[0]["at"].replace(tzinfo=None)
        assert found == expected
        if engine.dialect.name == "postgresql":  # the decimal's scale too (SQLite's Numeric pads to 10)
            assert str(found[0]["amount"]) == "-1234.50"
        with pytest.raises(sa.exc.IntegrityError):
            async with engine.begin() as conn:
                await _insert(conn, [_rows()[1]])  # id 2 again
    finally:
        async with engine.begin() as conn:
            await conn.run_sync(lambda sync: SAMPLE.drop(sync, checkfirst=True))


async def test_records_in_their_own_column_order_read_back_exactly(engine: AsyncEngine) -> None:
    """``insert_records``: tuples by the caller's column order (not the table's), the ``JsonText`` column
    bound as SQLAlchemy binds it, the other values as they are."""
    columns = ("data", "id", "text", "key", "amount")
    records = [
        ({"lines": [AWKWARD, 1]}, 3, AWKWARD, uuid.UUID(int=9), Decimal("0.10")), (None, 4, None, None, None),
    ]
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync: SAMPLE.drop(sync, checkfirst=True))
        await conn.run_sync(lambda sync: SAMPLE.create(sync))
    try:
        async with engine.begin() as conn:
            await insert_records(conn, SAMPLE, columns, records)
        async with engine.connect() as conn:
            rows = await conn.execute(sa.select(*(SAMPLE.c[name] for name in columns)).order_by(SAMPLE.c.id))
            assert [tuple(row) for row in rows] == records
            assert await conn.scalar(sa.select(sa.func.count()).select_from(SAMPLE)) == 2
    finally:
        async with engine.begin() as conn:
            await conn.run_sync(lambda sync: SAMPLE.drop(sync, checkfirst=True))
