"""Advance documents: the request for an instalment (``ZF…``, ISDOC type 4, not a tax document) and the
tax document for a received advance (``DZ…``, ISDOC type 5).

* **Request.** Issuing an instalment draws a number of the worker's ``ZF`` series, stores the document and
  posts it to the contract-account sub-ledger (``bl_receivable``, kind ``advance_request``, owned by
  ``gateway.billing.ledger``) as a receivable due on the instalment's due date: an advance request is a
  claim on the customer, not a supply, so it carries no VAT (one 0 % line, VAT 0) and no tax point.
* **Received payment.** A received advance is applied to the account's requested instalments, oldest due
  first. VAT on an advance is due on the day it is received (czech-finance-formats §7: the earlier of
  supply and payment), so for each part applied a tax document for the received payment is issued with
  ``plan.received_vat``'s split and the day of receipt as its tax point, in its own ``DZ`` series.
  ``TAX_DOCUMENT_FOR_RECEIVED_ADVANCES`` switches that off, e.g. should the tax adviser accept a payment
  calendar as the tax document instead ([I], docs/billing.md).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.billing.advances import plan
from gateway.billing.advances.parties import InstalmentContext, instalment_context
from gateway.billing.advances.tables import advance_document, advance_instalment
from gateway.billing.invoices.document import PAYMENT_TERM_DAYS_MAX, check_document
from gateway.billing.invoices.numbering import next_document_number
from gateway.billing.ledger_tables import receivable as bl_receivable
from gateway.clock import Clock
from gateway.errors import InvalidField
from gateway.process.calendar import WorkingCalendar
from schemas.billing.invoice import DocumentKind, InvoiceDocument, Supplier
from schemas.billing.settlement import Settlement, SettlementLine, VatRecap

#: Policy: issue a tax document for every received advance (the law asks for one, §7 [I]); default on.
TAX_DOCUMENT_FOR_RECEIVED_ADVANCES: Final = True
#: VAT on electricity and gas: the basic rate (czech-finance-formats §7).
ADVANCE_VAT_RATE: Final = Decimal("21")
#: Instalments issued per transaction by ``issue_due``.
ISSUE_BATCH_SIZE: Final = 200
#: Requests one run issues at most (a month of a million-OPM book, ten times over).
ISSUE_RUN_MAX: Final = 10_000_000
#: Instalments one payment may settle at most (a year of monthly advances, twice).
PAYMENT_INSTALMENTS_MAX: Final = 24
ADVANCE_CODE: Final = "ADVANCE"
_COMMODITY_TEXT: Final = {"electricity": "elektřiny", "gas": "plynu"}


@dataclass
class IssueSummary:
    issued: int = 0
    total: Decimal = Decimal("0")
    numbers: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class AppliedAdvance:
    instalment_id: uuid.UUID
    request_number: str
    amount: Decimal
    tax_document: str | None


def _line(context: InstalmentContext, text: str, amount: Decimal, vat_rate: Decimal) -> SettlementLine:
    return SettlementLine(
        code=ADVANCE_CODE, text=f"{text} {_COMMODITY_TEXT[context.commodity]}",
        period_from=context.period_from, period_to=context.period_to, quantity=Decimal("1"), unit="CZK",
        unit_price=amount, amount=amount, vat_rate=vat_rate,
    )


def request_document(
    context: InstalmentContext, supplier: Supplier, number: str, issued: dt.date, document_uuid: uuid.UUID
) -> InvoiceDocument:
    """The advance request of an instalment: one 0 % line of its amount, payable by its due date (or on
    the day of issue when issued late)."""
    amount = context.amount
    line = _line(context, "Záloha na dodávku", amount, Decimal("0"))
    settlement = Settlement(
        lines=[line], vat=[VatRecap(rate=Decimal("0"), base=amount, vat=Decimal("0"))], total_base=amount,
        total_vat=Decimal("0"), total=amount, advances_paid=Decimal("0"), balance=amount,
    )
    return _document(context, supplier, number, "advance_request", issued, settlement, document_uuid,
                     due=max(context.due_date, issued))


def tax_document(
    context: InstalmentContext, supplier: Supplier, number: str, issued: dt.date, received_on: dt.date,
    amount: Decimal, document_uuid: uuid.UUID, vat_rate: Decimal = ADVANCE_VAT_RATE,
) -> InvoiceDocument:
    """The tax document for ``amount`` received on ``received_on`` (VAT included, split by
    ``plan.received_vat``); paid in full, so its balance is 0."""
    base, vat = plan.received_vat(amount, vat_rate)
    line = _line(context, "Přijatá záloha na dodávku", base, vat_rate)
    settlement = Settlement(
        lines=[line], vat=[VatRecap(rate=vat_rate, base=base, vat=vat)], total_base=base, total_vat=vat,
        total=amount, advances_paid=amount, balance=Decimal("0"),
    )
    document = _document(context, supplier, number, "advance_tax_document", issued, settlement, document_uuid,
                         due=issued)
    return msgspec.structs.replace(document, tax_point=received_on)


def _document(
    context: InstalmentContext, supplier: Supplier, number: str, kind: DocumentKind, issued: dt.date,
    settlement: Settlement, document_uuid: uuid.UUID, *, due: dt.date,
) -> InvoiceDocument:
    document = InvoiceDocument(
        number=number, uuid=document_uuid, kind=kind, issue_date=issued, due_date=due, supplier=supplier,
        customer=context.customer, commodity=context.commodity,  # type: ignore[arg-type]
        opm_code=context.opm_code, supply_address=context.supply_address, period_from=context.period_from,
        period_to=context.period_to, variable_symbol=context.variable_symbol, settlement=settlement,
        note=f"Splátka {context.sequence} zálohového kalendáře",
    )
    check_document(document)
    return document


async def store_document(
    conn: AsyncConnection, document: InvoiceDocument, instalment_id: uuid.UUID, now: dt.datetime
) -> None:
    settlement = document.settlement
    taxed = document.kind == "advance_tax_document"
    await conn.execute(sa.insert(advance_document).values(
        number=document.number, kind=document.kind, instalment_id=instalment_id, uuid=document.uuid,
        issue_date=document.issue_date, tax_point=document.tax_point, amount=settlement.total,
        base=settlement.total_base if taxed else None, vat=settlement.total_vat if taxed else None,
        document=msgspec.json.encode(document).decode(), created_at=now,
    ))


async def issue_request(
    conn: AsyncConnection, instalment_id: uuid.UUID, supplier: Supplier, *, worker: int, now: dt.datetime,
    calendar: WorkingCalendar,
) -> InvoiceDocument:
    """Issue the request of a planned instalment in the caller's transaction: document and receivable."""
    # The row lock makes a second issuer wait and then see "requested" (PostgreSQL; SQLite serialises).
    await conn.execute(sa.select(advance_instalment.c.id).where(advance_instalment.c.id == instalment_id)
                       .with_for_update())
    context = await instalment_context(conn, instalment_id)
    if context.state != "planned":
        raise InvalidField("instalment.state", context.state, "only a planned instalment is requested")
    issued = calendar.local_date(now)
    number = await next_document_number(conn, "advance_request", issued.year, worker)
    document = request_document(context, supplier, number, issued, uuid.uuid4())
    await store_document(conn, document, instalment_id, now)
    await conn.execute(
        sa.update(advance_instalment).where(advance_instalment.c.id == instalment_id)
        .values(state="requested", request_number=number, requested_on=issued)
    )
    await conn.execute(sa.insert(bl_receivable).values(
        account=context.variable_symbol, document=number, kind="advance_request", amount=context.amount,
        open_amount=context.amount, due_date=document.due_date, paid_on=None, posted_at=now,
    ))
    return document


