"""A received advance payment: applied to the account's requested instalments, oldest due first, each part
closing that much of the request's receivable and, by policy, documented by a tax document for a received
payment (``documents.tax_document``). What no requested instalment takes is returned as unapplied: the
payment matching decides what it is (an overpayment, a payment of an invoice)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.billing.advances.documents import (
    ADVANCE_VAT_RATE,
    PAYMENT_INSTALMENTS_MAX,
    TAX_DOCUMENT_FOR_RECEIVED_ADVANCES,
    AppliedAdvance,
    store_document,
    tax_document,
)
from gateway.billing.advances.mass import account_id_of
from gateway.billing.advances.parties import instalment_context
from gateway.billing.advances.tables import advance_instalment
from gateway.billing.invoices.numbering import next_document_number
from gateway.billing.ledger_tables import receivable as bl_receivable
from gateway.errors import InvalidField
from gateway.process.calendar import WorkingCalendar
from schemas.billing.invoice import Supplier


async def receive_advance_payment(
    conn: AsyncConnection, *, variable_symbol: str, amount: Decimal, received_on: dt.date, supplier: Supplier,
    worker: int, now: dt.datetime, calendar: WorkingCalendar,
    issue_tax_documents: bool = TAX_DOCUMENT_FOR_RECEIVED_ADVANCES, vat_rate: Decimal = ADVANCE_VAT_RATE,
) -> tuple[list[AppliedAdvance], Decimal]:
    """Apply ``amount`` received on ``received_on`` in the caller's transaction; (applied parts, unapplied
    rest)."""
    if amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        raise InvalidField("amount", amount, "a received payment is positive, in CZK to 0.01")
    if received_on > calendar.local_date(now):
        raise InvalidField("received_on", received_on, "is in the future")
    account_id = await account_id_of(conn, variable_symbol)
    i = advance_instalment.c
    query = (
        sa.select(i.id, i.amount, i.paid_amount, i.request_number)
        .where(i.account_id == account_id, i.state == "requested")
        .order_by(i.due_date, i.sequence).limit(PAYMENT_INSTALMENTS_MAX).with_for_update()
    )
    applied: list[AppliedAdvance] = []
    rest = amount
    for row in (await conn.execute(query)).all():
        if rest <= 0:
            break
        part = min(row.amount - row.paid_amount, rest)
        rest -= part
        paid = row.paid_amount + part
        await conn.execute(sa.update(advance_instalment).where(i.id == row.id).values(
            paid_amount=paid, paid_on=received_on, state="paid" if paid >= row.amount else "requested",
        ))
        r = bl_receivable.c
        await conn.execute(sa.update(bl_receivable).where(r.document == row.request_number).values(
            open_amount=r.open_amount - part, paid_on=received_on,
        ))
        number = None
        if issue_tax_documents:
            number = await _tax_document(conn, row.id, supplier, part, received_on, worker=worker, now=now,
                                         calendar=calendar, vat_rate=vat_rate)
        applied.append(AppliedAdvance(instalment_id=row.id, request_number=row.request_number, amount=part,
                                      tax_document=number))
    return applied, rest


async def _tax_document(
    conn: AsyncConnection, instalment_id: uuid.UUID, supplier: Supplier, amount: Decimal,
    received_on: dt.date, *, worker: int, now: dt.datetime, calendar: WorkingCalendar, vat_rate: Decimal,
) -> str:
    context = await instalment_context(conn, instalment_id)
    issued = calendar.local_date(now)
    number = await next_document_number(conn, "advance_tax_document", issued.year, worker)
    document = tax_document(context, supplier, number, issued, received_on, amount, uuid.uuid4(), vat_rate)
    await store_document(conn, document, instalment_id, now)
    return number

