"""Schedules in the database (SQLite and PostgreSQL): amounts against the docs' worked quote, monthly and
quarterly, idempotent regeneration, supersession that keeps requested and paid instalments."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.billing.advances.documents import issue_due
from gateway.billing.advances.mass import account_id_of, regenerate
from gateway.billing.advances.payments import receive_advance_payment
from gateway.billing.advances.schedules import regenerate_after_settlement
from gateway.billing.bill_documents import SAMPLE_SUPPLIER
from gateway.billing.quote import quote
from gateway.clock import ManualClock
from gateway.masterdata import tables as t
from gateway.masterdata.filestore import LocalFileStore
from gateway.process.calendar import WorkingCalendar
from schemas.billing.bill import Billed
from schemas.billing.settlement import Consumption, QuoteOpm, QuoteRequest
from tests.billing.advances.support import (
    EXAMPLE_TOTAL,
    NOW,
    active,
    advances_of,
    options,
    regenerate_account,
    supplied,
)
from tests.billing.bill import support as billing
from tests.billing.invoices.support import line, settle
from tests.billing.quote.support import PRICES


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


async def test_a_monthly_schedule_divides_the_quoted_year(engine: AsyncEngine) -> None:
    parties = await supplied(engine)
    summary = await regenerate_account(engine, parties.account)
    assert (summary.contracts, summary.created, summary.skipped) == (1, 1, 0), summary
    schedule = await active(engine, parties.account)
    # docs/billing.md: 2.100 MWh of E-STANDARD at ČEZ D02d 3 × 25 A costs 18,944.00 CZK with VAT in 2026;
    # 18944 / 12 = 1578.67, rounded up to 1579 (12 × 1579 = 18,948: 4 CZK come back with the settlement).
    assert (schedule.annual_total, schedule.instalment_amount) == (EXAMPLE_TOTAL, Decimal("1579"))
    assert (schedule.frequency, schedule.consumption_source, schedule.price_list) == (
        "monthly", "technical", "sample-2026")
    assert schedule.consumption_mwh == {"single": Decimal("2.100")}
    # The list ends on 31 December 2026: its last 12 months stand for the schedule's.
    assert (schedule.priced_from, schedule.priced_to) == (day("2026-01-01"), day("2026-12-31"))
    assert (schedule.starts_on, schedule.ends_on) == (day("2026-12-01"), day("2027-11-30"))
    instalments = schedule.instalments
    assert [item.sequence for item in instalments] == list(range(1, 13))
    assert {item.amount for item in instalments} == {Decimal("1579")}
    assert {item.state for item in instalments} == {"planned"}
    assert instalments[0].due_date == day("2026-12-15")
    assert instalments[5].due_date == day("2027-05-17")  # the 15th is a Saturday
    assert sum(item.amount for item in instalments) >= EXAMPLE_TOTAL


async def test_a_quarterly_schedule_and_the_account_frequency(engine: AsyncEngine) -> None:
    parties = await supplied(engine)
    async with engine.begin() as conn:
        await conn.execute(sa.update(t.account).where(t.account.c.variable_symbol == parties.account)
                           .values(advance_frequency="quarterly"))
    await regenerate_account(engine, parties.account)
    schedule = await active(engine, parties.account)
    assert (schedule.frequency, schedule.instalment_amount) == ("quarterly", Decimal("4736"))  # 18944 / 4
    assert [item.due_date for item in schedule.instalments] == [
        day("2026-12-15"), day("2027-03-15"), day("2027-06-15"), day("2027-09-15"),
    ]
    assert [item.period_to for item in schedule.instalments][-1] == day("2027-11-30")


async def test_an_account_without_advances_is_skipped_naming_the_field(engine: AsyncEngine) -> None:
    parties = await supplied(engine)
    async with engine.begin() as conn:
        await conn.execute(sa.update(t.account).where(t.account.c.variable_symbol == parties.account)
                           .values(advance_frequency="none"))
    summary = await regenerate_account(engine, parties.account)
    assert (summary.created, summary.skipped) == (0, 1)
    skipped = summary.skipped_contracts[0]
    assert (skipped.contract, skipped.field, skipped.value) == (parties.contract, "advance_frequency", "none")
    assert (await advances_of(engine, parties.account)).schedules == []


async def test_regeneration_is_idempotent(engine: AsyncEngine) -> None:
    parties = await supplied(engine)
    first = await regenerate(engine, ManualClock(NOW), options())
    again = await regenerate(engine, ManualClock(NOW), options())
    assert first.created >= 1 and again.created == 0, (first, again)
    assert again.unchanged == first.created + first.unchanged
    schedules = (await advances_of(engine, parties.account)).schedules
    assert [(item.version, item.state) for item in schedules] == [(1, "active")]
    # A price change regenerates (a new list or new prices); frequency is part of the basis too.
    changed = await regenerate_account(engine, parties.account, frequency="quarterly", reason="manual")
    assert (changed.created, changed.superseded_instalments) == (1, 12)


async def test_supersession_keeps_requested_and_paid_instalments(engine: AsyncEngine) -> None:
    parties = await supplied(engine)
    await regenerate_account(engine, parties.account)
    async with engine.connect() as conn:
        account_id = await account_id_of(conn, parties.account)
        query = sa.select(t.contract.c.id).where(t.contract.c.number == parties.contract)
        contract_id = await conn.scalar(query)
    assert isinstance(contract_id, uuid.UUID)
    clock, calendar = ManualClock(NOW), WorkingCalendar()
    issued = await issue_due(engine, clock, SAMPLE_SUPPLIER, due_before=day("2027-01-16"), worker=3,
                             account_id=account_id)
    assert issued.issued == 2  # due 15 December and 15 January
    async with engine.begin() as conn:
        await receive_advance_payment(
            conn, variable_symbol=parties.account, amount=Decimal("1579.00"), received_on=day("2026-11-30"),
            supplier=SAMPLE_SUPPLIER, worker=3, now=NOW, calendar=calendar,
        )
    # The 2026 settlement measured 3.000 MWh: the schedule follows it.
    settlement = settle([line("COMMODITY", "Silová elektřina", "3.000", "MWh", "2690.00")])
    async with engine.begin() as conn:
        written = await regenerate_after_settlement(conn, contract_id, settlement, options(), now=NOW,
                                                    calendar=calendar)
    assert written
    schedules = (await advances_of(engine, parties.account)).schedules
    new, old = schedules
    assert (new.version, new.state, new.reason) == (2, "active", "settlement")
    assert new.consumption_source == "settlement"
    assert [item.state for item in old.instalments] == ["paid", "requested"] + ["superseded"] * 10
    # The new schedule starts after the last kept instalment (January) and runs 12 months.
    assert (new.starts_on, new.ends_on) == (day("2027-02-01"), day("2028-01-31"))
    expected = quote(QuoteRequest(
        commodity="electricity", period_from=day("2026-01-01"), period_to=day("2026-12-31"),
        opm=QuoteOpm(dso="CEZ", rate="D02d", breaker_phases=3, breaker_amps=25), product="E-STANDARD",
        consumption=Consumption(mwh=Decimal("3.000")),
    ), PRICES).total
    assert new.annual_total == expected
    assert new.instalment_amount == (expected / 12).to_integral_value(rounding="ROUND_CEILING")
    # Later regenerations keep the settled consumption: nothing changes.
    assert (await regenerate_account(engine, parties.account)).unchanged == 1


async def test_the_last_issued_settlement_gives_the_consumption(engine: AsyncEngine, tmp_path: Path) -> None:
    parties = await billing.supplied(engine)  # single-rate, 3,500 kWh a year in its technical data
    await billing.read(engine, parties.opm, "2025-12-31", "1000")
    await billing.read(engine, parties.opm, "2026-06-30", "2500")
    outcome = await billing.bill(engine, LocalFileStore(tmp_path / "documents"), parties.contract)
    assert isinstance(outcome, Billed), outcome
    await regenerate_account(engine, parties.account)
    schedule = await active(engine, parties.account)
    # 1.500 MWh in January … June, which weigh 0.517 of a year by the SAMPLE electricity TDD:
    # 1.5 / 0.517 = 2.90135 → 2.901 MWh a year (by days, 1.5 × 365 / 181, it was 3.025).
    assert schedule.consumption_source == "settlement"
    assert schedule.consumption_mwh == {"single": Decimal("2.901")}
