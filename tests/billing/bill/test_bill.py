"""Billing one contract: from master data and readings entered through ``record_reading`` to an issued
invoice with its PDF and ISDOC filed and its balance posted, idempotently; on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.billing.advances.views import account_advances
from gateway.billing.invoices.isdoc_schema import validate_invoice
from gateway.billing.ledger import account_ledger, get_invoice
from gateway.billing.ledger_tables import invoice as bl_invoice
from gateway.billing.ledger_tables import receivable as bl_receivable
from gateway.masterdata.documents import get_document, read_content
from gateway.masterdata.filestore import FileStore
from schemas.billing.bill import Billed
from tests.billing.bill.support import (
    NOW,
    WORKER,
    add_advance,
    bill,
    day,
    read,
    series,
    supplied,
    supplied_gas,
)
from tests.billing.invoices.test_pdf import pdf_text


async def _count(engine: AsyncEngine, table: sa.Table, **where: object) -> int:
    async with engine.connect() as conn:
        query = sa.select(sa.func.count()).select_from(table)
        for name, value in where.items():
            query = query.where(table.c[name] == value)
        return int(await conn.scalar(query) or 0)


async def test_a_contract_is_billed_with_documents_filed_and_its_balance_posted(
    engine: AsyncEngine, files: FileStore
) -> None:
    parties = await supplied(engine)
    await read(engine, parties.opm, "2025-12-31", "1000")
    await read(engine, parties.opm, "2026-06-30", "2500")
    await add_advance(engine, parties.account, "2026-02-15", "1500.00", "1500.00")
    await add_advance(engine, parties.account, "2026-05-15", "1500.00", "500.00")
    await add_advance(engine, parties.account, "2026-08-15", "1500.00", "1500.00")

    outcome = await bill(engine, files, parties.contract)

    assert isinstance(outcome, Billed) and not outcome.repeated
    invoice = outcome.invoice
    number = invoice.number
    assert number is not None and series(number)[0] == f"FV2026{WORKER:02}"
    assert (invoice.kind, invoice.status, invoice.account, invoice.opm) == (
        "settlement", "issued", parties.account, parties.opm
    )
    assert invoice.issue_date == NOW.date() and invoice.due_date == day("2026-12-14")
    energy = [line for line in invoice.settlement.lines if line.unit == "MWh"]
    assert energy and all(line.quantity == Decimal("1.500") for line in energy)
    # Paid advances due in the period only: 1,500 + 500 (the August one is after the period).
    assert invoice.advances_paid == Decimal("2000.00")
    assert invoice.balance == invoice.total - Decimal("2000.00")
    async with engine.connect() as conn:
        stored = await get_invoice(conn, number)
        assert stored == invoice
        ledger = await account_ledger(conn, parties.account)
        posted = next(item for item in ledger.receivables if item.document == invoice.number)
        assert (posted.kind, posted.amount, posted.open_amount, posted.due_date) == (
            "invoice", invoice.balance, invoice.balance, invoice.due_date
        )
        pdf_id, isdoc_id = invoice.documents
        pdf_version, pdf = await read_content(conn, files, pdf_id)
        isdoc_version, isdoc = await read_content(conn, files, isdoc_id)
        document = await get_document(conn, isdoc_id)
    assert pdf.startswith(b"%PDF-") and pdf_version.filename == f"{invoice.number}.pdf"
    text = pdf_text(pdf)
    assert number in text and parties.opm in text and parties.account in text and "Jana Nová" in text
    assert isdoc_version.media_type == "application/xml"
    validate_invoice(isdoc)
    assert number.encode() in isdoc and b"<DocumentType>1</DocumentType>" in isdoc
    assert document.kind == "invoice"
    # The advances follow the settled consumption from the next month.
    async with engine.connect() as conn:
        schedules = (await account_advances(conn, parties.account)).schedules
    assert [(item.reason, item.consumption_source) for item in schedules] == [("settlement", "settlement")]
    assert {(ref.entity, ref.key) for ref in document.links} == {
        ("contract", parties.contract), ("account", parties.account), ("customer", parties.customer),
        ("opm", parties.opm),
    }


async def test_billing_again_returns_the_issued_invoice(engine: AsyncEngine, files: FileStore) -> None:
    parties = await supplied(engine)
    await read(engine, parties.opm, "2025-12-31", "1000")
    await read(engine, parties.opm, "2026-06-30", "2500")
    first = await bill(engine, files, parties.contract)
    await read(engine, parties.opm, "2026-06-30", "2600")  # a correction does not re-bill by itself

    again = await bill(engine, files, parties.contract)

    assert isinstance(first, Billed) and isinstance(again, Billed)
    assert again.repeated and again.invoice == first.invoice
    assert await _count(engine, bl_invoice, contract=parties.contract) == 1
    assert await _count(engine, bl_receivable, account=parties.account) == 1


async def test_a_dry_run_prices_without_storing(engine: AsyncEngine, files: FileStore) -> None:
    parties = await supplied(engine)
    await read(engine, parties.opm, "2025-12-31", "1000")
    await read(engine, parties.opm, "2026-06-30", "2500")

    outcome = await bill(engine, files, parties.contract, issue=False)

    assert isinstance(outcome, Billed) and outcome.invoice.number is None and not outcome.invoice.documents
    assert outcome.invoice.total > 0
    assert await _count(engine, bl_invoice, contract=parties.contract) == 0


async def test_a_gas_contract_is_billed_in_kwh_from_cubic_metres(
    engine: AsyncEngine, files: FileStore
) -> None:
    parties = await supplied_gas(engine)
    await read(engine, parties.opm, "2025-12-31", "100")
    await read(engine, parties.opm, "2026-06-30", "600")

    outcome = await bill(engine, files, parties.contract)

    assert isinstance(outcome, Billed) and outcome.invoice.number is not None
    # 500 m³ shared to January … June by days, each month's m³ × GasNet's SAMPLE calorific value of that month
    # (rules/prices/sample-2026/dso-GASNET.toml, 10.5498 kWh/m³ on average) = 5,274.89 → 5,275 kWh.
    energy = {line.quantity for line in outcome.invoice.settlement.lines if line.unit == "MWh"}
    assert energy == {Decimal("5.275")}
    # A household: no gas tax line.
    assert not [line for line in outcome.invoice.settlement.lines if "daň" in line.text.lower()]
    async with engine.connect() as conn:
        _, isdoc = await read_content(conn, files, outcome.invoice.documents[1])
    validate_invoice(isdoc)


async def test_concurrent_bills_of_one_contract_issue_one_invoice(
    engine: AsyncEngine, files: FileStore
) -> None:
    parties = await supplied(engine)
    await read(engine, parties.opm, "2025-12-31", "1000")
    await read(engine, parties.opm, "2026-06-30", "2500")

    outcomes = await asyncio.gather(*(bill(engine, files, parties.contract) for _ in range(4)))

    assert all(isinstance(outcome, Billed) for outcome in outcomes)
    billed = [outcome for outcome in outcomes if isinstance(outcome, Billed)]
    assert len({outcome.invoice.number for outcome in billed}) == 1
    assert [outcome.repeated for outcome in billed].count(False) == 1
    assert await _count(engine, bl_invoice, contract=parties.contract) == 1
