"""``bill_many`` against ``bill_contract(issue=True, regenerate_advances=False)`` called in turn on the same
data: the same outcomes (totals, lines, balances, findings, errors), the same invoice numbers and the same
rows in ``bl_invoice`` and ``bl_receivable``; on SQLite and PostgreSQL, with the Python decision and with
the repository's decision tables.

The "copy of the same data" is the database itself: the bills one by one are made in a transaction that is
rolled back once its outcomes and rows are read, then the batch bills the same requests from the same state.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import msgspec
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.billing.batch import BatchOutcome, BillRequest, Unbillable, bill_many
from gateway.billing.bill import bill_contract
from gateway.billing.bill_checks import CheckDecision, decide
from gateway.billing.checks import Checks, TableDecision
from gateway.billing.ledger_tables import invoice as bl_invoice
from gateway.billing.ledger_tables import receivable as bl_receivable
from gateway.errors import Conflict, InvalidField, NotFound
from gateway.masterdata.contracts import amend_contract
from gateway.masterdata.filestore import FileStore
from gateway.masterdata.opm import set_technical
from schemas.billing.bill import Billed, Outsorted
from schemas.masterdata.contracts import Amendment
from tests.billing.batch.support import BATCH_WORKER, read_two_rate, request, supplied_two_rate
from tests.billing.bill.support import NOW, add_advance, bill, day, read, supplied, supplied_gas
from tests.masterdata.supply_helpers import ACTOR, electricity_technical
from tests.process.rules_support import REPO_RULES

MARCH_END = dt.date(2026, 3, 31)
APRIL_FIRST = dt.date(2026, 4, 1)


def _python() -> CheckDecision:
    return decide


def _tables() -> CheckDecision:
    return TableDecision(Checks(REPO_RULES))


async def _scenario(engine: AsyncEngine, files: FileStore) -> list[BillRequest]:
    """A request of each kind, in an order where later ones depend on earlier ones."""
    single = await supplied(engine)
    await read(engine, single.opm, "2025-12-31", "1000")
    await read(engine, single.opm, "2026-06-30", "2500")
    await add_advance(engine, single.account, "2026-02-15", "1500.00", "1500.00")
    await add_advance(engine, single.account, "2026-05-15", "1500.00", "500.00")
    two_rate = await supplied_two_rate(engine)
    await read_two_rate(engine, two_rate.opm, "2025-12-31", "5000", "3000")
    await read_two_rate(engine, two_rate.opm, "2026-06-30", "6200", "4100")
    gas = await supplied_gas(engine)
    await read(engine, gas.opm, "2025-12-31", "100")
    await read(engine, gas.opm, "2026-06-30", "600")
    unread = await supplied(engine)  # no readings: READING_MISSING before pricing
    backwards = await supplied(engine)
    await read(engine, backwards.opm, "2025-12-31", "2000")
    await read(engine, backwards.opm, "2026-06-30", "1500")  # negative consumption
    idle, released_idle = await supplied(engine), await supplied(engine)
    for parties in (idle, released_idle):
        await read(engine, parties.opm, "2025-12-31", "1000")
        await read(engine, parties.opm, "2026-06-30", "1000")  # ZERO_CONSUMPTION after pricing
    late = await supplied(engine, valid_from="2026-03-01")  # NOT_SUPPLIED from January
    await read(engine, late.opm, "2025-12-31", "1000")
    await read(engine, late.opm, "2026-06-30", "1800")
    changed = await supplied(engine)  # another product from April: one bill, priced in parts
    await read(engine, changed.opm, "2025-12-31", "1000")
    await read(engine, changed.opm, "2026-06-30", "2300")
    profiled = await supplied(engine)  # a product sharing by TDD weights from April: refused
    async with engine.begin() as conn:
        await amend_contract(conn, ACTOR, NOW, changed.contract, Amendment(
            effective_from=day("2026-04-01"), product="E-FIX",
        ))
        await amend_contract(conn, ACTOR, NOW, profiled.contract, Amendment(
            effective_from=day("2026-04-01"), product="E-PROFIL",
        ))
    billed_before = await supplied(engine)
    await read(engine, billed_before.opm, "2025-12-31", "1000")
    await read(engine, billed_before.opm, "2026-06-30", "1700")
    assert isinstance(await bill(engine, files, billed_before.contract, regenerate_advances=False), Billed)
    stronger = await supplied(engine)  # a bigger breaker from April: the quote is cut at the change
    await read(engine, stronger.opm, "2025-12-31", "1000")
    await read(engine, stronger.opm, "2026-06-30", "2600")
    relayout = await supplied(engine)  # single-rate to two-rate in May: refused like a terms change
    async with engine.begin() as conn:
        await set_technical(conn, ACTOR, NOW, stronger.opm, electricity_technical(
            since="2026-04-01", breaker_amps=32,
        ))
        await set_technical(conn, ACTOR, NOW, relayout.opm, electricity_technical(
            rate="D25d", since="2026-05-01",
        ))
    growing = await supplied(engine)  # a small first quarter, then far above it
    await read(engine, growing.opm, "2025-12-31", "1000")
    await read(engine, growing.opm, "2026-03-31", "1010")
    await read(engine, growing.opm, "2026-06-30", "9000")
    taken_over = await supplied(engine, billed_until=MARCH_END)  # billed by the previous system to March
    await read(engine, taken_over.opm, "2026-03-31", "1400")
    await read(engine, taken_over.opm, "2026-06-30", "1900")
    return [
        request(single.contract), request(two_rate.contract), request(gas.contract),
        request(unread.contract), request(backwards.contract), request(idle.contract),
        request(released_idle.contract, released=frozenset({"ZERO_CONSUMPTION"})), request(late.contract),
        request(changed.contract), request(profiled.contract), request("NO-SUCH-CONTRACT"),
        request(billed_before.contract),
        request(billed_before.contract, period_from=dt.date(2026, 2, 1)),
        request(stronger.contract), request(relayout.contract),
        request(growing.contract, period_to=MARCH_END), request(growing.contract, period_from=APRIL_FIRST),
        request(two_rate.contract),  # the same request again in the batch
        request(taken_over.contract), request(taken_over.contract, period_from=APRIL_FIRST),
    ]


async def _one_by_one(
    conn: AsyncConnection, requests: Sequence[BillRequest], files: FileStore,
    decision: Callable[[], CheckDecision],
) -> list[BatchOutcome]:
    outcomes: list[BatchOutcome] = []
    for item in requests:
        try:
            async with conn.begin_nested():
                outcomes.append(await bill_contract(
                    conn, contract=item.contract, period_from=item.period_from, period_to=item.period_to,
                    now=NOW, worker=BATCH_WORKER, files=files, released=item.released, issue=True,
                    decision=decision(), regenerate_advances=False,
                ))
        except (InvalidField, NotFound, Conflict) as exc:
            outcomes.append(Unbillable(exc))
    return outcomes


def _comparable(outcome: BatchOutcome) -> Any:
    """The outcome but the invoice's UUID and documents (bill_contract renders them, bill_many does not)."""
    if isinstance(outcome, Unbillable):
        return (type(outcome.error).__name__, outcome.message)
    if isinstance(outcome, Billed):
        assert outcome.invoice.uuid is not None
        return msgspec.structs.replace(outcome, invoice=msgspec.structs.replace(
            outcome.invoice, uuid=None, documents=(),
        ))
    return outcome


