"""Planning a mass billing run: which contracts are due, the orders queued, and a second start that queues
nothing twice (``gateway.billing.runs``), on SQLite and PostgreSQL.

Each test's contracts get a DSO name of their own and the run is limited to it (``--dso``), so the
session-long PostgreSQL database's other contracts stay out of the count.
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.billing.ledger_tables import invoice as bl_invoice
from gateway.billing.ordering import MACHINE
from gateway.billing.run_tables import run as bl_run
from gateway.billing.run_tables import run_item as bl_run_item
from gateway.billing.runs import (
    ORDER_FINAL_STATES,
    Candidate,
    due_order,
    months_counted,
    parse_period,
    plan_run,
    run_id,
)
from gateway.errors import InvalidField
from gateway.masterdata import tables as md
from gateway.process.tables import process_instance
from gateway.store.tables import outbox
from schemas.envelope import decode
from tests.billing.bill.support import NOW, Supplied, supplied
from tests.process.rules_support import REPO_RULES

JANUARY_END = dt.date(2026, 1, 31)


def candidate(**changes: Any) -> Candidate:
    values: dict[str, Any] = {
        "contract": "SML-1", "contract_id": uuid.uuid4(), "commodity": "electricity",
        "opm": "859182400000000001",
        "supply_start": dt.date(2026, 1, 1), "supply_end": None, "account": "1234567890",
        "billing_cycle": "monthly", "billed_to": None,
    }
    return Candidate(**{**values, **changes})


def test_a_period_is_a_month() -> None:
    assert parse_period("2026-02") == (dt.date(2026, 2, 1), dt.date(2026, 2, 28))
    assert parse_period("2024-02") == (dt.date(2024, 2, 1), dt.date(2024, 2, 29))
    assert parse_period("2026-12") == (dt.date(2026, 12, 1), dt.date(2026, 12, 31))
    for bad in ("2026-13", "2026-1", "202601", "2026-01-31", ""):
        with pytest.raises(InvalidField) as caught:
            parse_period(bad)
        assert (caught.value.field, caught.value.value) == ("period", bad)
    assert run_id("2026-01", None) == "2026-01"
    assert run_id("2026-01", "ČEZ Distribuce") == "2026-01@ČEZ Distribuce"
    with pytest.raises(InvalidField, match="dso"):
        run_id("2026-01", " ")


def test_months_are_counted_with_both_ends() -> None:
    assert months_counted(dt.date(2026, 1, 1), JANUARY_END) == 1
    assert months_counted(dt.date(2026, 3, 15), dt.date(2027, 2, 28)) == 12
    assert months_counted(dt.date(2025, 12, 31), JANUARY_END) == 2


def test_a_monthly_contract_is_due_every_month_from_the_day_after_its_last_bill() -> None:
    first = due_order(candidate(), JANUARY_END)
    assert first is not None
    assert (first.order, first.period_from, first.period_to, first.reason) == (
        "SML-1@2026-01-31", dt.date(2026, 1, 1), JANUARY_END, "periodic",
    )
    later = due_order(candidate(billed_to=dt.date(2026, 1, 31)), dt.date(2026, 2, 28))
    assert later is not None
    assert (later.period_from, later.period_to) == (dt.date(2026, 2, 1), dt.date(2026, 2, 28))
    assert due_order(candidate(billed_to=JANUARY_END), JANUARY_END) is None  # billed already


@pytest.mark.parametrize(("cycle", "due_in"), [
    ("quarterly", dt.date(2026, 3, 31)), ("semiannual", dt.date(2026, 6, 30)),
    ("annual", dt.date(2026, 12, 31)),
])
def test_a_longer_cycle_is_due_when_its_months_have_passed(cycle: str, due_in: dt.date) -> None:
    before = (due_in.replace(day=1) - dt.timedelta(days=1))
    assert due_order(candidate(billing_cycle=cycle), before) is None
    order = due_order(candidate(billing_cycle=cycle), due_in)
    assert order is not None and (order.period_from, order.period_to) == (dt.date(2026, 1, 1), due_in)


def test_a_supply_ending_in_the_month_is_billed_to_its_last_day_whatever_the_cycle() -> None:
    order = due_order(candidate(billing_cycle="annual", supply_end=dt.date(2026, 1, 20)), JANUARY_END)
    assert order is not None and (order.period_to, order.reason) == (dt.date(2026, 1, 20), "final")
    ended = candidate(supply_end=dt.date(2026, 1, 20), billed_to=dt.date(2026, 1, 20))
    assert due_order(ended, JANUARY_END) is None
    assert due_order(candidate(supply_start=dt.date(2026, 2, 1)), JANUARY_END) is None  # not supplied yet
    assert due_order(candidate(account=None), JANUARY_END) is None  # no terms: nothing to bill into


def test_the_final_states_are_the_machines() -> None:
    machine = yaml.safe_load(Path(REPO_RULES / "machines" / "billing_order.yaml").read_text())
    finals = {name for name, state in machine["states"].items() if state.get("final")}
    assert finals == ORDER_FINAL_STATES


async def _book(engine: AsyncEngine, dso: str, cycles: list[str]) -> list[Supplied]:
    """Contracts from 1 January 2026 of ``dso``'s OPMs, one per billing cycle given."""
    book = []
    for cycle in cycles:
        parties = await supplied(engine, dso=dso)
        async with engine.begin() as conn:
            await conn.execute(sa.update(md.account).where(md.account.c.variable_symbol == parties.account)
                               .values(billing_cycle=cycle))
        book.append(parties)
    return book


