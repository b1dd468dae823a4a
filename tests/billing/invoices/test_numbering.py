"""Invoice numbers: one row per series and worker, drawn in the caller's transaction.

Concurrent writers on PostgreSQL must produce, per series and worker, exactly 1..n among the committed
documents: no duplicates (the row lock) and no gaps (a rolled-back draw is undone with its transaction).
"""

from __future__ import annotations

import asyncio
import random

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.billing.invoices.numbering import (
    SEQUENCE_MAX,
    SeriesExhausted,
    format_number,
    next_document_number,
    next_sequence,
)
from gateway.billing.invoices.tables import invoice_series
from gateway.errors import InvalidField

WRITERS = 24
DRAWS_PER_WRITER = 15
WORKERS = (1, 2, 3)
ROLLBACK_SHARE = 0.3


def _prefix() -> str:
    # A series of the test's own: the PostgreSQL database is shared by the whole session.
    return "T" + "".join(random.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(5))


def test_format_number() -> None:
    assert format_number("FV", 2026, 3, 17) == "FV202603000017"
    assert format_number("DB", 2026, 0, SEQUENCE_MAX) == "DB202600999999"


async def test_first_numbers_and_kinds_on_sqlite(sqlite_engine: AsyncEngine) -> None:
    async with sqlite_engine.begin() as conn:
        assert await next_document_number(conn, "settlement", 2026, 3) == "FV202603000001"
        assert await next_document_number(conn, "settlement", 2026, 3) == "FV202603000002"
        assert await next_document_number(conn, "settlement", 2026, 4) == "FV202604000001"
        assert await next_document_number(conn, "settlement", 2027, 3) == "FV202703000001"
        assert await next_document_number(conn, "credit_note", 2026, 3) == "DB202603000001"
    async with sqlite_engine.begin() as conn:
        await next_document_number(conn, "settlement", 2026, 3)
        await conn.rollback()
    async with sqlite_engine.begin() as conn:
        # The rolled-back 3 is handed out again: no gap.
        assert await next_document_number(conn, "settlement", 2026, 3) == "FV202603000003"


async def test_bad_series_names_field_and_value(sqlite_engine: AsyncEngine) -> None:
    async with sqlite_engine.begin() as conn:
        with pytest.raises(InvalidField) as caught:
            await next_sequence(conn, "FV", 2026, 100)
        assert (caught.value.field, caught.value.value) == ("worker", 100)
        with pytest.raises(InvalidField) as caught:
            await next_sequence(conn, "fv", 2026, 1)
        assert caught.value.field == "prefix"
        with pytest.raises(InvalidField) as caught:
            await next_document_number(conn, "bogus", 2026, 1)  # type: ignore[arg-type]
        assert (caught.value.field, caught.value.value) == ("kind", "bogus")


async def test_exhausted_series(sqlite_engine: AsyncEngine) -> None:
    async with sqlite_engine.begin() as conn:
        await conn.execute(
            sa.insert(invoice_series).values(prefix="FV", year=2026, worker=9, next_number=SEQUENCE_MAX)
        )
        assert await next_sequence(conn, "FV", 2026, 9) == SEQUENCE_MAX
        with pytest.raises(SeriesExhausted):
            await next_sequence(conn, "FV", 2026, 9)


async def _writer(engine: AsyncEngine, prefix: str, seed: int, committed: list[tuple[int, int]]) -> int:
    rng = random.Random(seed)
    rolled_back = 0
    for _ in range(DRAWS_PER_WRITER):
        worker = rng.choice(WORKERS)
        async with engine.connect() as conn:
            transaction = await conn.begin()
            sequence = await next_sequence(conn, prefix, 2026, worker)
            # Hold the row a little, as storing the document would, so that other writers queue on it.
            await asyncio.sleep(rng.random() / 200)
            if rng.random() < ROLLBACK_SHARE:
                await transaction.rollback()
                rolled_back += 1
            else:
                await transaction.commit()
                committed.append((worker, sequence))
    return rolled_back


@pytest.mark.postgres
async def test_concurrent_writers_on_postgres_no_duplicates_no_gaps(pg_engine: AsyncEngine) -> None:
    prefix = _prefix()
    committed: list[tuple[int, int]] = []
    rolled_back = await asyncio.gather(
        *(_writer(pg_engine, prefix, seed, committed) for seed in range(WRITERS))
    )
    assert sum(rolled_back) > 0, "the test must exercise rollbacks"
    assert len(committed) + sum(rolled_back) == WRITERS * DRAWS_PER_WRITER
    for worker in WORKERS:
        numbers = sorted(sequence for owner, sequence in committed if owner == worker)
        assert numbers == list(range(1, len(numbers) + 1)), f"worker {worker}: {numbers}"
    async with pg_engine.connect() as conn:
        rows = (
            await conn.execute(
                sa.select(invoice_series.c.worker, invoice_series.c.next_number).where(
                    invoice_series.c.prefix == prefix
                )
            )
        ).all()
    assert {worker: next_number - 1 for worker, next_number in rows} == {
        worker: sum(1 for owner, _ in committed if owner == worker) for worker in WORKERS
    }


@pytest.mark.postgres
async def test_rolled_back_draw_leaves_no_gap_on_postgres(pg_engine: AsyncEngine) -> None:
    prefix = _prefix()
    async with pg_engine.begin() as conn:
        assert await next_sequence(conn, prefix, 2026, 1) == 1
    async with pg_engine.connect() as conn:
        transaction = await conn.begin()
        assert await next_sequence(conn, prefix, 2026, 1) == 2
        await transaction.rollback()
    async with pg_engine.begin() as conn:
        assert await next_sequence(conn, prefix, 2026, 1) == 2


@pytest.mark.postgres
async def test_workers_do_not_wait_for_each_other_on_postgres(pg_engine: AsyncEngine) -> None:
    """Worker 1 holds its row (open transaction); worker 2 draws at once, worker 1's second draw waits."""
    prefix = _prefix()
    async with pg_engine.connect() as holder:
        transaction = await holder.begin()
        await next_sequence(holder, prefix, 2026, 1)
        async with pg_engine.begin() as other:
            assert await asyncio.wait_for(next_sequence(other, prefix, 2026, 2), timeout=5) == 1
        async with pg_engine.connect() as same:
            same_transaction = await same.begin()
            waiting = asyncio.ensure_future(next_sequence(same, prefix, 2026, 1))
            await asyncio.sleep(0.3)
            assert not waiting.done(), "a second draw on a locked row must wait"
            await transaction.commit()
            assert await asyncio.wait_for(waiting, timeout=5) == 2
            await same_transaction.commit()
