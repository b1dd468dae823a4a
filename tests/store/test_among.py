"""``store.db.among``: a batch's keys select exactly their rows on both databases, and on PostgreSQL a
``growing`` lookup stays an index condition on a table whose statistics say "empty" after it filled (a new
book's first mass run filling ``bl_invoice``)."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.store.db import KEYS_SEPARATOR, among, keys_text
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


BY_ID = sa.Table("test_among_id", _metadata, sa.Column("id", sa.Uuid, primary_key=True))
#: Keys the one text cannot carry (``keys_text``): they go as an array.
ODD_KEYS = [f"X{KEYS_SEPARATOR}Y", ""]


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


def test_keys_text_splits_back_into_the_keys_or_is_none() -> None:
    ids = [uuid.UUID(int=n) for n in (1, 2)]
    assert keys_text(["K1", "K2"]) == f"K1{KEYS_SEPARATOR}K2"
    assert keys_text(ids) == KEYS_SEPARATOR.join(str(one) for one in ids)
    assert keys_text(["", "K1"]) == f"{KEYS_SEPARATOR}K1"
    assert [keys_text(keys) for keys in ([], [""], ["K1", ODD_KEYS[0]])] == [None, None, None]


@pytest.mark.parametrize("wanted", [
    ["K0000000", ODD_KEYS[0]], [""], ["", "K0000040"], ["K0000000", "K0000080"],
])
async def test_keys_the_text_cannot_carry_select_theirs(engine: AsyncEngine, wanted: list[str]) -> None:
    await _created(engine)
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.insert(KEYED), [
                {"key": key, "kind": "settlement"} for key in ["K0000000", "K0000040", "K0000080", *ODD_KEYS]
            ])
        for growing in (False, True):
            async with engine.connect() as conn:
                found = (await conn.execute(
                    sa.select(KEYED.c.key).where(among(conn, KEYED.c.key, wanted, growing=growing))
                )).scalars().all()
            assert sorted(found) == sorted(wanted), growing
    finally:
        async with engine.begin() as conn:
            await conn.run_sync(lambda sync: KEYED.drop(sync))


async def test_uuid_keys_select_their_rows(engine: AsyncEngine) -> None:
    ids = [uuid.UUID(int=n * 7919) for n in range(1, 600)]
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync: BY_ID.drop(sync, checkfirst=True))
        await conn.run_sync(lambda sync: BY_ID.create(sync))
        await conn.execute(sa.insert(BY_ID), [{"id": one} for one in ids])
    try:
        wanted = [*ids[::3], uuid.UUID(int=1)]  # one without a row
        async with engine.connect() as conn:
            query = sa.select(BY_ID.c.id).where(among(conn, BY_ID.c.id, wanted))
            assert sorted((await conn.execute(query)).scalars()) == sorted(ids[::3])
    finally:
        async with engine.begin() as conn:
            await conn.run_sync(lambda sync: BY_ID.drop(sync))


async def test_keys_go_as_one_text_where_they_can(pg_engine: AsyncEngine) -> None:
    """PostgreSQL's statement: one text parameter the database splits; an array where a text cannot carry
    the keys."""
    async with pg_engine.connect() as conn:
        def sql(keys: list[str]) -> str:
            query = sa.select(KEYED.c.key).where(among(conn, KEYED.c.key, keys))
            return str(query.compile(conn.sync_connection))
        assert "string_to_array" in sql(KEYS)
        assert "string_to_array" not in sql(["K0000000", ODD_KEYS[0]])
