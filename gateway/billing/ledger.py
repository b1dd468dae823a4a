"""Invoices and the contract-account sub-ledger in the database: reading and writing ``bl_invoice`` and
``bl_receivable`` (``gateway.billing.ledger_tables``), always in the caller's transaction.

* **Posting** an invoice: its balance as a receivable due on the due date, open in full (positive: due from
  the customer; negative: an overpayment owed to them).
* **Reversal** by a credit note: a receivable of minus the original's amount, which takes over what was paid
  of it: the original is closed (open 0) and the credit note stays open for the paid part, as a credit.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any, Final

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.billing.bill_checks import History
from gateway.billing.ledger_tables import invoice as bl_invoice
from gateway.billing.ledger_tables import receivable as bl_receivable
from gateway.clock import as_utc
from gateway.errors import NotFound
from gateway.store.copy_fields import NULL, date, field_count, numeric, raw, text, uuid_field
from schemas.billing.bill import Invoice, Ledger, Receivable
from schemas.billing.billed_readings import BilledReadings
from schemas.billing.invoice import Deposit
from schemas.billing.settlement import Settlement

#: Receivables one ledger answer lists at most (the newest); the totals cover them all.
LEDGER_ROWS_MAX: Final = 1_000
ZERO: Final = Decimal("0.00")


async def previous_settlement(conn: AsyncConnection, account: str, before: dt.date) -> History | None:
    """The account's last issued settlement for a period ending before ``before``: its total and days."""
    i = bl_invoice.c
    # Any: compiled, a typed row would be checked as the tuple its stubs say it is (a Row is not one).
    result: Any = await conn.execute(
        sa.select(i.total, i.period_from, i.period_to).where(
            i.account == account, i.kind == "settlement", i.status == "issued", i.period_to < before,
        ).order_by(i.period_to.desc(), i.created_at.desc()).limit(1)
    )
    row = result.first()
    return None if row is None else History.over(row.total, row.period_from, row.period_to)


async def issued_settlement(conn: AsyncConnection, contract: str, period_to: dt.date) -> Invoice | None:
    """The issued settlement of ``contract`` for the period ending ``period_to``, if there is one."""
    i = bl_invoice.c
    row = (await conn.execute(sa.select(bl_invoice).where(
        i.contract == contract, i.period_to == period_to, i.kind == "settlement", i.status == "issued",
    ))).first()
    return None if row is None else invoice_from(row)


async def get_invoice(conn: AsyncConnection, number: str, *, for_update: bool = False) -> Invoice:
    query = sa.select(bl_invoice).where(bl_invoice.c.number == number)
    if for_update:
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    if row is None:
        raise NotFound(f"invoice {number!r} does not exist")
    return invoice_from(row)


def invoice_from(row: Any) -> Invoice:
    return Invoice(
        number=row.number, kind=row.kind, status=row.status, contract=row.contract, account=row.account,
        opm=row.opm, period_from=row.period_from, period_to=row.period_to, issue_date=row.issue_date,
        due_date=row.due_date, total_base=row.total_base, total_vat=row.total_vat, total=row.total,
        advances_paid=row.advances_paid, balance=row.balance,
        settlement=msgspec.json.decode(row.settlement, type=Settlement), corrects=row.corrects,
        cancelled_by=row.cancelled_by, documents=tuple(uuid.UUID(item) for item in row.documents),
        uuid=row.uuid, deposits=msgspec.json.decode(row.deposits, type=tuple[Deposit, ...]),
        readings=None if row.readings is None else msgspec.json.decode(row.readings, type=BilledReadings),
    )


async def store_invoice(conn: AsyncConnection, invoice: Invoice, now: dt.datetime) -> None:
    """Insert the issued invoice and post its receivable (a credit note's: see ``reverse``)."""
    await conn.execute(sa.insert(bl_invoice).values(invoice_row(invoice, now)))
    if invoice.kind == "settlement":
        await conn.execute(sa.insert(bl_receivable).values(receivable_row(invoice, now)))


#: ``bl_invoice``'s columns in the order of ``invoice_record``'s values.
INVOICE_COLUMNS: Final = (
    "number", "uuid", "kind", "status", "contract", "account", "opm", "period_from", "period_to",
    "issue_date", "due_date", "total_base", "total_vat", "total", "advances_paid", "balance", "corrects",
    "cancelled_by", "settlement", "documents", "deposits", "readings", "created_at",
)
#: ``bl_receivable``'s columns in the order of ``receivable_record``'s values (``id`` is the database's).
RECEIVABLE_COLUMNS: Final = (
    "account", "document", "kind", "amount", "open_amount", "due_date", "paid_on", "posted_at",
)

_INVOICE_FIELDS: Final = field_count(len(INVOICE_COLUMNS))
_RECEIVABLE_FIELDS: Final = field_count(len(RECEIVABLE_COLUMNS))
_INVOICE_KIND: Final = text("invoice")


def invoice_record(invoice: Invoice, now: dt.datetime) -> tuple[Any, ...]:
    """The ``bl_invoice`` values of an issued invoice, by ``INVOICE_COLUMNS`` (a mass run COPYs them)."""
    assert invoice.number is not None and invoice.uuid is not None
    return (
        invoice.number, invoice.uuid, invoice.kind, invoice.status, invoice.contract, invoice.account,
        invoice.opm, invoice.period_from, invoice.period_to, invoice.issue_date, invoice.due_date,
        invoice.total_base, invoice.total_vat, invoice.total, invoice.advances_paid, invoice.balance,
        invoice.corrects, None, msgspec.json.encode(invoice.settlement).decode(),
        [str(item) for item in invoice.documents], msgspec.json.encode(invoice.deposits).decode(),
        None if invoice.readings is None else msgspec.json.encode(invoice.readings).decode(), now,
    )


