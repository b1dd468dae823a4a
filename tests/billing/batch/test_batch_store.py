"""``batch_ledger.store_invoices`` (on PostgreSQL a binary COPY of rows ``ledger.invoice_copy_row`` encodes,
elsewhere a multi-row INSERT) stores exactly the rows ``ledger.store_invoice`` stores for the same invoice,
whatever its texts hold (tabs, line ends, backslashes, quotes, diacritics), and reads back as the invoice it
was; a number stored twice is SQLAlchemy's ``IntegrityError``."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import msgspec
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.billing.batch_ledger import store_invoices
from gateway.billing.ledger import invoice_from, store_invoice
from gateway.billing.ledger_tables import invoice as bl_invoice
from gateway.billing.ledger_tables import receivable as bl_receivable
from schemas.billing.bill import Billed, Invoice
from schemas.billing.invoice import NonTaxedDeposit
from tests.billing.batch.support import bill_batch, request
from tests.billing.bill.support import NOW, read, supplied

AWKWARD = 'tab\there, line\nend, cr\r, back\\slash \\N, "quoted" \\t, Příliš žluťoučký kůň'
STORED_AT = dt.datetime(2027, 2, 1, 9, 30, 15, 250, tzinfo=dt.UTC)


async def _issued(engine: AsyncEngine) -> Invoice:
    parties = await supplied(engine)
    await read(engine, parties.opm, "2025-12-31", "1000")
    await read(engine, parties.opm, "2026-06-30", "2400")
    [outcome] = await bill_batch(engine, [request(parties.contract)])
    assert isinstance(outcome, Billed) and outcome.invoice.number is not None
    assert outcome.invoice.readings is not None and outcome.invoice.readings.meters  # stored as JSON too
    return outcome.invoice


def _awkward(invoice: Invoice, tag: str) -> Invoice:
    """The invoice under a number and contract of its own, its texts as awkward as they come."""
    settlement = invoice.settlement
    first = msgspec.structs.replace(settlement.lines[0], text=AWKWARD)
    deposit = NonTaxedDeposit(document_number="ZB1", variable_symbol=invoice.account,
                              paid_on=dt.date(2026, 2, 15), amount=Decimal("1500.00"))
    return msgspec.structs.replace(
        invoice, number=f"FVT{tag}\\\t", uuid=uuid.uuid4(), contract=f"K\t{tag}\\ž\n",
        settlement=msgspec.structs.replace(settlement, lines=[first, *settlement.lines[1:]]),
        documents=(uuid.UUID(int=7),), deposits=(deposit, *invoice.deposits),
        balance=Decimal("-1234.5"),  # a scale the column rounds to its own (-1234.50)
    )


def _without_keys(row: Any, *keys: str) -> dict[str, Any]:
    return {name: value for name, value in row._mapping.items() if name not in keys}


async def test_a_batch_stores_the_rows_a_single_bill_stores(engine: AsyncEngine) -> None:
    issued = await _issued(engine)
    batch, single = _awkward(issued, "1"), _awkward(issued, "2")
    async with engine.begin() as conn:
        await store_invoices(conn, [batch], STORED_AT)
        await store_invoice(conn, single, STORED_AT)
    async with engine.connect() as conn:
        invoices = {row.number: row for row in await conn.execute(
            sa.select(bl_invoice).where(bl_invoice.c.number.in_([batch.number, single.number]))
        )}
        receivables = {row.document: row for row in await conn.execute(
            sa.select(bl_receivable).where(bl_receivable.c.document.in_([batch.number, single.number]))
        )}
    assert batch.number is not None and single.number is not None
    assert _without_keys(invoices[batch.number], "number", "uuid", "contract") == _without_keys(
        invoices[single.number], "number", "uuid", "contract"
    )
    assert _without_keys(receivables[batch.number], "id", "document") == _without_keys(
        receivables[single.number], "id", "document"
    )
    stored = invoice_from(invoices[batch.number])
    assert stored == msgspec.structs.replace(batch, balance=Decimal("-1234.50"))
    assert str(stored.balance) == "-1234.50"
    assert invoices[batch.number].contract == batch.contract
    assert receivables[batch.number].amount == Decimal("-1234.50")
    # Without readings (a credit note's, an invoice from before they were kept): NULL either way.
    bare_batch, bare_single = (msgspec.structs.replace(_awkward(issued, tag), readings=None) for tag in "34")
    async with engine.begin() as conn:
        await store_invoices(conn, [bare_batch], STORED_AT)
        await store_invoice(conn, bare_single, STORED_AT)
        numbers = [bare_batch.number, bare_single.number]
        bare = (await conn.execute(sa.select(bl_invoice.c.number, bl_invoice.c.readings).where(
            bl_invoice.c.number.in_(numbers)))).all()
    assert sorted(bare) == sorted((number, None) for number in numbers)
    with pytest.raises(sa.exc.IntegrityError):
        async with engine.begin() as conn:
            await store_invoices(conn, [batch], NOW)
