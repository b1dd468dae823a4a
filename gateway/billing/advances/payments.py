"""A received advance payment: applied to the account's requested instalments, oldest due first, each part
closing that much of the request's receivable and, by policy, documented by a tax document for a received
payment (``documents.tax_document``). What no requested instalment takes is returned as unapplied: the
payment matching decides what it is (an overpayment, a payment of an invoice)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal

import msgspec
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
from gateway.billing.advances.tables import advance_document, advance_instalment
from gateway.billing.invoices.numbering import next_document_number
from gateway.billing.ledger_tables import receivable as bl_receivable
from gateway.errors import InvalidField
from gateway.process.calendar import WorkingCalendar
from schemas.billing.invoice import Deposit, InvoiceDocument, NonTaxedDeposit, Supplier, TaxedDeposit


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


async def with_tax_documents(conn: AsyncConnection, deposits: Sequence[Deposit]) -> list[Deposit]:
    """The settlement's deposits with each advance paid on a request whose payments got tax documents
    replaced by those documents (``TaxedDeposit``: their VAT was declared, the settlement claims only the
    difference) and a non-taxed rest for any part without one. For the billing flow, which reads advances
    paid from the receivables (``gateway.billing.ledger.advances_paid``)."""
    numbers = [item.document_number for item in deposits if isinstance(item, NonTaxedDeposit)]
    if not numbers:
        return list(deposits)
    i, d = advance_instalment.c, advance_document.c
    rows = (await conn.execute(
        sa.select(i.request_number, d.number, d.document)
        .join(advance_document, d.instalment_id == i.id)
        .where(i.request_number.in_(numbers), d.kind == "advance_tax_document").order_by(d.number)
    )).all()
    taxed: dict[str, list[InvoiceDocument]] = defaultdict(list)
    for row in rows:
        taxed[row.request_number].append(msgspec.json.decode(row.document, type=InvoiceDocument))
    found: list[Deposit] = []
    for deposit in deposits:
        documents = taxed.get(deposit.document_number, []) if isinstance(deposit, NonTaxedDeposit) else []
        if not documents:
            found.append(deposit)
            continue
        for document in documents:
            recap = document.settlement.vat[0]
            found.append(TaxedDeposit(
                document_number=document.number, variable_symbol=document.variable_symbol,
                paid_on=document.tax_point or document.issue_date, vat_rate=recap.rate, base=recap.base,
                vat=recap.vat, amount=document.settlement.total,
            ))
        rest = deposit.amount - sum((document.settlement.total for document in documents), Decimal(0))
        if rest > 0:
            found.append(msgspec.structs.replace(deposit, amount=rest))
    return found