def invoice_copy_row(invoice: Invoice, stamp: bytes) -> bytes:
    """``invoice_record``'s values as a row of PostgreSQL's binary COPY (``store.copy_fields``; ``stamp``:
    ``timestamptz(now)``). A mass run stores its invoices so: the settlement's JSON goes as msgspec encoded
    it, where asyncpg took it as a ``str`` (decoded, then encoded again) and spent more on a numeric than on
    the rest of the row."""
    assert invoice.number is not None and invoice.uuid is not None
    return b"".join((
        _INVOICE_FIELDS, text(invoice.number), uuid_field(invoice.uuid), text(invoice.kind),
        text(invoice.status), text(invoice.contract), text(invoice.account), text(invoice.opm),
        date(invoice.period_from), date(invoice.period_to), date(invoice.issue_date), date(invoice.due_date),
        numeric(invoice.total_base), numeric(invoice.total_vat), numeric(invoice.total),
        numeric(invoice.advances_paid), numeric(invoice.balance), text(invoice.corrects), NULL,
        raw(msgspec.json.encode(invoice.settlement)),
        raw(msgspec.json.encode([str(item) for item in invoice.documents])),
        raw(msgspec.json.encode(invoice.deposits)),
        NULL if invoice.readings is None else raw(msgspec.json.encode(invoice.readings)), stamp,
    ))


def invoice_row(invoice: Invoice, now: dt.datetime) -> dict[str, Any]:
    """The ``bl_invoice`` row of an issued invoice."""
    return dict(zip(INVOICE_COLUMNS, invoice_record(invoice, now), strict=True))


def receivable_record(invoice: Invoice, now: dt.datetime) -> tuple[Any, ...]:
    """The receivable an issued settlement posts, by ``RECEIVABLE_COLUMNS``: its balance, due on its due
    date, open in full."""
    assert invoice.kind == "settlement"
    return (
        invoice.account, invoice.number, "invoice", invoice.balance, invoice.balance, invoice.due_date,
        None, now,
    )


def receivable_copy_row(invoice: Invoice, stamp: bytes) -> bytes:
    """``receivable_record``'s values as a row of PostgreSQL's binary COPY (as ``invoice_copy_row``)."""
    assert invoice.kind == "settlement" and invoice.number is not None
    balance = numeric(invoice.balance)
    return b"".join((
        _RECEIVABLE_FIELDS, text(invoice.account), text(invoice.number), _INVOICE_KIND, balance, balance,
        date(invoice.due_date), NULL, stamp,
    ))


def receivable_row(invoice: Invoice, now: dt.datetime) -> dict[str, Any]:
    """The ``bl_receivable`` row an issued settlement posts."""
    return dict(zip(RECEIVABLE_COLUMNS, receivable_record(invoice, now), strict=True))


async def reverse(conn: AsyncConnection, original: Invoice, credit_note: Invoice, now: dt.datetime) -> None:
    """Cancel ``original`` by ``credit_note``: its receivable is closed and reversed by the credit note's."""
    assert original.number is not None and credit_note.number is not None
    r = bl_receivable.c
    # ``Any``: the module is compiled and mypyc checks a result's rows against the stubs' tuple type.
    result: Any = await conn.execute(
        sa.select(r.amount, r.open_amount).where(r.document == original.number).with_for_update()
    )
    row = result.one()
    await conn.execute(sa.update(bl_receivable).where(r.document == original.number).values(open_amount=ZERO))
    await conn.execute(sa.insert(bl_receivable).values(
        account=original.account, document=credit_note.number, kind="credit_note", amount=-row.amount,
        open_amount=row.open_amount - row.amount, due_date=credit_note.due_date, paid_on=None, posted_at=now,
    ))
    await conn.execute(
        sa.update(bl_invoice).where(bl_invoice.c.number == original.number)
        .values(status="cancelled", cancelled_by=credit_note.number)
    )


async def account_ledger(conn: AsyncConnection, account: str) -> Ledger:
    """The account's receivables, newest first (at most ``LEDGER_ROWS_MAX``), and its totals."""
    r = bl_receivable.c
    sums: Any = await conn.execute(  # ``Any``: as in ``reverse``
        sa.select(sa.func.coalesce(sa.func.sum(r.amount), 0), sa.func.coalesce(sa.func.sum(r.open_amount), 0))
        .where(r.account == account)
    )
    totals = sums.one()
    rows: Any = await conn.execute(
        sa.select(bl_receivable).where(r.account == account)
        .order_by(r.posted_at.desc(), r.id.desc()).limit(LEDGER_ROWS_MAX)
    )
    receivables = [
        Receivable(
            document=row.document, kind=row.kind, amount=row.amount, open_amount=row.open_amount,
            due_date=row.due_date, posted_at=as_utc(row.posted_at), paid_on=row.paid_on,
        )
        for row in rows
    ]
    return Ledger(
        account=account, receivables=receivables, charged=Decimal(totals[0]).quantize(ZERO),
        open_total=Decimal(totals[1]).quantize(ZERO),
    )