async def _queued(engine: AsyncEngine, run: str) -> dict[str, Any]:
    """The run's items and the order_due messages in the outbox for them, by order key."""
    async with engine.connect() as conn:
        items = (await conn.execute(sa.select(bl_run_item).where(bl_run_item.c.run == run))).all()
        keys = [item.order for item in items]
        rows = (await conn.execute(
            sa.select(outbox.c.key, outbox.c.value)
            .where(outbox.c.topic == "billing.orders", outbox.c.key.in_(keys))
        )).all()
    messages: dict[str, Any] = {}
    for key, value in rows:
        assert key not in messages, f"{key} queued twice"
        messages[key] = decode(value).payload
    assert set(messages) == set(keys)
    return messages


async def test_a_run_orders_the_due_contracts_once(engine: AsyncEngine) -> None:
    dso = f"Planning {uuid.uuid4().hex[:8]}"
    monthly, annual, quarterly = await _book(engine, dso, ["monthly", "annual", "quarterly"])
    run = run_id("2026-03", dso)
    summary = await plan_run(engine, period="2026-03", dso=dso, now=NOW, actor="test", batch_size=2)
    assert (summary.contracts_read, summary.queued, summary.not_due) == (3, 2, 1)
    orders = await _queued(engine, run)
    assert set(orders) == {f"{monthly.contract}@2026-03-31", f"{quarterly.contract}@2026-03-31"}
    due = orders[f"{monthly.contract}@2026-03-31"]
    assert (due.contract, due.account, due.opm, due.period_from, due.reason) == (
        monthly.contract, monthly.account, monthly.opm, dt.date(2026, 1, 1), "periodic",
    )
    async with engine.connect() as conn:
        row = (await conn.execute(sa.select(bl_run).where(bl_run.c.id == run))).one()
    assert (row.status, row.contracts_planned, row.period, row.dso) == ("planned", 2, "2026-03", dso)
    assert annual.contract not in {order.contract for order in orders.values()}

    again = await plan_run(engine, period="2026-03", dso=dso, now=NOW, actor="test")
    assert (again.queued, again.already_planned, again.not_due) == (0, 2, 1)
    assert len(await _queued(engine, run)) == 2


async def test_existing_open_and_billed_orders_are_left_out(engine: AsyncEngine) -> None:
    dso = f"Planning {uuid.uuid4().hex[:8]}"
    exists, still_open, billed, fresh = await _book(engine, dso, ["monthly"] * 4)
    async with engine.begin() as conn:
        instances = (
            (f"{exists.contract}@2026-01-31", "sent"), (f"{still_open.contract}@2025-12-31", "outsorted"),
        )
        for key, state in instances:
            await conn.execute(sa.insert(process_instance).values(
                machine=MACHINE, key=key, version="test", state=state, data={}, seq=1, entered_seq=1,
                transitions=1, created_at=NOW, updated_at=NOW,
            ))
        await conn.execute(sa.insert(bl_invoice).values(
            number=f"FV-{uuid.uuid4().hex[:12]}", uuid=uuid.uuid4(), kind="settlement", status="issued",
            contract=billed.contract, account=billed.account, opm=billed.opm, period_from=dt.date(2026, 1, 1),
            period_to=dt.date(2026, 1, 31), issue_date=dt.date(2026, 2, 3), due_date=dt.date(2026, 2, 17),
            total_base=0, total_vat=0, total=0, advances_paid=0, balance=0, settlement="{}", documents=[],
            created_at=NOW,
        ))
    summary = await plan_run(engine, period="2026-01", dso=dso, now=NOW, actor="test")
    assert (summary.queued, summary.order_exists, summary.open_order, summary.already_billed) == (1, 1, 1, 1)
    assert any(still_open.contract in text for text in summary.skipped_examples)
    assert set(await _queued(engine, run_id("2026-01", dso))) == {f"{fresh.contract}@2026-01-31"}


async def test_a_taken_over_contract_is_planned_from_the_day_after_its_previous_system_billed_it(
    engine: AsyncEngine,
) -> None:
    dso = f"Planning {uuid.uuid4().hex[:8]}"
    half, whole = [await supplied(engine, dso=dso, billed_until=dt.date(2026, month, day_of))
                   for month, day_of in ((2, 28), (3, 31))]
    async with engine.begin() as conn:
        await conn.execute(sa.update(md.account).where(md.account.c.variable_symbol.in_(
            [half.account, whole.account])).values(billing_cycle="monthly"))
    summary = await plan_run(engine, period="2026-03", dso=dso, now=NOW, actor="test")
    assert (summary.contracts_read, summary.queued, summary.already_billed) == (2, 1, 1)
    orders = await _queued(engine, run_id("2026-03", dso))
    assert [(due.contract, due.period_from, due.period_to) for due in orders.values()] == [
        (half.contract, dt.date(2026, 3, 1), dt.date(2026, 3, 31)),
    ]
