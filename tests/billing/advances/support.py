"""Helpers of the advances tests: a supplied contract in master data, regeneration of its account with a
manual clock, and reading the schedules back."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.billing.advances.mass import regenerate
from gateway.billing.advances.schedules import Options
from gateway.billing.advances.views import account_advances
from gateway.clock import ManualClock
from gateway.masterdata.contracts import create_contract
from gateway.masterdata.opm import create_opm
from schemas.billing.advances import AccountAdvances, RegenerationSummary, Schedule
from tests.billing.quote.support import PRICES
from tests.masterdata.supply_helpers import (
    ACTOR,
    add_account,
    add_customer,
    contract_in,
    electricity_in,
    electricity_technical,
    single_meter,
)

#: 30 November 2026: a schedule made now starts on 1 December 2026.
NOW: Final = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
#: docs/billing.md's worked example: 2.100 MWh, E-STANDARD, ČEZ D02d 3 × 25 A, the 2026 SAMPLE list.
EXAMPLE_KWH: Final = Decimal("2100")
EXAMPLE_TOTAL: Final = Decimal("18944.00")


@dataclass(frozen=True)
class Supplied:
    customer: str
    account: str
    opm: str
    contract: str


async def supplied(engine: AsyncEngine, *, kwh: Decimal = EXAMPLE_KWH, **technical: Any) -> Supplied:
    """A household supplied by E-STANDARD ("Elektřina Standard") from 1 January 2026 at a ČEZ OPM."""
    data = electricity_in(
        dso="ČEZ Distribuce, a.s.", meters=[single_meter()],
        technical=electricity_technical(since="2020-01-01", annual_consumption_kwh=kwh, **technical),
    )
    async with engine.begin() as conn:
        customer_id, customer = await add_customer(conn)
        account = await add_account(conn, customer_id)
        opm = await create_opm(conn, ACTOR, NOW, data)
        created = await create_contract(conn, ACTOR, NOW, contract_in(
            customer, account, opm.code, product="Elektřina Standard", signed_on=dt.date(2025, 11, 1),
            valid_from=dt.date(2026, 1, 1),
        ))
    return Supplied(customer, account, opm.code, created.number)


def options(**changes: Any) -> Options:
    return Options(**{"prices_root": PRICES, **changes})


async def regenerate_account(
    engine: AsyncEngine, account: str, clock: ManualClock | None = None, **changes: Any
) -> RegenerationSummary:
    return await regenerate(engine, clock or ManualClock(NOW), options(**changes), variable_symbol=account)


async def advances_of(engine: AsyncEngine, account: str) -> AccountAdvances:
    async with engine.connect() as conn:
        return await account_advances(conn, account)


async def active(engine: AsyncEngine, account: str) -> Schedule:
    found = [item for item in (await advances_of(engine, account)).schedules if item.state == "active"]
    assert len(found) == 1, found
    return found[0]
