"""Helpers of the billing tests: a customer, account, OPM and contract from 1 January 2026 in master data,
readings entered through ``record_reading``, and ``bill`` / ``rebill`` in a transaction of their own."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.billing.bill import bill_contract, rebill_contract
from gateway.billing.ledger_tables import receivable
from gateway.billing.readings.record import record_reading
from gateway.masterdata.contracts import create_contract
from gateway.masterdata.filestore import FileStore
from gateway.masterdata.opm import create_opm
from schemas.billing.bill import BillOutcome, Rebilled
from schemas.billing.readings import ReadingIn, RecordedReading
from tests.masterdata.supply_helpers import (
    ACTOR,
    add_account,
    add_customer,
    contract_in,
    electricity_in,
    electricity_technical,
    gas_in,
    gas_technical,
    new_number,
    single_meter,
)

#: Billing happens after the period, on 30 November 2026 (the master-data tests' clock).
NOW: Final = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
PERIOD_FROM: Final = dt.date(2026, 1, 1)
PERIOD_TO: Final = dt.date(2026, 6, 30)
WORKER: Final = 7


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


@dataclass(frozen=True)
class Supplied:
    """A contract supplying an OPM from 1 January 2026 billed into one account."""

    customer: str
    account: str
    opm: str
    contract: str


async def supplied(
    engine: AsyncEngine, *, dso: str = "ČEZ Distribuce, a.s.", product: str = "Elektřina Standard",
    valid_from: str = "2026-01-01", **contract: Any,
) -> Supplied:
    data = electricity_in(
        dso=dso, technical=electricity_technical(since="2020-01-01"), meters=[single_meter()],
    )
    async with engine.begin() as conn:
        customer_id, customer = await add_customer(conn)
        account = await add_account(conn, customer_id)
        opm = await create_opm(conn, ACTOR, NOW, data)
        created = await create_contract(conn, ACTOR, NOW, contract_in(
            customer, account, opm.code, product=product, signed_on=day("2025-11-01"),
            valid_from=day(valid_from), **contract,
        ))
    return Supplied(customer, account, opm.code, created.number)


async def supplied_gas(engine: AsyncEngine, **technical: Any) -> Supplied:
    """A household's gas OPM (GasNet, band 7.56-15, one meter in m³, ``technical`` changed) supplied by
    "Plyn Standard"."""
    data = gas_in(dso="GasNet Služby, s.r.o.", technical=gas_technical(since="2020-01-01", **technical),
                  meters=[single_meter(unit="m3")])
    async with engine.begin() as conn:
        customer_id, customer = await add_customer(conn)
        account = await add_account(conn, customer_id)
        opm = await create_opm(conn, ACTOR, NOW, data)
        created = await create_contract(conn, ACTOR, NOW, contract_in(
            customer, account, opm.code, product="Plyn Standard", signed_on=day("2025-11-01"),
            valid_from=day("2026-01-01"),
        ))
    return Supplied(customer, account, opm.code, created.number)


async def read(engine: AsyncEngine, opm: str, date: str, state: str) -> RecordedReading:
    """A customer's reading of the single register on ``date``."""
    data = ReadingIn(date=day(date), registers={"single": Decimal(state)})
    async with engine.begin() as conn:
        return await record_reading(conn, NOW, opm, data)


async def bill(
    engine: AsyncEngine, files: FileStore, contract: str, period_from: dt.date = PERIOD_FROM,
    period_to: dt.date = PERIOD_TO, **options: Any,
) -> BillOutcome:
    async with engine.begin() as conn:
        return await bill_contract(
            conn, contract=contract, period_from=period_from, period_to=period_to,
            now=options.pop("now", NOW), worker=WORKER, files=files, **options,
        )


async def rebill(engine: AsyncEngine, files: FileStore, invoice: str, **options: Any) -> Rebilled:
    async with engine.begin() as conn:
        return await rebill_contract(conn, invoice=invoice, now=NOW, worker=WORKER, files=files, **options)


async def add_advance(engine: AsyncEngine, account: str, due: str, amount: str, paid: str) -> str:
    """An advance request of ``amount`` due on ``due`` of which ``paid`` was paid; its number (fresh: the
    PostgreSQL test database lives for the whole session)."""
    document = new_number("ZF")
    async with engine.begin() as conn:
        await conn.execute(sa.insert(receivable).values(
            account=account, document=document, kind="advance_request", amount=Decimal(amount),
            open_amount=Decimal(amount) - Decimal(paid), due_date=day(due), paid_on=day(due), posted_at=NOW,
        ))
    return document


def series(number: str | None) -> tuple[str, int]:
    """A document number's series (prefix, year, worker) and sequence: numbers of the session-long
    PostgreSQL database go on from test to test."""
    assert number is not None and len(number) == len("FV202607000001"), number
    return number[:8], int(number[8:])
