"""A contract's terms changing inside the billed period, on SQLite and PostgreSQL: another product is one
bill, priced like a price change; another account, or a product sharing consumption otherwise, is refused
naming the day and the two periods.

SAMPLE prices: E-STANDARD ("Elektřina Standard") 2690 CZK/MWh and 129 CZK a month, rounded to whole CZK;
E-FIX 2590 CZK/MWh and 99 CZK a month, not rounded; E-PROFIL shares consumption by TDD weights.
"""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.errors import InvalidField
from gateway.masterdata import tables as t
from gateway.masterdata.contracts import amend_contract
from gateway.masterdata.filestore import FileStore
from schemas.billing.bill import Billed, Outsorted
from schemas.masterdata.contracts import Amendment
from tests.billing.bill.support import NOW, PERIOD_TO, bill, day, read, supplied
from tests.billing.quote.support import rows
from tests.masterdata.supply_helpers import ACTOR, add_account


async def amend(engine: AsyncEngine, contract: str, amendment: Amendment) -> None:
    async with engine.begin() as conn:
        await amend_contract(conn, ACTOR, NOW, contract, amendment)


async def test_another_product_from_april_is_one_bill_priced_in_parts(
    engine: AsyncEngine, files: FileStore,
) -> None:
    parties = await supplied(engine)
    await amend(engine, parties.contract, Amendment(effective_from=day("2026-04-01"), product="E-FIX"))
    await read(engine, parties.opm, "2025-12-31", "1000")
    await read(engine, parties.opm, "2026-06-30", "2500")

    outcome = await bill(engine, files, parties.contract)

    assert isinstance(outcome, Billed) and outcome.invoice.number is not None
    supply = [row for row in rows(outcome.invoice.settlement) if row[0] in ("COMMODITY", "SUPPLY_FEE")]
    # 1.500 MWh by days: January … March 90 of 181 days → 0.746 at E-STANDARD's price, the rest at E-FIX's.
    assert supply == [
        ("COMMODITY", "2026-01-01", "2026-03-31", "0.746", "MWh", "2690.00", "2006.74"),
        ("COMMODITY", "2026-04-01", "2026-06-30", "0.754", "MWh", "2590.00", "1952.86"),
        ("SUPPLY_FEE", "2026-01-01", "2026-03-31", "3.0000", "month", "129.00", "387.00"),
        ("SUPPLY_FEE", "2026-04-01", "2026-06-30", "3.0000", "month", "99.00", "297.00"),
    ]
    # The bill rounds as the product of its last day does: E-FIX does not.
    assert "ROUNDING" not in [row[0] for row in rows(outcome.invoice.settlement)]


async def test_a_terms_change_of_the_same_product_changes_no_price(
    engine: AsyncEngine, files: FileStore,
) -> None:
    parties = await supplied(engine)
    await read(engine, parties.opm, "2025-12-31", "1000")
    await read(engine, parties.opm, "2026-06-30", "2500")
    before = await bill(engine, files, parties.contract, issue=False)
    await amend(engine, parties.contract, Amendment(effective_from=day("2026-04-01"), notice_period_days=60))

    after = await bill(engine, files, parties.contract, issue=False)

    assert isinstance(before, Billed) and isinstance(after, Billed)
    assert after.invoice.settlement == before.invoice.settlement


async def test_another_account_inside_the_period_is_refused_naming_the_day(
    engine: AsyncEngine, files: FileStore,
) -> None:
    parties = await supplied(engine)
    async with engine.begin() as conn:
        query = sa.select(t.customer.c.id).where(t.customer.c.number == parties.customer)
        customer_id = await conn.scalar(query)
        assert customer_id is not None
        other = await add_account(conn, customer_id)
    await amend(engine, parties.contract, Amendment(effective_from=day("2026-04-01"), account=other))

    with pytest.raises(InvalidField) as refused:
        await bill(engine, files, parties.contract)

    assert refused.value.field == "period_to" and refused.value.value == PERIOD_TO.isoformat()
    assert f"changes on 2026-04-01 (version 2, {parties.account} to {other})" in refused.value.reason
    assert "bill 2026-01-01 … 2026-03-31 and 2026-04-01 … 2026-06-30 separately" in refused.value.reason
    # Each part bills on its own (here both lack readings, which is an outcome, not an error).
    first = await bill(engine, files, parties.contract, period_to=dt.date(2026, 3, 31))
    assert isinstance(first, Outsorted) and first.findings[0].code == "READING_MISSING"


async def test_a_product_sharing_consumption_otherwise_is_refused(
    engine: AsyncEngine, files: FileStore,
) -> None:
    parties = await supplied(engine)
    await amend(engine, parties.contract, Amendment(effective_from=day("2026-04-01"), product="E-PROFIL"))

    with pytest.raises(InvalidField) as refused:
        await bill(engine, files, parties.contract)

    assert refused.value.field == "period_to"
    assert "changes on 2026-04-01 from product E-STANDARD to E-PROFIL" in refused.value.reason


async def test_an_unknown_later_product_is_a_price_problem(
    engine: AsyncEngine, files: FileStore,
) -> None:
    parties = await supplied(engine)
    eco = Amendment(effective_from=day("2026-04-01"), product="Elektřina Eko")
    await amend(engine, parties.contract, eco)
    await read(engine, parties.opm, "2025-12-31", "1000")
    await read(engine, parties.opm, "2026-06-30", "2500")

    outcome = await bill(engine, files, parties.contract)

    assert isinstance(outcome, Outsorted) and [f.code for f in outcome.findings] == ["PRICE_MISSING"]
    text = outcome.findings[0].text
    assert "product 'Elektřina Eko' (from 2026-04-01) is not an electricity product" in text
