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
from gateway.clock import ManualClock
from gateway.process.calendar import WorkingCalendar
from schemas.billing.invoice import NonTaxedDeposit, TaxedDeposit
from tests.billing.advances.support import NOW, regenerate_account, supplied

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
