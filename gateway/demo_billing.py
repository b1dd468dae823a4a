"""The demo's billing book: a few customers billed monthly whose OPMs, products and readings the SAMPLE
price list can price, so that ``proud billing run --period <last month>`` on a ``make run`` daemon bills,
files and sends something (the generated demo book has no readings and rates and products the 2026 SAMPLE
list lacks, so its orders are outsorted with ``READING_MISSING`` and ``PRICE_MISSING``).

They receive their invoices by e-mail with the PDF (an electricity and a gas customer), as ISDOC, and on
paper (the demo's directory transports: ``<data_dir>/mail``, ``<data_dir>/print``). Their contracts start
on 1 January 2026 and their meters are read at the end of every month up to the last whole one (customer
readings). The customers are created once per database; a later start adds the months that ended since.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.billing.readings.record import record_reading
from gateway.clock import Clock
from gateway.masterdata import tables as t
from gateway.masterdata.accounts import create_account
from gateway.masterdata.contracts import create_contract
from gateway.masterdata.customers import create_customer
from gateway.masterdata.identifiers import ean_check_digit
from gateway.masterdata.opm import create_opm
from gateway.masterdata.service_base import local_date
from gateway.readings.tables import reading as rd_reading
from schemas.billing.readings import ReadingIn
from schemas.masterdata.accounts import AccountIn, DeliveryChannel
from schemas.masterdata.common import Address, Contact, TypedAddress
from schemas.masterdata.contracts import ContractIn
from schemas.masterdata.customers import CustomerIn
from schemas.masterdata.opm import MeterIn, OpmIn, Register, Technical

DEMO_ACTOR: Final = "system:demo"
#: The book's contracts start here: the first day of the SAMPLE list (rules/prices/sample-2026).
BOOK_START: Final = dt.date(2026, 1, 1)
#: Meters are read up to this month's end at most (the SAMPLE list ends with 2026).
BOOK_END: Final = dt.date(2026, 12, 31)
METERED_SINCE: Final = dt.date(2020, 1, 1)


@dataclass(frozen=True, slots=True)
class DemoCustomer:
    number: str
    first_name: str
    last_name: str
    email: str | None
    channel: DeliveryChannel
    ean_body: str | None  # electricity: 17 digits of the EAN; None: gas
    eic: str | None
    dso: str
    monthly_use: Decimal  # kWh (electricity) or m³ (gas) a month


BOOK: Final = (
    DemoCustomer("DEMO-BILL-1", "Karel", "Dvořák", "karel.dvorak@example.cz", "email_pdf",
                 "85918240099999801", None, "PREdistribuce, a.s.", Decimal("240")),
    DemoCustomer("DEMO-BILL-2", "Eva", "Svobodová", "eva.svobodova@example.cz", "isdoc",
                 "85918240099999802", None, "ČEZ Distribuce, a.s.", Decimal("310")),
    DemoCustomer("DEMO-BILL-3", "Josef", "Černý", None, "paper",
                 "85918240099999803", None, "EG.D, a.s.", Decimal("180")),
    DemoCustomer("DEMO-BILL-4", "Marie", "Procházková", "marie.prochazkova@example.cz", "email_pdf",
                 None, "27ZG900Z0000004T", "GasNet Služby, s.r.o.", Decimal("95")),
)
ADDRESS: Final = Address(street="Mánesova", house_number="1520/45", city="Praha", postal_code="12000")


def month_ends(first: dt.date, last: dt.date) -> list[dt.date]:
    """The last days of the months from ``first``'s to ``last``'s, those not after ``last``."""
    ends: list[dt.date] = []
    day = first
    while True:
        following = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        end = following - dt.timedelta(days=1)
        if end > last:
            return ends
        ends.append(end)
        day = following


async def seed_billing_book(engine: AsyncEngine, clock: Clock) -> int:
    """Seed the book once, and the readings of the months that ended since; the readings recorded."""
    now = clock.now()
    last = min(local_date(now).replace(day=1) - dt.timedelta(days=1), BOOK_END)
    recorded = 0
    for customer in BOOK:
        async with engine.begin() as conn:
            code = await _opm_code(conn, customer, now)
            latest = sa.select(sa.func.max(rd_reading.c.date_to)).where(rd_reading.c.opm == code)
            read_to = await conn.scalar(latest)
            for index, day in enumerate([BOOK_START - dt.timedelta(days=1), *month_ends(BOOK_START, last)]):
                if read_to is not None and day <= read_to:
                    continue  # read on an earlier start
                state = Decimal(1000) + customer.monthly_use * index
                await record_reading(conn, now, code, ReadingIn(date=day, registers={"single": state}))
                recorded += 1
    return recorded


async def _opm_code(conn: AsyncConnection, customer: DemoCustomer, now: dt.datetime) -> str:
    """The customer's OPM, created with the customer, account and contract when missing."""
    code = customer.eic or (customer.ean_body or "") + ean_check_digit(customer.ean_body or "")
    if await conn.scalar(sa.select(sa.literal(1)).where(t.customer.c.number == customer.number)):
        return code
    contacts = [Contact(kind="email", value=customer.email, primary=True)] if customer.email else []
    created = await create_customer(conn, DEMO_ACTOR, now, CustomerIn(
        kind="person", number=customer.number, first_name=customer.first_name, last_name=customer.last_name,
        contacts=contacts, addresses=[TypedAddress(kind="permanent", address=ADDRESS)],
        consent_einvoice=customer.channel == "isdoc",
    ))
    account = await create_account(conn, DEMO_ACTOR, now, AccountIn(
        customer=created.number, billing_cycle="monthly", advance_frequency="none",
        delivery_channel=customer.channel, delivery_email=customer.email,
    ))
    gas = customer.eic is not None
    technical = (
        Technical(effective_from=METERED_SINCE, gas_band="7.56-15", tdd_class="DOM4",
                  annual_consumption_kwh=customer.monthly_use * 12 * Decimal("10.5"))
        if gas else
        Technical(effective_from=METERED_SINCE, distribution_rate="D02d", breaker_phases=3, breaker_amps=25,
                  tdd_class="4", annual_consumption_kwh=customer.monthly_use * 12)
    )
    meter = MeterIn(serial=f"DEMO{customer.number[-1]}", installed_on=METERED_SINCE,
                    registers=[Register(code="SINGLE", unit="m3" if gas else "kWh")])
    await create_opm(conn, DEMO_ACTOR, now, OpmIn(
        code=code, dso=customer.dso, supply_address=ADDRESS, technical=technical, meters=[meter],
    ))
    await create_contract(conn, DEMO_ACTOR, now, ContractIn(
        customer=created.number, account=account.variable_symbol, opm=code,
        product="Plyn Standard" if gas else "Elektřina Standard", signed_on=dt.date(2025, 11, 15),
        valid_from=BOOK_START, negotiation="distance",  # started long ago: no switch (an imported book)
    ))
    return code