async def _rows(conn: AsyncConnection, requests: Sequence[BillRequest]) -> tuple[list[Any], list[Any]]:
    contracts = {item.contract for item in requests}
    i, r = bl_invoice.c, bl_receivable.c
    invoices = (await conn.execute(
        sa.select(bl_invoice).where(i.contract.in_(contracts)).order_by(i.number)
    )).all()
    accounts = {row.account for row in invoices}
    receivables = (await conn.execute(
        sa.select(bl_receivable).where(r.account.in_(accounts), r.kind == "invoice").order_by(r.document)
    )).all()
    skip_invoice = {"uuid", "documents"}
    return (
        [{key: value for key, value in row._mapping.items() if key not in skip_invoice} for row in invoices],
        [{key: value for key, value in row._mapping.items() if key != "id"} for row in receivables],
    )


@pytest.mark.parametrize("decision", [_python, _tables], ids=["python", "tables"])
async def test_a_batch_bills_as_bill_contract_in_turn(
    engine: AsyncEngine, files: FileStore, decision: Callable[[], CheckDecision]
) -> None:
    requests = await _scenario(engine, files)
    async with engine.connect() as conn:
        transaction = await conn.begin()
        expected = await _one_by_one(conn, requests, files, decision)
        expected_rows = await _rows(conn, requests)
        await transaction.rollback()

    async with engine.begin() as conn:
        batch = [
            BillRequest(item.contract, item.period_from, item.period_to, item.released, decision())
            for item in requests
        ]
        outcomes = await bill_many(conn, batch, now=NOW, worker=BATCH_WORKER)
        rows = await _rows(conn, requests)

    assert [_comparable(outcome) for outcome in outcomes] == [_comparable(outcome) for outcome in expected]
    assert rows == expected_rows
    kinds = [type(outcome).__name__ for outcome in outcomes]
    assert kinds.count("Billed") == 10 and kinds.count("Unbillable") == 5, kinds
    taken_over = outcomes[-2]
    assert isinstance(taken_over, Unbillable) and isinstance(taken_over.error, InvalidField)
    assert (taken_over.error.field, taken_over.error.value) == ("period_from", "2026-01-01")
    assert "billed up to 2026-03-31 by the previous billing system" in taken_over.error.reason
    assert isinstance(outcomes[-1], Billed) and outcomes[-1].invoice.period_from == APRIL_FIRST
    stages = [outcome.stage for outcome in outcomes if isinstance(outcome, Outsorted)]
    assert stages == ["pre", "pre", "post", "pre", "post"], outcomes
    assert [outcome.repeated for outcome in outcomes if isinstance(outcome, Billed)] == [
        False, False, False, False, False, True, False, False, True, False,
    ]
    changed, profiled = outcomes[8], outcomes[9]  # another product from April; one sharing by TDD
    assert isinstance(changed, Billed) and changed.invoice.contract == requests[8].contract
    prices = {line.unit_price for line in changed.invoice.settlement.lines if line.code == "COMMODITY"}
    assert prices == {Decimal("2690.00"), Decimal("2590.00")}  # E-STANDARD to March, E-FIX from April
    assert isinstance(profiled, Unbillable) and isinstance(profiled.error, InvalidField)
    assert "from product E-STANDARD to E-PROFIL" in profiled.error.reason
    cut = outcomes[13]  # the bigger breaker from April
    assert isinstance(cut, Billed) and cut.invoice.contract == requests[13].contract
    assert len({line.period_from for line in cut.invoice.settlement.lines}) > 1  # priced in two parts
    fresh = [outcome.invoice for outcome in outcomes if isinstance(outcome, Billed) and not outcome.repeated]
    assert all(not invoice.documents for invoice in fresh)
    assert len(fresh[0].deposits) == 2  # the two advances paid in the period
