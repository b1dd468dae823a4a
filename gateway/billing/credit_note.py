"""The credit note (opravný daňový doklad, ISDOC type 2) that cancels an issued settlement in full.

Every line, its quantity and amount, the VAT recap and the totals are the original's with the sign turned
(half-up rounding is symmetric, so nothing is recomputed); it deducts no advances (only a settlement does),
so its document balance is minus the original's total. Its ledger posting is minus the original's
*receivable* (total − advances): the advances the original deducted are free again for the new bill, which
deducts them anew (``ledger.reverse``).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Final

import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.billing.bill_documents import file_documents, invoice_document
from gateway.billing.invoices.numbering import next_document_number
from gateway.billing.ledger import store_invoice
from gateway.ids import uuid7
from gateway.masterdata.accounts import get_account
from gateway.masterdata.contracts import get_contract
from gateway.masterdata.customers import get_customer
from gateway.masterdata.filestore import FileStore
from gateway.masterdata.opm import get_opm
from gateway.masterdata.service_base import local_date
from schemas.billing.bill import Invoice
from schemas.billing.invoice import OriginalDocument, Supplier
from schemas.billing.settlement import Settlement, VatRecap

ZERO: Final = Decimal("0.00")


def negated(settlement: Settlement) -> Settlement:
    """``settlement`` with every amount's sign turned and no advances."""
    lines = [
        msgspec.structs.replace(item, quantity=-item.quantity, amount=-item.amount)
        for item in settlement.lines
    ]
    recap = [VatRecap(rate=entry.rate, base=-entry.base, vat=-entry.vat) for entry in settlement.vat]
    return Settlement(
        lines=lines, vat=recap, total_base=-settlement.total_base, total_vat=-settlement.total_vat,
        total=-settlement.total, advances_paid=ZERO, balance=-settlement.total,
    )


async def credit_note_for(
    conn: AsyncConnection, original: Invoice, *, now: dt.datetime, worker: int, files: FileStore, reason: str,
    supplier: Supplier, due_days: int,
) -> Invoice:
    """Issue, file and store the credit note of ``original`` (its receivable: ``ledger.reverse``)."""
    assert original.number is not None and original.uuid is not None and original.kind == "settlement"
    contract = await get_contract(conn, original.contract, original.period_to)
    customer = await get_customer(conn, contract.customer)
    account = await get_account(conn, original.account)
    opm = await get_opm(conn, original.opm, original.period_to)
    issue_date = local_date(now)
    settlement = negated(original.settlement)
    number = await next_document_number(conn, "credit_note", issue_date.year, worker)
    credit = Invoice(
        number=number, kind="credit_note", status="issued", contract=original.contract,
        account=original.account, opm=original.opm, period_from=original.period_from,
        period_to=original.period_to, issue_date=issue_date,
        due_date=issue_date + dt.timedelta(days=due_days),
        total_base=settlement.total_base, total_vat=settlement.total_vat, total=settlement.total,
        advances_paid=settlement.advances_paid, balance=settlement.balance, settlement=settlement,
        corrects=original.number, uuid=uuid7(),
    )
    reference = OriginalDocument(
        number=original.number, uuid=original.uuid, issue_date=original.issue_date, reason=reason,
    )
    document = invoice_document(
        credit, supplier=supplier, customer=customer, billing_address=account.billing_address, opm=opm,
        deposits=[], original=reference,
    )
    ids = await file_documents(conn, files, now, document, contract=contract.number, customer=customer.number)
    credit = msgspec.structs.replace(credit, documents=ids)
    await store_invoice(conn, credit, now)
    return credit

