"""Helpers of the batch billing tests: a two-rate electricity contract (the bill tests' ``supplied`` makes
single-rate ones), readings of both registers, and ``bill_many`` in a transaction of its own."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.billing.batch import BatchOutcome, BillRequest, bill_many
from gateway.billing.readings.record import record_reading
from gateway.masterdata.contracts import create_contract
from gateway.masterdata.opm import create_opm
from schemas.billing.readings import ReadingIn
from tests.billing.bill.support import NOW, PERIOD_FROM, PERIOD_TO, Supplied, day
from tests.masterdata.supply_helpers import (
    ACTOR,
    add_account,
    add_customer,
    contract_in,
    electricity_in,
    electricity_technical,
    two_tariff_meter,
)

#: The batch tests' invoice series (the bill tests use 7 and 9).
BATCH_WORKER = 11


async def supplied_two_rate(engine: AsyncEngine) -> Supplied:
    """A household on the two-rate distribution rate D25d of ČEZ with a VT/NT meter."""
    data = electricity_in(
        dso="ČEZ Distribuce, a.s.", technical=electricity_technical(rate="D25d", since="2020-01-01"),
        meters=[two_tariff_meter()],
    )
    async with engine.begin() as conn:
        customer_id, customer = await add_customer(conn)
        account = await add_account(conn, customer_id)
        opm = await create_opm(conn, ACTOR, NOW, data)
        created = await create_contract(conn, ACTOR, NOW, contract_in(
            customer, account, opm.code, signed_on=day("2025-11-01"), valid_from=day("2026-01-01"),
        ))
    return Supplied(customer, account, opm.code, created.number)


async def read_two_rate(engine: AsyncEngine, opm: str, date: str, vt: str, nt: str) -> None:
    data = ReadingIn(date=day(date), registers={"vt": Decimal(vt), "nt": Decimal(nt)})
    async with engine.begin() as conn:
        await record_reading(conn, NOW, opm, data)


def request(contract: str, period_from: dt.date = PERIOD_FROM, period_to: dt.date = PERIOD_TO,
            **options: Any) -> BillRequest:
    return BillRequest(contract=contract, period_from=period_from, period_to=period_to, **options)


async def bill_batch(
    engine: AsyncEngine, requests: Sequence[BillRequest], **options: Any
) -> list[BatchOutcome]:
    async with engine.begin() as conn:
        return await bill_many(conn, requests, now=NOW, worker=options.pop("worker", BATCH_WORKER), **options)
