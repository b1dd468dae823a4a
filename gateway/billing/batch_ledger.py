"""The ledger side of a batch of bills: what it reads of ``bl_invoice`` and ``bl_receivable`` in a constant
number of queries (issued settlements of its contracts, settlement totals and paid advance requests of its
accounts, the tax documents of those requests) and the writes of its invoices and receivables, one
statement per table.

``LedgerReads`` answers each request as ``ledger.issued_settlement``, ``ledger.previous_settlement``
and ``deposits.paid_advances`` would, and takes the batch's own invoices as they are issued (``add``): a
request later in the batch sees the bills made before it, as ``bill_contract`` called in turn would.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.billing.advances.tables import advance_document, advance_instalment
from gateway.billing.bill_checks import History
from gateway.billing.deposits import PaidRequest, deposits_of
from gateway.billing.ledger import (
    INVOICE_COLUMNS,
    RECEIVABLE_COLUMNS,
    invoice_copy_row,
    invoice_from,
    invoice_row,
    receivable_copy_row,
    receivable_row,
)
from gateway.billing.ledger_tables import invoice as bl_invoice
from gateway.billing.ledger_tables import receivable as bl_receivable
from gateway.clock import as_utc
from gateway.masterdata import tables as md
from gateway.store.copy_fields import timestamptz
from gateway.store.db import copy_binary
from gateway.store.fixed import FixedQuery, each_key
from schemas.billing.bill import Invoice
from schemas.billing.invoice import Deposit, InvoiceDocument, TaxedDeposit

_i, _r, _d, _n = bl_invoice.c, bl_receivable.c, advance_document.c, advance_instalment.c
# The batch's reads of the ledger (``store.fixed``). ``bl_invoice`` is the table a mass run fills itself:
# its lookups are ``growing`` (``store.db.among``).
_ISSUED: Final = FixedQuery(lambda keys: sa.select(bl_invoice).where(
    keys(_i.contract, "contracts", growing=True), _i.kind == "settlement", _i.status == "issued",
), ["contracts"])
# Every invoice of the accounts, the issued settlements picked here, one lookup per account on PostgreSQL
# (``each_key``). With ``kind`` and ``status`` in the query the planner read it off the partial index of
# issued settlements, whole, the accounts a filter: cheap by the statistics of the table still empty, a scan
# of all the run's bills in truth (tests/billing/batch/test_ledger_plans.py).
_SETTLED_FIELDS: Final = (
    _i.account, _i.kind, _i.status, _i.period_from, _i.period_to, _i.created_at, _i.total
)
_SETTLED: Final = FixedQuery(
    lambda keys: sa.select(*_SETTLED_FIELDS).where(keys(_i.account, "accounts")), ["accounts"],
    postgresql=each_key(_i.account, "accounts", lambda account: sa.select(*_SETTLED_FIELDS).where(
        _i.account == account)),
)
_PAID_ADVANCES: Final = FixedQuery(lambda keys: sa.select(
    _r.account, _r.document, (_r.amount - _r.open_amount).label("paid"), _r.due_date, _r.paid_on
).where(
    keys(_r.account, "accounts"), _r.kind == "advance_request", _r.amount - _r.open_amount > 0
).order_by(_r.due_date, _r.document), ["accounts"])
_TAX_DOCUMENTS: Final = FixedQuery(lambda keys: sa.select(
    _r.account, _n.request_number, _d.number, _d.tax_point, _d.issue_date, _d.amount, _d.base, _d.vat,
    _d.document,
).join(advance_instalment, _n.id == _d.instalment_id).join(
    bl_receivable, _r.document == _n.request_number
).where(
    _d.kind == "advance_tax_document", keys(_r.account, "accounts"), _r.kind == "advance_request"
).order_by(_d.tax_point, _d.number), ["accounts"])
#: Locks a batch's contracts in number order (the rows come out sorted, and are locked as they come).
_LOCKED: Final = FixedQuery(lambda keys: sa.select(md.contract.c.id).where(
    keys(md.contract.c.number, "numbers")
).order_by(md.contract.c.number).with_for_update(), ["numbers"])


class _Settled:
    """An issued settlement of an account, as the history check orders them."""

    # A plain class, not a dataclass: ``bill_inputs.BillInputs`` says why.
    def __init__(
        self, period_from: dt.date, period_to: dt.date, created_at: dt.datetime, total: Decimal
    ) -> None:
        self.period_to: Final = period_to
        self.created_at: Final = created_at
        self.history: Final = History.over(total, period_from, period_to)


@dataclass(slots=True)
class LedgerReads:
    issued: dict[tuple[str, dt.date], Invoice]
    settled: dict[str, list[_Settled]]
    #: Each account's advance requests with something paid, by due day then number.
    advances: dict[str, list[PaidRequest]]
    taxed: dict[str, list[TaxedDeposit]]

    def issued_settlement(self, contract: str, period_to: dt.date) -> Invoice | None:
        return self.issued.get((contract, period_to))

    def previous_settlement(self, account: str, before: dt.date) -> History | None:
        """The account's last issued settlement ending before ``before`` (the batch's last among equals: it
        was created last)."""
        earlier = [settled for settled in self.settled.get(account, ()) if settled.period_to < before]
        if not earlier:
            return None
        latest = max(earlier, key=lambda settled: (settled.period_to, settled.created_at))
        return latest.history

    def paid_advances(self, account: str, period_from: dt.date, period_to: dt.date) -> list[Deposit]:
        requests = [
            request for request in self.advances.get(account, ())
            if period_from <= request.due_date <= period_to
        ]
        return deposits_of(account, requests, self.taxed)

    def add(self, invoice: Invoice, now: dt.datetime) -> None:
        """An invoice this batch issues: later requests see it."""
        self.issued[(invoice.contract, invoice.period_to)] = invoice
        self.settled[invoice.account].append(
            _Settled(invoice.period_from, invoice.period_to, as_utc(now), invoice.total)
        )


async def read_ledger(
    conn: AsyncConnection, contracts: Collection[str], accounts: Collection[str]
) -> LedgerReads:
    """The batch's ledger: issued settlements of ``contracts``, settlements and advances of ``accounts``."""
    issued_rows = await _ISSUED.rows(conn, contracts=contracts)
    issued = {(row.contract, row.period_to): invoice_from(row) for row in issued_rows}
    settled: dict[str, list[_Settled]] = defaultdict(list)
    for row in await _SETTLED.rows(conn, accounts=accounts):
        if row.kind == "settlement" and row.status == "issued":
            settled[row.account].append(
                _Settled(row.period_from, row.period_to, as_utc(row.created_at), row.total)
            )
    advances: dict[str, list[PaidRequest]] = defaultdict(list)
    for paid in await _PAID_ADVANCES.rows(conn, accounts=accounts):
        advances[paid.account].append(
            PaidRequest(paid.document, paid.paid, paid.due_date, paid.paid_on)
        )
    return LedgerReads(issued, settled, advances, await _tax_documents(conn, accounts))


