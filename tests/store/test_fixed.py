"""``store.fixed.FixedQuery``: on PostgreSQL, past SQLAlchemy's rows, the same rows as SQLAlchemy's own
execution gives (``plain``), value for value and type for type: keys as text and as UUIDs, a ``growing``
lookup, literals and other parameters in the statement, a ``TypeDecorator``'s column processed, NULLs; and
on both databases the rows the keys select."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.masterdata.tables import JsonText
from gateway.readings.tables import ExactDecimal
from gateway.store.db import KEYS_SEPARATOR, plain
from gateway.store.fixed import FixedQuery, Keys
from tests.db_fixtures import db_url, engine

__all__ = ["db_url", "engine"]  # each test runs on SQLite and on PostgreSQL

_metadata = sa.MetaData()
ITEMS = sa.Table(
    "test_fixed", _metadata,
    sa.Column("id", sa.Uuid, primary_key=True), sa.Column("code", sa.String(20), nullable=False),
    sa.Column("kind", sa.String(10), nullable=False), sa.Column("day", sa.Date),
    sa.Column("at", sa.DateTime(timezone=True)), sa.Column("amount", sa.Numeric(17, 2)),
    sa.Column("state", ExactDecimal), sa.Column("doc", JsonText), sa.Column("note", sa.Text),
)
c = ITEMS.c
COUNT = 60
START = dt.date(2026, 1, 1)


def _row(n: int) -> dict[str, Any]:
    return {
        "id": uuid.UUID(int=n + 1), "code": f"C{n:03}", "kind": "a" if n % 3 else "b",
        "day": START + dt.timedelta(days=n), "at": dt.datetime(2026, 1, 1, 9, n % 60, tzinfo=dt.UTC),
        "amount": Decimal(f"{n * 7}.{n % 100:02}"), "state": None if n % 5 == 0 else Decimal(f"{n}.125"),
        "doc": {"n": n, "text": f"řádek {n}\t\\"}, "note": None if n % 2 else f"note {n}",
    }


def _by_code(keys: Keys) -> sa.Select[Any]:
    since = sa.bindparam("since")
    return sa.select(ITEMS).where(keys(c.code, "codes"), c.kind == "a", c.day >= since).order_by(c.code)


def _by_id(keys: Keys) -> sa.Select[Any]:
    return sa.select(c.id, c.amount, c.doc).where(keys(c.id, "ids", growing=True)).order_by(c.id)


BY_CODE = FixedQuery(_by_code, ["codes"])
BY_ID = FixedQuery(_by_id, ["ids"])


@pytest.fixture
async def items(engine: AsyncEngine) -> Any:
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync: ITEMS.drop(sync, checkfirst=True))
        await conn.run_sync(lambda sync: ITEMS.create(sync))
        await conn.execute(sa.insert(ITEMS), [_row(n) for n in range(COUNT)])
    yield engine
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync: ITEMS.drop(sync))


async def _sqlalchemy(conn: AsyncConnection, build: Any, **params: Any) -> list[Any]:
    """The rows as SQLAlchemy's own execution gives them (the generic form of the query)."""
    def keys(column: Any, name: str, *, growing: bool = False) -> Any:
        return column.in_(sa.bindparam(name, expanding=True))
    values = {name: list(value) if isinstance(value, set | list) else value for name, value in params.items()}
    return plain(await conn.execute(build(keys), values))


def _typed(rows: list[Any]) -> list[list[tuple[str, type, Any]]]:
    return [[(name, type(value), value) for name, value in row._asdict().items()] for row in rows]


async def test_rows_are_sqlalchemys_value_for_value(items: AsyncEngine) -> None:
    codes = [f"C{n:03}" for n in range(0, COUNT, 2)] + ["C999"]  # one without a row
    ids = [uuid.UUID(int=n + 1) for n in range(0, COUNT, 3)]
    since = START + dt.timedelta(days=10)
    async with items.connect() as conn:
        for _round in range(2):  # compiled on the first, reused on the second
            fixed = await BY_CODE.rows(conn, codes=codes, since=since)
            assert _typed(fixed) == _typed(await _sqlalchemy(conn, _by_code, codes=codes, since=since))
            assert [row.code for row in fixed] == [
                f"C{n:03}" for n in range(0, COUNT, 2) if n % 3 and n >= 10
            ]
            by_id = await BY_ID.rows(conn, ids=ids)
            assert _typed(by_id) == _typed(await _sqlalchemy(conn, _by_id, ids=ids))
            assert [row.doc for row in by_id] == [_row(n)["doc"] for n in range(0, COUNT, 3)]


@pytest.mark.parametrize("codes", [[], ["C000", f"C{KEYS_SEPARATOR}1"], [""]])
async def test_keys_one_text_cannot_carry_go_the_generic_way(items: AsyncEngine, codes: list[str]) -> None:
    async with items.connect() as conn:
        found = await BY_CODE.rows(conn, codes=codes, since=START)
    assert [row.code for row in found] == []  # C000 is of kind b; the others have no row
    async with items.connect() as conn:
        found = await BY_CODE.rows(conn, codes=[*codes, "C001"], since=START)
    assert [row.code for row in found] == ["C001"]


LOCKED = FixedQuery(lambda keys: sa.select(c.id).where(keys(c.code, "codes")).with_for_update(), ["codes"])


async def test_the_first_statement_of_a_transaction_runs_in_it(items: AsyncEngine) -> None:
    """A fixed query sent before any other statement of the transaction (SQLAlchemy's adapter begins the
    driver's transaction only at its own first statement) holds its row locks until the transaction ends:
    another connection cannot take them meanwhile."""
    if items.dialect.name != "postgresql":
        pytest.skip("SQLite locks the whole database, not rows")
    async with items.begin() as conn:
        assert [row.id for row in await LOCKED.rows(conn, codes={"C001"})] == [uuid.UUID(int=2)]
        async with items.connect() as other:
            with pytest.raises(sa.exc.DBAPIError, match="could not obtain lock"):
                await other.execute(sa.select(c.id).where(c.code == "C001").with_for_update(nowait=True))
    async with items.connect() as other:  # released with the transaction
        found = await other.execute(sa.select(c.id).where(c.code == "C001").with_for_update(nowait=True))
        assert found.scalar_one() == uuid.UUID(int=2)
