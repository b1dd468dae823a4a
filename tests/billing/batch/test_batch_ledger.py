"""``bill_many``'s numbers and storage: one block of the worker's series without gaps, a series per worker,
nothing stored twice, and two batches over shared contracts at once on PostgreSQL (each contract billed
exactly once, no deadlock)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.billing.batch_ledger import lock_contracts, read_ledger
from gateway.billing.bill import bill_contract
from gateway.billing.invoices.numbering import next_document_numbers
from gateway.billing.ledger import INVOICE_COLUMNS, RECEIVABLE_COLUMNS, previous_settlement
from gateway.billing.ledger_tables import invoice as bl_invoice
from gateway.billing.ledger_tables import receivable as bl_receivable
from gateway.masterdata import tables as md
from gateway.masterdata.filestore import FileStore
from schemas.billing.bill import Billed
from tests.billing.batch.support import BATCH_WORKER, bill_batch, request
from tests.billing.bill.support import (
    NOW,
    PERIOD_FROM,
    PERIOD_TO,
    Supplied,
    bill,
    read,
    rebill,
    series,
    supplied,
)

OTHER_WORKER = 12


async def _billable(engine: AsyncEngine, count: int) -> list[Supplied]:
    found = []
    for index in range(count):
        parties = await supplied(engine)
        await read(engine, parties.opm, "2025-12-31", "1000")
        await read(engine, parties.opm, "2026-06-30", str(2000 + 100 * index))
        found.append(parties)
    return found


async def _stored(engine: AsyncEngine, contracts: list[str]) -> tuple[int, int]:
    async with engine.connect() as conn:
        invoices = await conn.scalar(sa.select(sa.func.count()).where(bl_invoice.c.contract.in_(contracts)))
        receivables = await conn.scalar(
            sa.select(sa.func.count()).select_from(
                bl_receivable.join(bl_invoice, bl_invoice.c.number == bl_receivable.c.document)
            ).where(bl_invoice.c.contract.in_(contracts))
        )
    return int(invoices or 0), int(receivables or 0)


def _numbers(outcomes: Sequence[object]) -> list[str]:
    numbers = []
    for outcome in outcomes:
        assert isinstance(outcome, Billed) and outcome.invoice.number is not None, outcome
        numbers.append(outcome.invoice.number)
    return numbers


async def test_a_batch_draws_one_block_without_gaps_from_its_workers_series(
    engine: AsyncEngine, files: FileStore
) -> None:
    parties = await _billable(engine, 4)

    first = _numbers(await bill_batch(engine, [request(item.contract) for item in parties[:3]]))
    async with engine.begin() as conn:
        single = await bill_contract(
            conn, contract=parties[3].contract, period_from=PERIOD_FROM, period_to=PERIOD_TO, now=NOW,
            worker=BATCH_WORKER, files=files, regenerate_advances=False,
        )

    prefix, start = series(first[0])
    assert prefix == f"FV2026{BATCH_WORKER:02}"
    assert [series(number) for number in first] == [(prefix, start + offset) for offset in range(3)]
    assert isinstance(single, Billed) and series(single.invoice.number) == (prefix, start + 3)  # no gap
    async with engine.begin() as conn:
        others = await next_document_numbers(conn, "settlement", 2026, OTHER_WORKER, 2)
        block = await next_document_numbers(conn, "settlement", 2026, BATCH_WORKER, 2)
    assert [series(number)[0] for number in others] == [f"FV2026{OTHER_WORKER:02}"] * 2
    assert [series(number) for number in block] == [(prefix, start + 4), (prefix, start + 5)]


async def test_a_rolled_back_block_leaves_no_gap(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        [before] = await next_document_numbers(conn, "settlement", 2026, OTHER_WORKER, 1)
    async with engine.connect() as conn:
        transaction = await conn.begin()
        await next_document_numbers(conn, "settlement", 2026, OTHER_WORKER, 50)
        await transaction.rollback()
    async with engine.begin() as conn:
        [after] = await next_document_numbers(conn, "settlement", 2026, OTHER_WORKER, 1)
    assert series(after)[1] == series(before)[1] + 1


async def test_billing_a_batch_again_stores_nothing_new(engine: AsyncEngine) -> None:
    parties = await _billable(engine, 3)
    requests = [request(item.contract) for item in parties]
    contracts = [item.contract for item in parties]

    first = await bill_batch(engine, requests)
    again = await bill_batch(engine, requests)

    assert all(isinstance(outcome, Billed) and not outcome.repeated for outcome in first)
    assert all(isinstance(outcome, Billed) and outcome.repeated for outcome in again)
    assert [outcome.invoice for outcome in again if isinstance(outcome, Billed)] == [
        outcome.invoice for outcome in first if isinstance(outcome, Billed)
    ]
    assert await _stored(engine, contracts) == (3, 3)


async def test_two_batches_over_shared_contracts_bill_each_once(pg_engine: AsyncEngine) -> None:
    parties = await _billable(pg_engine, 6)
    contracts = [item.contract for item in parties]
    # Overlapping in opposite orders: locks taken in request order could deadlock; in number order they wait.
    one = [request(contract) for contract in contracts[:4]]
    two = [request(contract) for contract in reversed(contracts[2:])]

    outcomes = await asyncio.wait_for(asyncio.gather(
        bill_batch(pg_engine, one), bill_batch(pg_engine, two, worker=OTHER_WORKER),
    ), timeout=60)

    billed = [outcome for batch in outcomes for outcome in batch if isinstance(outcome, Billed)]
    assert len(billed) == 8
    fresh = [outcome.invoice.contract for outcome in billed if not outcome.repeated]
    assert sorted(fresh) == sorted(contracts)
    repeated = [outcome for outcome in billed if outcome.repeated]
    assert sorted(outcome.invoice.contract for outcome in repeated) == sorted(contracts[2:4])
    assert await _stored(pg_engine, contracts) == (6, 6)


async def test_a_batch_holds_its_contracts_from_its_first_statement(pg_engine: AsyncEngine) -> None:
    """The lock is the batch's first statement: it must be in the transaction (held until it ends), not sent
    before the transaction began — else a second worker bills the contract meanwhile."""
    [parties] = await _billable(pg_engine, 1)
    contract = md.contract.c
    async with pg_engine.begin() as conn:
        await lock_contracts(conn, {parties.contract})
        async with pg_engine.connect() as other:
            with pytest.raises(sa.exc.DBAPIError, match="could not obtain lock"):
                await other.execute(sa.select(contract.id).where(contract.number == parties.contract)
                                    .with_for_update(nowait=True))


def test_record_columns_are_the_tables() -> None:
    """``bill_many`` COPYs invoices and receivables as tuples by these names: every column of the tables
    (the receivable's ``id`` is the database's), each once."""
    assert sorted(INVOICE_COLUMNS) == sorted(bl_invoice.c.keys())
    assert sorted(RECEIVABLE_COLUMNS) == sorted(set(bl_receivable.c.keys()) - {"id"})


async def test_the_batchs_history_is_the_accounts_issued_settlements_only(
    engine: AsyncEngine, files: FileStore
) -> None:
    """An account's last settlement, as the batch reads it, is the one ``ledger.previous_settlement`` finds
    (its total and its period's days): a bill cancelled by a credit note and the credit note itself are not
    history."""
    parties = await supplied(engine)
    await read(engine, parties.opm, "2025-12-31", "1000")
    await read(engine, parties.opm, "2026-06-30", "2500")
    first = await bill(engine, files, parties.contract)
    assert isinstance(first, Billed) and first.invoice.number is not None
    await read(engine, parties.opm, "2026-06-30", "2300")  # corrected after the bill
    rebilled = await rebill(engine, files, first.invoice.number)
    assert isinstance(rebilled.outcome, Billed) and rebilled.credit_note is not None
    assert rebilled.outcome.invoice.total != first.invoice.total
    after = PERIOD_TO + dt.timedelta(days=1)
    async with engine.connect() as conn:
        reads = await read_ledger(conn, [parties.contract], [parties.account])
        alone = await previous_settlement(conn, parties.account, after)
    batch = reads.previous_settlement(parties.account, after)
    assert batch is not None and alone is not None
    days = (PERIOD_TO - PERIOD_FROM).days + 1
    assert (batch.total, batch.days) == (alone.total, alone.days) == (rebilled.outcome.invoice.total, days)
    assert reads.previous_settlement(parties.account, PERIOD_FROM) is None
