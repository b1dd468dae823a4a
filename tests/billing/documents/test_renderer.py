"""The document renderer on SQLite and PostgreSQL: an invoice the worker issued without documents gets its
PDF and ISDOC (valid, naming the invoice, the customer, the supplier of the settings and the advance it
deducted) filed once, their ids on the invoice, and ``billing.invoiced``; a redelivered request, or an
invoice that already has documents, is answered with the same ids and nothing is rendered again."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.billing.bill_documents import MEDIA_ISDOC, MEDIA_PDF, supplier_of
from gateway.billing.invoices.isdoc_schema import validate_invoice
from gateway.billing.ledger import get_invoice
from gateway.billing.run_tables import delivery as bl_delivery
from gateway.billing.topics import BILLING_ORDERS
from gateway.config import Settings
from gateway.errors import HandlerRejected
from gateway.masterdata import tables as md
from gateway.masterdata.documents import read_content
from gateway.masterdata.filestore import FileStore
from schemas.billing.bill import Billed
from schemas.billing.orders import Invoiced
from tests.billing.bill.support import bill, read, supplied
from tests.billing.documents.support import Issued, issued, render, send
from tests.billing.documents.test_sending import channels
from tests.billing.invoices.test_pdf import pdf_text

#: A supplier of the settings other than the SAMPLE one: the documents print what the settings say.
SETTINGS = Settings(
    supplier_name="Moravská energie a.s.", supplier_street="Údolní", supplier_house_number="567/33",
    supplier_city="Brno", supplier_postal_code="60200",
)


async def _documents_about(engine: AsyncEngine, title_part: str) -> int:
    async with engine.connect() as conn:
        title = md.document.c.title
        query = sa.select(sa.func.count()).select_from(md.document).where(title.contains(title_part))
        return int(await conn.scalar(query) or 0)


async def test_the_documents_are_rendered_once_after_the_bill(engine: AsyncEngine, files: FileStore) -> None:
    billed = await issued(engine)
    supplier = supplier_of(SETTINGS)

    [answer] = await render(engine, files, supplier, billed)

    assert (answer.topic, answer.key) == (BILLING_ORDERS.name, billed.order)
    assert isinstance(answer.payload, Invoiced)
    assert (answer.payload.order, answer.payload.invoice) == (billed.order, billed.invoice)
    async with engine.connect() as conn:
        invoice = await get_invoice(conn, billed.invoice)
        assert tuple(str(item) for item in invoice.documents) == answer.payload.documents
        contents = {}
        for document in invoice.documents:
            version, content = await read_content(conn, files, document)
            contents[version.media_type] = (version.filename, content)
    assert set(contents) == {MEDIA_PDF, MEDIA_ISDOC}
    assert contents[MEDIA_PDF][0] == f"{billed.invoice}.pdf"
    text = pdf_text(contents[MEDIA_PDF][1])
    assert billed.invoice in text and "Jana Nová" in text and billed.parties.opm in text
    assert "Moravská energie a.s." in text and "Údolní 567/33" in text and "(SAMPLE)" not in text
    isdoc = contents[MEDIA_ISDOC][1]
    validate_invoice(isdoc)
    assert f"<ID>{billed.invoice}</ID>".encode() in isdoc
    assert b"<NonTaxedDeposit>" in isdoc and b"<DepositAmount>1500.00</DepositAmount>" in isdoc
    assert await _documents_about(engine, billed.invoice) == 2


async def test_a_redelivered_request_is_answered_without_rendering_again(
    engine: AsyncEngine, files: FileStore
) -> None:
    billed = await issued(engine)
    supplier = supplier_of(Settings())
    [first] = await render(engine, files, supplier, billed)

    [again] = await render(engine, files, supplier, billed)

    assert isinstance(first.payload, Invoiced) and isinstance(again.payload, Invoiced)
    assert again.payload.documents == first.payload.documents
    assert await _documents_about(engine, billed.invoice) == 2  # no second PDF, no second ISDOC


async def test_an_invoice_billed_with_its_documents_keeps_them(engine: AsyncEngine, files: FileStore) -> None:
    """An individual bill (``bill_contract``, the API's) files its documents inline: the renderer answers
    with those."""
    parties = await supplied(engine)
    await read(engine, parties.opm, "2025-12-31", "1000")
    await read(engine, parties.opm, "2026-06-30", "1900")
    outcome = await bill(engine, files, parties.contract)
    assert isinstance(outcome, Billed) and outcome.invoice.number is not None
    inline = outcome.invoice.documents
    assert len(inline) == 2

    [answer] = await render(engine, files, supplier_of(Settings()), Issued(parties, outcome.invoice.number))

    assert isinstance(answer.payload, Invoiced)
    assert answer.payload.documents == tuple(str(item) for item in inline)
    assert await _documents_about(engine, outcome.invoice.number) == 2


async def test_an_invoice_is_rendered_and_sent_only_for_its_own_order(
    engine: AsyncEngine, files: FileStore, tmp_path: Path
) -> None:
    """A request naming our invoice number under another order (another database's numbers on a shared
    Kafka, a restored copy) is refused, naming both orders, and renders or sends nothing."""
    billed = await issued(engine)
    other = await supplied(engine)
    foreign = Issued(other, billed.invoice)  # the same number, another contract's order
    with pytest.raises(HandlerRejected, match=f"bill of order {billed.order}.*not of order {foreign.order}"):
        await render(engine, files, supplier_of(Settings()), foreign)
    assert await _documents_about(engine, billed.invoice) == 0
    await render(engine, files, supplier_of(Settings()), billed)
    with pytest.raises(HandlerRejected, match=f"not of order {foreign.order}"):
        await send(engine, files, channels(tmp_path), foreign)
    async with engine.connect() as conn:
        attempts = await conn.scalar(sa.select(sa.func.count()).select_from(bl_delivery).where(
            bl_delivery.c.document == billed.invoice))
    assert attempts == 0
