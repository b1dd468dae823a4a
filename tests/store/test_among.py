"""``store.db.among``: a batch's keys select exactly their rows on both databases, and on PostgreSQL a
``growing`` lookup stays an index condition on a table whose statistics say "empty" after it filled (a new
book's first mass run filling ``bl_invoice``)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.store.db import among
from tests.db_fixtures import db_url, engine

__all__ = ["db_url", "engine"]  # each test runs on SQLite and on PostgreSQL

_metadata = sa.MetaData()
KEYED = sa.Table(
    "test_among", _metadata,
    sa.Column("key", sa.String(20), primary_key=True), sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("body", sa.Text),  # an invoice's settlement JSON: rows as wide as ``bl_invoice``'s
)
ROWS = 20_000
KEYS = [f"K{n:07d}" for n in range(0, ROWS, 40)]  # 500 keys


async def _created(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync: KEYED.drop(sync, checkfirst=True))
        await conn.run_sync(lambda sync: KEYED.create(sync))


async def _filled(engine: AsyncEngine) -> None:
    await _created(engine)
    async with engine.begin() as conn:
        await conn.execute(sa.insert(KEYED), [
            {"key": f"K{n:07d}", "kind": "settlement" if n % 2 == 0 else "credit_note"} for n in range(ROWS)
        ])


@pytest.mark.parametrize("growing", [False, True])
async def test_keys_select_their_rows(engine: AsyncEngine, growing: bool) -> None:
    await _filled(engine)
    wanted = [*KEYS, "K9999999", "K0000001"]  # one key without a row, one of the other kind
    try:
        async with engine.connect() as conn:
            found = (await conn.execute(
                sa.select(KEYED.c.key).where(among(conn, KEYED.c.key, wanted, growing=growing),
                                             KEYED.c.kind == "settlement")
            )).scalars().all()
            none = (await conn.execute(
                sa.select(KEYED.c.key).where(among(conn, KEYED.c.key, [], growing=growing))
            )).scalars().all()
        assert sorted(found) == KEYS
        assert none == []
    finally:
        async with engine.begin() as conn:
            await conn.run_sync(lambda sync: KEYED.drop(sync))


async def test_growing_lookup_is_an_index_condition_on_stale_statistics(pg_engine: AsyncEngine) -> None:
    """PostgreSQL's planner."""
    engine = pg_engine
    await _created(engine)
    try:
        async with engine.connect() as conn:
            await conn.execute(sa.text(f"ANALYZE {KEYED.name}"))  # statistics of the empty table
            await conn.commit()
        async with engine.begin() as conn:  # then the run fills it: 50,000 rows of 800 bytes
            await conn.execute(sa.text(
                f"INSERT INTO {KEYED.name} SELECT 'K' || lpad(n::text, 7, '0'), "
                "CASE WHEN n % 2 = 0 THEN 'settlement' ELSE 'credit_note' END, repeat('x', 800) "
                "FROM generate_series(0, 49999) AS n"
            ))
        async with engine.connect() as conn:
            query = sa.select(KEYED).where(among(conn, KEYED.c.key, KEYS, growing=True),
                                           KEYED.c.kind == "settlement")
            compiled = query.compile(conn.sync_connection, compile_kwargs={"literal_binds": True})
            plan = "\n".join((await conn.execute(sa.text(f"EXPLAIN {compiled}"))).scalars().all())
        assert "Index Cond: ((key)::text = ANY" in plan, plan
        assert "Hash" not in plan, plan
    finally:
        async with engine.begin() as conn:
            await conn.run_sync(lambda sync: KEYED.drop(sync))