async def _tax_documents(conn: AsyncConnection, accounts: Collection[str]) -> dict[str, list[TaxedDeposit]]:
    """The tax documents for received payments of the accounts' advance requests, by request number, oldest
    first (as ``deposits.paid_advances`` reads them per account)."""
    rows = await _TAX_DOCUMENTS.rows(conn, accounts=accounts)
    found: dict[str, list[TaxedDeposit]] = defaultdict(list)
    for row in rows:
        document = msgspec.json.decode(row.document, type=InvoiceDocument)
        [recap] = document.settlement.vat  # one line at one rate: ``advances.documents.tax_document``
        found[row.request_number].append(TaxedDeposit(
            document_number=row.number, variable_symbol=row.account, paid_on=row.tax_point or row.issue_date,
            vat_rate=recap.rate, base=row.base, vat=row.vat, amount=row.amount,
        ))
    return found


async def lock_contracts(conn: AsyncConnection, numbers: Collection[str]) -> None:
    """Hold the contracts' rows until the transaction ends, taken in number order: two batches over shared
    contracts wait for each other instead of deadlocking (one bill of a contract at a time)."""
    await _LOCKED.rows(conn, numbers=numbers)


async def store_invoices(conn: AsyncConnection, invoices: Sequence[Invoice], now: dt.datetime) -> None:
    """Insert the issued settlements and post each balance as a receivable (the rows of
    ``ledger.store_invoice``), each table in one statement: on PostgreSQL a binary COPY of rows encoded
    here (``ledger.invoice_copy_row``), elsewhere a multi-row INSERT."""
    if not invoices:
        return
    assert all(invoice.kind == "settlement" for invoice in invoices)
    if conn.dialect.name == "postgresql":
        stamp = timestamptz(now)
        await copy_binary(conn, bl_invoice.name, INVOICE_COLUMNS,
                          [invoice_copy_row(invoice, stamp) for invoice in invoices])
        await copy_binary(conn, bl_receivable.name, RECEIVABLE_COLUMNS,
                          [receivable_copy_row(invoice, stamp) for invoice in invoices])
        return
    await conn.execute(sa.insert(bl_invoice), [invoice_row(invoice, now) for invoice in invoices])
    await conn.execute(sa.insert(bl_receivable), [receivable_row(invoice, now) for invoice in invoices])
