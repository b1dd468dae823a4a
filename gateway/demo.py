"""Demo data for ``make run``: a first burst of events so the ops endpoints have something to show.

Idempotent: the events have fixed ids (derived from their number), so restarting the demo daemon queues
them again but the inbox applies each only once. Besides the bench events, a few overdue invoices start
``reminder`` instances (``rules/machines/reminder.yaml``) for ``/api/ops/processes`` and ``/api/ops/timers``,
and an admin API key is created (its secret logged once) when the database has no active one, so that
``/api/**`` can be called at all. Master data: ``DEMO_CUSTOMERS`` generated Czech customers with accounts,
OPMs and contracts go through the import path (``proud demo-data`` does the same); a fixed seed makes a
restart change nothing, and the welcome-letter consumer files a letter for each new contract.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import sqlalchemy as sa
import structlog
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from connectors.ares.simulator import DEMO_SUBJECTS, create_simulator_app
from gateway.bus import outbox
from gateway.bus.base import OutgoingRecord
from gateway.bus.topics import BENCH_EVENTS
from gateway.clock import Clock
from gateway.demo_billing import seed_billing_book
from gateway.http.auth import ensure_demo_key
from gateway.masterdata import tables as t
from gateway.masterdata.accounts import create_account
from gateway.masterdata.contracts import create_contract
from gateway.masterdata.customers import create_customer
from gateway.masterdata.fake import seed_masterdata
from gateway.masterdata.identifiers import ean_check_digit
from gateway.masterdata.opm import create_opm
from gateway.masterdata.service_base import local_date
from gateway.process.topics import PAYMENTS_EVENTS
from schemas.bench import BenchEvent
from schemas.envelope import Envelope, Payload
from schemas.masterdata.accounts import AccountIn
from schemas.masterdata.common import Address, Contact, TypedAddress
from schemas.masterdata.contracts import ContractIn
from schemas.masterdata.customers import CustomerIn
from schemas.masterdata.opm import OpmIn, Technical
from schemas.process import InvoiceOverdue

log = structlog.get_logger(__name__)

DEMO_EVENTS = 100
#: Generated customers (each with accounts, OPMs and contracts) for the master-data API to show.
DEMO_CUSTOMERS = 40
#: The demo's sale of the day (a customer number and an EAN body outside the generated ranges).
DEMO_SALE_CUSTOMER = "DEMO-NOVA"
DEMO_SALE_EAN_BODY = "85918240099999999"
DEMO_ACTOR = "system:demo"
DEMO_KEYS = ("OPM-859182400100000001", "OPM-859182400100000002", "OPM-27ZG600Z0000001A")
#: Overdue invoices per contract account: each starts one reminder instance.
DEMO_INVOICES = (
    ("CA-1000000001", "FV-2026-000101", Decimal("1200.50")),
    ("CA-1000000002", "FV-2026-000102", Decimal("389.00")),
    ("CA-1000000003", "FV-2026-000103", Decimal("15420.75")),
)
#: Days from the seeding to an invoice's final date: past the first reminder (10 working days) and its
#: final notice (2 working days before), so a demo instance walks through every state if left running.
DEMO_FINAL_DATE_DAYS = 45
_DEMO_NAMESPACE = uuid.UUID("6f1c6d1e-3f4b-4c2a-9d8e-0d2b7f6a5c11")


def _record(
    topic: str, name: str, key: str, body: Payload, now: dt.datetime
) -> tuple[uuid.UUID, OutgoingRecord]:
    message_id = uuid.uuid5(_DEMO_NAMESPACE, name)
    envelope = Envelope(
        id=message_id, type=body.message_type, schema_version=body.schema_version, key=key, occurred_at=now,
        recorded_at=now, correlation_id=message_id, causation_id=None, payload=body,
    )
    return outbox.envelope_record(topic, envelope)


async def start_ares_simulator() -> tuple[web.AppRunner, str]:
    """The ARES simulator on a free loopback port, for a demo that cannot (or should not) reach ARES:
    ``from_ares`` then works for the simulator's fictional companies. Returns its runner and base URL."""
    runner = web.AppRunner(create_simulator_app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = int(runner.addresses[0][1])  # the port the OS picked for port 0
    log.info("demo ARES simulator", url=f"http://127.0.0.1:{port}", companies=sorted(DEMO_SUBJECTS))
    return runner, f"http://127.0.0.1:{port}"


async def sign_demo_contract(engine: AsyncEngine, clock: Clock) -> str | None:
    """Today's sale: a new customer with an account, an OPM and a contract signed today that starts on the
    first of the month after next, so the welcome letter (which old, imported contracts do not get) shows.
    Once per database; the contract number, or None when it was signed on an earlier start."""
    now = clock.now()
    async with engine.begin() as conn:
        if await conn.scalar(sa.select(sa.literal(1)).where(t.customer.c.number == DEMO_SALE_CUSTOMER)):
            return None
        address = Address(street="Korunní", house_number="2569/108", city="Praha", postal_code="10100")
        customer = await create_customer(conn, DEMO_ACTOR, now, CustomerIn(
            kind="person", number=DEMO_SALE_CUSTOMER, first_name="Jiřina", last_name="Nováková",
            contacts=[Contact(kind="email", value="jirina.novakova@example.cz", primary=True)],
            addresses=[TypedAddress(kind="permanent", address=address)],
        ))
        account = await create_account(conn, DEMO_ACTOR, now, AccountIn(customer=customer.number))
        today = local_date(now)
        start = (today.replace(day=1) + dt.timedelta(days=62)).replace(day=1)
        code = DEMO_SALE_EAN_BODY + ean_check_digit(DEMO_SALE_EAN_BODY)
        await create_opm(conn, DEMO_ACTOR, now, OpmIn(
            code=code, dso="PREdistribuce, a.s.", supply_address=address,
            technical=Technical(effective_from=start, distribution_rate="D02d", breaker_phases=3,
                                breaker_amps=25, tdd_class="4"),
        ))
        contract = await create_contract(conn, DEMO_ACTOR, now, ContractIn(
            customer=customer.number, account=account.variable_symbol, opm=code, product="Elektřina Fix 24",
            signed_on=today, valid_from=start, negotiation="distance",
        ))
    return contract.number


async def seed(engine: AsyncEngine, clock: Clock) -> int:
    await ensure_demo_key(engine, clock)
    summary = await seed_masterdata(engine, clock, DEMO_CUSTOMERS)
    await sign_demo_contract(engine, clock)
    readings = await seed_billing_book(engine, clock)  # proud billing run --period <last month> bills it
    log.info(
        "demo master data", created=summary.total("created"), unchanged=summary.total("unchanged"),
        failed=summary.failed, errors=[error.message() for error in summary.errors],
        billing_readings=readings,
    )
    now = clock.now()
    items = [
        _record(BENCH_EVENTS.name, f"demo-{n}", DEMO_KEYS[n % len(DEMO_KEYS)], BenchEvent(seq=n, amount=1),
                now)
        for n in range(DEMO_EVENTS)
    ]
    final_date = now.date() + dt.timedelta(days=DEMO_FINAL_DATE_DAYS)
    items += [
        # The id names the invoice only: a restart on another day queues the same message, which the
        # reminder's inbox then skips, rather than a second overdue notice.
        _record(PAYMENTS_EVENTS.name, f"demo-overdue-{invoice}", account,
                InvoiceOverdue(invoice=invoice, amount=amount, final_date=final_date), now)
        for account, invoice, amount in DEMO_INVOICES
    ]
    async with engine.begin() as conn:
        await outbox.add(conn, items, now)
    return len(items)
