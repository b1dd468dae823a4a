"""The advances a settlement deducts: what was paid on the account's advance requests due in the period.

The sub-ledger (``bl_receivable``, kind ``advance_request``) says how much of each request is paid (amount −
open amount). Where a tax document for a received payment (DZ, ``gateway.billing.advances``) documents a
part, that part is a **taxed** deposit (its VAT was declared when the money came, so the settlement claims
only the difference: ISDOC ``TaxedDeposits``); the rest is a **non-taxed** deposit, deducted from the amount
due only.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.billing.advances.tables import advance_document, advance_instalment
from gateway.billing.ledger_tables import receivable as bl_receivable
from schemas.billing.invoice import Deposit, InvoiceDocument, NonTaxedDeposit, TaxedDeposit

_NO_CENTS: Final = Decimal("0.00")


class PaidRequest:
    """An advance request of the account and how much of it is paid."""

    # A plain class, not a dataclass: ``bill_inputs.BillInputs`` says why.
    def __init__(self, number: str, paid: Decimal, due_date: dt.date, paid_on: dt.date | None) -> None:
        self.number: Final = number
        self.paid: Final = paid
        self.due_date: Final = due_date
        self.paid_on: Final = paid_on


async def paid_advances(
    conn: AsyncConnection, account: str, period_from: dt.date, period_to: dt.date
) -> list[Deposit]:
    """The deposits of the account's advance requests due in the period, oldest first (none: empty)."""
    r = bl_receivable.c
    rows: Any = await conn.execute(  # Rows, not the tuples their stubs say (mypyc checks those)
        sa.select(r.document, r.amount, r.open_amount, r.due_date, r.paid_on)
        .where(r.account == account, r.kind == "advance_request", r.due_date.between(period_from, period_to))
        .order_by(r.due_date, r.document)
    )
    requests = [
        PaidRequest(row.document, row.amount - row.open_amount, row.due_date, row.paid_on)
        for row in rows if row.amount - row.open_amount > 0
    ]
    taxed = await _tax_documents(conn, account, [request.number for request in requests])
    return deposits_of(account, requests, taxed)


def deposits_of(
    account: str, requests: Iterable[PaidRequest], taxed: Mapping[str, Sequence[TaxedDeposit]]
) -> list[Deposit]:
    """Each request's tax documents as taxed deposits, and what they leave of its paid part as a non-taxed
    one."""
    found: list[Deposit] = []
    for request in requests:
        documented = taxed.get(request.number, ())
        found.extend(documented)
        rest = request.paid - sum((deposit.amount for deposit in documented), _NO_CENTS)
        assert rest >= 0, f"tax documents of {request.number} exceed its paid {request.paid}"
        if rest > 0:
            found.append(NonTaxedDeposit(
                document_number=request.number, variable_symbol=account,
                paid_on=request.paid_on or request.due_date, amount=rest,
            ))
    return found


async def _tax_documents(
    conn: AsyncConnection, account: str, requests: list[str]
) -> dict[str, list[TaxedDeposit]]:
    """The tax documents for received payments of ``requests``, by request number, oldest first."""
    if not requests:
        return {}
    d, i = advance_document.c, advance_instalment.c
    rows: Any = await conn.execute(  # Rows, not the tuples their stubs say (mypyc checks those)
        sa.select(i.request_number, d.number, d.tax_point, d.issue_date, d.amount, d.base, d.vat, d.document)
        .join(advance_instalment, i.id == d.instalment_id)
        .where(d.kind == "advance_tax_document", i.request_number.in_(requests))
        .order_by(d.tax_point, d.number)
    )
    found: dict[str, list[TaxedDeposit]] = defaultdict(list)
    for row in rows:
        document = msgspec.json.decode(row.document, type=InvoiceDocument)
        [recap] = document.settlement.vat  # one line at one rate: ``advances.documents.tax_document``
        found[row.request_number].append(TaxedDeposit(
            document_number=row.number, variable_symbol=account, paid_on=row.tax_point or row.issue_date,
            vat_rate=recap.rate, base=row.base, vat=row.vat, amount=row.amount,
        ))
    return found
