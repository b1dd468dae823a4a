"""The advances a settlement deducts: paid parts of the account's advance requests due in the period, taxed
where a tax document for the received payment documents them (from ``gateway.billing.advances``)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.billing.advances.documents import issue_due
from gateway.billing.advances.mass import account_id_of
from gateway.billing.advances.payments import receive_advance_payment
from gateway.billing.bill_documents import SAMPLE_SUPPLIER
from gateway.billing.deposits import PaidRequest, deposits_of, paid_advances
from gateway.billing.invoices.isdoc_schema import validate_invoice
from gateway.clock import ManualClock
from gateway.masterdata.documents import read_content
from gateway.masterdata.filestore import FileStore
from gateway.process.calendar import WorkingCalendar
from schemas.billing.bill import Billed
from schemas.billing.invoice import NonTaxedDeposit, TaxedDeposit
from tests.billing.advances.support import NOW, regenerate_account, supplied
from tests.billing.bill import support as bill_support

WORKER = 9
DECEMBER = (dt.date(2026, 12, 1), dt.date(2026, 12, 31))
WINTER = (dt.date(2026, 12, 1), dt.date(2027, 1, 31))


def _taxed(number: str, amount: str) -> TaxedDeposit:
    total = Decimal(amount)
    base = (total / Decimal("1.21")).quantize(Decimal("0.01"))
    return TaxedDeposit(document_number=number, variable_symbol="1", paid_on=dt.date(2026, 3, 1),
                        vat_rate=Decimal(21), base=base, vat=total - base, amount=total)


def test_a_request_partly_documented_is_a_taxed_and_a_non_taxed_deposit() -> None:
    requests = [
        PaidRequest("ZF1", Decimal("1000.00"), dt.date(2026, 2, 15), dt.date(2026, 2, 10)),
        PaidRequest("ZF2", Decimal("500.00"), dt.date(2026, 3, 15), None),
    ]
    found = deposits_of("1", requests, {"ZF1": [_taxed("DZ1", "600.00")], "ZF2": [_taxed("DZ2", "500.00")]})
    assert found == [
        _taxed("DZ1", "600.00"),
        NonTaxedDeposit(document_number="ZF1", variable_symbol="1", paid_on=dt.date(2026, 2, 10),
                        amount=Decimal("400.00")),
        _taxed("DZ2", "500.00"),
    ]


async def _paid(engine: AsyncEngine, amount: str, *, tax_documents: bool) -> str:
    parties = await supplied(engine)
    await regenerate_account(engine, parties.account)
    async with engine.connect() as conn:
        account_id = await account_id_of(conn, parties.account)
    await issue_due(engine, ManualClock(NOW), SAMPLE_SUPPLIER, due_before=dt.date(2027, 1, 16), worker=WORKER,
                    account_id=account_id)
    async with engine.begin() as conn:
        await receive_advance_payment(
            conn, variable_symbol=parties.account, amount=Decimal(amount), received_on=NOW.date(),
            supplier=SAMPLE_SUPPLIER, worker=WORKER, now=NOW, calendar=WorkingCalendar(),
            issue_tax_documents=tax_documents,
        )
    return parties.account


async def test_received_advances_with_tax_documents_are_taxed_deposits(engine: AsyncEngine) -> None:
    account = await _paid(engine, "2000.00", tax_documents=True)
    async with engine.connect() as conn:
        winter = await paid_advances(conn, account, *WINTER)
        december = await paid_advances(conn, account, *DECEMBER)
    assert all(isinstance(deposit, TaxedDeposit) for deposit in winter)
    assert [deposit.amount for deposit in winter] == [Decimal("1579"), Decimal("421.00")]
    assert [deposit.amount for deposit in december] == [Decimal("1579")]
    taxed = winter[0]
    assert isinstance(taxed, TaxedDeposit)
    assert (taxed.vat_rate, taxed.base, taxed.vat, taxed.paid_on) == (
        Decimal(21), Decimal("1304.96"), Decimal("274.04"), NOW.date()
    )


async def test_received_advances_without_tax_documents_are_non_taxed(engine: AsyncEngine) -> None:
    account = await _paid(engine, "2000.00", tax_documents=False)
    async with engine.connect() as conn:
        winter = await paid_advances(conn, account, *WINTER)
    assert all(isinstance(deposit, NonTaxedDeposit) for deposit in winter)
    assert sum(deposit.amount for deposit in winter) == Decimal("2000.00")


async def test_a_bill_deducts_taxed_advances_and_its_isdoc_validates(
    engine: AsyncEngine, files: FileStore
) -> None:
    parties = await bill_support.supplied(engine)
    january = ManualClock(dt.datetime(2026, 1, 10, 9, 0, tzinfo=dt.UTC))
    await regenerate_account(engine, parties.account, clock=january)
    async with engine.connect() as conn:
        account_id = await account_id_of(conn, parties.account)
    await issue_due(engine, january, SAMPLE_SUPPLIER, due_before=dt.date(2026, 3, 16), worker=WORKER,
                    account_id=account_id)
    march = dt.datetime(2026, 3, 20, 9, 0, tzinfo=dt.UTC)
    async with engine.begin() as conn:
        applied, _ = await receive_advance_payment(
            conn, variable_symbol=parties.account, amount=Decimal("1000.00"), received_on=march.date(),
            supplier=SAMPLE_SUPPLIER, worker=WORKER, now=march, calendar=WorkingCalendar(),
        )
    await bill_support.read(engine, parties.opm, "2025-12-31", "1000")
    await bill_support.read(engine, parties.opm, "2026-06-30", "2500")

    outcome = await bill_support.bill(engine, files, parties.contract)

    assert isinstance(outcome, Billed)
    invoice = outcome.invoice
    assert invoice.advances_paid == Decimal("1000.00") and applied
    async with engine.connect() as conn:
        _, isdoc = await read_content(conn, files, invoice.documents[1])
    validate_invoice(isdoc)
    assert b"<TaxedDeposits>" in isdoc and applied[0].tax_document is not None
    assert applied[0].tax_document.encode() in isdoc
