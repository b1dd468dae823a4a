"""Advance requests and tax documents for received advances: stored documents whose ISDOC validates
(type 4 without VAT, type 5 with the VAT split from the top), receivables in the account's ledger."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import msgspec
import pytest
import sqlalchemy as sa
from lxml import etree
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.billing.advances.documents import issue_due
from gateway.billing.advances.mass import account_id_of
from gateway.billing.advances.payments import receive_advance_payment
from gateway.billing.advances.tables import advance_document
from gateway.billing.bill_documents import SAMPLE_SUPPLIER
from gateway.billing.invoices.isdoc import isdoc_xml
from gateway.billing.invoices.pdf import render_invoice_pdf
from gateway.billing.ledger_tables import receivable
from gateway.clock import ManualClock
from gateway.errors import InvalidField
from gateway.process.calendar import WorkingCalendar
from schemas.billing.invoice import InvoiceDocument
from tests.billing.advances.support import NOW, active, regenerate_account, supplied

NS = {"i": "http://isdoc.cz/namespace/2013"}
WORKER = 4


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


async def _requested(engine: AsyncEngine, due_before: str = "2027-01-16") -> tuple[str, int]:
    """A supplied account with its schedule and the requests due before ``due_before`` issued."""
    parties = await supplied(engine)
    await regenerate_account(engine, parties.account)
    async with engine.connect() as conn:
        account_id = await account_id_of(conn, parties.account)
    summary = await issue_due(engine, ManualClock(NOW), SAMPLE_SUPPLIER, due_before=day(due_before),
                              worker=WORKER, account_id=account_id)
    return parties.account, summary.issued


async def _documents(engine: AsyncEngine, kind: str) -> dict[str, InvoiceDocument]:
    async with engine.connect() as conn:
        rows = await conn.execute(sa.select(advance_document.c.number, advance_document.c.document)
                                  .where(advance_document.c.kind == kind))
        return {row.number: msgspec.json.decode(row.document, type=InvoiceDocument) for row in rows}


async def _receivables(engine: AsyncEngine, account: str) -> list[Any]:
    async with engine.connect() as conn:
        return list((await conn.execute(
            sa.select(receivable).where(receivable.c.account == account).order_by(receivable.c.due_date)
        )).all())


async def _pay(engine: AsyncEngine, account: str, amount: str, **options: Any) -> Any:
    async with engine.begin() as conn:
        return await receive_advance_payment(
            conn, variable_symbol=account, amount=Decimal(amount), received_on=day("2026-11-30"),
            supplier=SAMPLE_SUPPLIER, worker=WORKER, now=NOW, calendar=WorkingCalendar(), **options,
        )


async def test_an_advance_request_is_a_receivable_and_not_a_tax_document(engine: AsyncEngine) -> None:
    account, issued = await _requested(engine)
    assert issued == 2
    schedule = await active(engine, account)
    first = schedule.instalments[0]
    assert (first.state, first.request_number is not None) == ("requested", True)
    assert first.request_number is not None and first.request_number.startswith(f"ZF2026{WORKER:02}")
    document = (await _documents(engine, "advance_request"))[first.request_number]
    assert (document.settlement.total, document.settlement.total_vat) == (Decimal("1579"), Decimal("0"))
    assert (document.due_date, document.variable_symbol) == (day("2026-12-15"), account)
    assert document.tax_point is None
    root = etree.fromstring(isdoc_xml(document))  # validated against the XSD and the schematron
    assert root.findtext("i:DocumentType", namespaces=NS) == "4"
    assert root.findtext("i:VATApplicable", namespaces=NS) == "false"
    assert root.find("i:TaxPointDate", NS) is None
    assert render_invoice_pdf(document).startswith(b"%PDF")
    rows = await _receivables(engine, account)
    assert (rows[0].document, rows[0].kind, rows[0].amount, rows[0].open_amount) == (
        first.request_number, "advance_request", Decimal("1579"), Decimal("1579"))
    # Issuing again issues nothing twice.
    async with engine.connect() as conn:
        account_id = await account_id_of(conn, account)
    again = await issue_due(engine, ManualClock(NOW), SAMPLE_SUPPLIER, due_before=day("2027-01-16"),
                            worker=WORKER, account_id=account_id)
    assert again.issued == 0


async def test_a_received_advance_gets_a_tax_document_with_the_vat_inside(engine: AsyncEngine) -> None:
    account, _ = await _requested(engine)
    applied, rest = await _pay(engine, account, "2000.00")
    # 1579 closes December's request, 421 goes to January's: a tax document for each part received.
    assert [item.amount for item in applied] == [Decimal("1579"), Decimal("421.00")] and rest == 0
    documents = await _documents(engine, "advance_tax_document")
    first = documents[applied[0].tax_document or ""]
    # 1579 / 1.21 = 1304.9587 → base 1304.96, VAT 274.04: together exactly what was received.
    recap = first.settlement.vat[0]
    assert (recap.rate, recap.base, recap.vat) == (Decimal("21"), Decimal("1304.96"), Decimal("274.04"))
    assert (first.settlement.total, first.settlement.balance, first.tax_point) == (
        Decimal("1579"), Decimal("0"), day("2026-11-30"))
    assert first.number.startswith(f"DZ2026{WORKER:02}")
    root = etree.fromstring(isdoc_xml(first))
    assert root.findtext("i:DocumentType", namespaces=NS) == "5"
    assert root.findtext("i:TaxPointDate", namespaces=NS) == "2026-11-30"
    assert root.findtext("i:TaxTotal/i:TaxAmount", namespaces=NS) == "274.04"
    second = documents[applied[1].tax_document or ""]
    # 421 / 1.21 = 347.9339 → 347.93 + 73.07.
    base_and_vat = (second.settlement.total_base, second.settlement.total_vat)
    assert base_and_vat == (Decimal("347.93"), Decimal("73.07"))
    schedule = await active(engine, account)
    assert [item.state for item in schedule.instalments[:3]] == ["paid", "requested", "planned"]
    assert schedule.instalments[1].paid_amount == Decimal("421.00")
    assert schedule.instalments[0].tax_documents == [first.number]
    opened = [(row.open_amount, row.paid_on) for row in await _receivables(engine, account)]
    assert opened == [(Decimal("0"), day("2026-11-30")), (Decimal("1158"), day("2026-11-30"))]


async def test_what_no_request_takes_is_returned_and_the_policy_can_be_off(engine: AsyncEngine) -> None:
    account, _ = await _requested(engine, due_before="2026-12-16")
    applied, rest = await _pay(engine, account, "2000.00", issue_tax_documents=False)
    assert ([item.amount for item in applied], rest) == ([Decimal("1579")], Decimal("421.00"))
    assert applied[0].tax_document is None
    with pytest.raises(InvalidField) as caught:
        await _pay(engine, account, "-5.00")
    assert (caught.value.field, caught.value.value) == ("amount", Decimal("-5.00"))