async def issue_due(
    engine: AsyncEngine, clock: Clock, supplier: Supplier, *, due_before: dt.date, worker: int,
    account_id: uuid.UUID | None = None, calendar: WorkingCalendar | None = None,
) -> IssueSummary:
    """Issue every planned instalment due before ``due_before`` (of one account with ``account_id``),
    ``ISSUE_BATCH_SIZE`` per transaction. Idempotent: an issued instalment is no longer planned, so a
    second run issues nothing twice. Instalments due more than ``PAYMENT_TERM_DAYS_MAX`` days after today
    wait for a later run: a document's payment term is bounded (gateway/billing/invoices/document.py)."""
    calendar = calendar or WorkingCalendar()
    summary = IssueSummary()
    i = advance_instalment.c
    for _ in range(ISSUE_RUN_MAX // ISSUE_BATCH_SIZE):
        async with engine.begin() as conn:
            latest = calendar.local_date(clock.now()) + dt.timedelta(days=PAYMENT_TERM_DAYS_MAX)
            query = sa.select(i.id).where(i.state == "planned", i.due_date < due_before, i.due_date <= latest)
            if account_id is not None:
                query = query.where(i.account_id == account_id)
            # SKIP LOCKED: issuers running side by side take different instalments instead of queueing.
            query = query.order_by(i.due_date, i.id).limit(ISSUE_BATCH_SIZE).with_for_update(skip_locked=True)
            ids = list((await conn.scalars(query)).all())
            for instalment_id in ids:
                document = await issue_request(conn, instalment_id, supplier, worker=worker, now=clock.now(),
                                               calendar=calendar)
                summary.issued += 1
                summary.total += document.settlement.total
                summary.numbers.append(document.number)
        if len(ids) < ISSUE_BATCH_SIZE:
            break
    return summary
