"""Corrective re-billing after a reading correction: a credit note cancelling the bill in full (ISDOC type 2
referring to it), a new bill of the corrected consumption, and a ledger that nets out to the new bill."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.billing.invoices.isdoc_schema import validate_invoice
from gateway.billing.ledger import account_ledger, get_invoice
from gateway.errors import Conflict, InvalidField
from gateway.masterdata.documents import read_content
from gateway.masterdata.filestore import FileStore
from schemas.billing.bill import Billed, Outsorted
from tests.billing.bill.support import WORKER, add_advance, bill, read, rebill, series, supplied


async def test_a_corrected_reading_is_rebilled_by_a_credit_note_and_a_new_bill(
    engine: AsyncEngine, files: FileStore
) -> None:
    parties = await supplied(engine)
    await read(engine, parties.opm, "2025-12-31", "1000")
    await read(engine, parties.opm, "2026-06-30", "2500")
    await add_advance(engine, parties.account, "2026-03-15", "3000.00", "3000.00")
    first = await bill(engine, files, parties.contract)
    assert isinstance(first, Billed)
    corrected = await read(engine, parties.opm, "2026-06-30", "2300")
    assert corrected.status == "correction"

    rebilled = await rebill(engine, files, first.invoice.number or "")

    credit, outcome = rebilled.credit_note, rebilled.outcome
    assert credit is not None and isinstance(outcome, Billed)
    assert series(credit.number)[0] == f"DB2026{WORKER:02}" and credit.corrects == first.invoice.number
    assert credit.total == -first.invoice.total and credit.balance == -first.invoice.total
    assert all(
        (line.quantity, line.amount) == (-old.quantity, -old.amount)
        for line, old in zip(credit.settlement.lines, first.invoice.settlement.lines, strict=True)
    )
    new = outcome.invoice
    first_series, first_sequence = series(first.invoice.number)
    assert series(new.number) == (first_series, first_sequence + 1)
    assert {line.quantity for line in new.settlement.lines if line.unit == "MWh"} == {Decimal("1.300")}
    assert new.advances_paid == first.invoice.advances_paid == Decimal("3000.00")
    async with engine.connect() as conn:
        original = await get_invoice(conn, first.invoice.number or "")
        ledger = await account_ledger(conn, parties.account)
        _, isdoc = await read_content(conn, files, credit.documents[1])
    assert (original.status, original.cancelled_by) == ("cancelled", credit.number)
    validate_invoice(isdoc)
    assert b"<DocumentType>2</DocumentType>" in isdoc and (first.invoice.number or "").encode() in isdoc
    by_document = {item.document: item for item in ledger.receivables}
    assert by_document[credit.number or ""].amount == -first.invoice.balance
    assert by_document[first.invoice.number or ""].open_amount == 0
    # Open: the new bill only (the paid advance is deducted on it); charged: that and the advance request.
    assert ledger.open_total == new.balance
    assert ledger.charged == new.balance + Decimal("3000.00")


async def test_a_cancelled_or_credit_invoice_is_not_rebilled(engine: AsyncEngine, files: FileStore) -> None:
    parties = await supplied(engine)
    await read(engine, parties.opm, "2025-12-31", "1000")
    await read(engine, parties.opm, "2026-06-30", "2500")
    first = await bill(engine, files, parties.contract)
    assert isinstance(first, Billed) and first.invoice.number is not None
    rebilled = await rebill(engine, files, first.invoice.number)
    assert rebilled.credit_note is not None and rebilled.credit_note.number is not None

    with pytest.raises(Conflict, match="already cancelled"):
        await rebill(engine, files, first.invoice.number)
    with pytest.raises(InvalidField) as refused:
        await rebill(engine, files, rebilled.credit_note.number)
    assert refused.value.field == "invoice"


async def test_nothing_is_cancelled_when_the_new_bill_is_outsorted(
    engine: AsyncEngine, files: FileStore
) -> None:
    parties = await supplied(engine)
    await read(engine, parties.opm, "2025-12-31", "1000")
    await read(engine, parties.opm, "2026-06-30", "2500")
    first = await bill(engine, files, parties.contract)
    assert isinstance(first, Billed) and first.invoice.number is not None
    await read(engine, parties.opm, "2026-06-30", "900")  # corrected to below the start: implausible

    rebilled = await rebill(engine, files, first.invoice.number)

    assert rebilled.credit_note is None and isinstance(rebilled.outcome, Outsorted)
    async with engine.connect() as conn:
        assert (await get_invoice(conn, first.invoice.number)).status == "issued"
