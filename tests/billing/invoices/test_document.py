"""Checks of an invoice document before rendering: each refusal names the field and the value."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import msgspec
import pytest

from gateway.billing.invoices.document import check_document, deposit_totals, tax_point
from gateway.errors import InvalidField
from schemas.billing.invoice import TaxedDeposit
from tests.billing.invoices import support


def _refused(document: object) -> InvalidField:
    with pytest.raises(InvalidField) as caught:
        check_document(document)  # type: ignore[arg-type]
    return caught.value


def test_valid_documents_pass() -> None:
    for builder in (support.settlement_invoice, support.credit_note, support.advance_request):
        check_document(builder())
    check_document(support.advance_tax_document())


def test_tax_point_by_kind() -> None:
    assert tax_point(support.settlement_invoice()) == support.ISSUED
    assert tax_point(support.advance_request()) is None
    assert tax_point(support.advance_tax_document()) == dt.date(2027, 2, 10)


def test_deposit_totals_split_taxed_and_untaxed() -> None:
    totals = deposit_totals(support.settlement_invoice())
    assert totals.non_taxed == Decimal("3000.00")
    assert totals.taxed_base == {Decimal("21"): Decimal("4958.68")}
    assert totals.taxed_total == Decimal("6000.00")


def test_credit_note_that_raises_the_bill_is_refused() -> None:
    document = support.credit_note()
    error = _refused(msgspec.structs.replace(document, settlement=support.settlement_invoice().settlement))
    assert error.field in {"settlement.total", "deposits"}


def test_credit_note_positive_total_names_the_total() -> None:
    positive = support.settle(support.electricity_lines("0.100"))
    error = _refused(msgspec.structs.replace(support.credit_note(), settlement=positive))
    assert (error.field, error.value) == ("settlement.total", positive.total)


def test_advance_request_with_vat_is_refused() -> None:
    taxed = support.settle(support.electricity_lines("0.100"))
    error = _refused(msgspec.structs.replace(support.advance_request(), settlement=taxed))
    assert (error.field, error.value) == ("settlement.total_vat", taxed.total_vat)


def test_taxed_deposit_must_add_up() -> None:
    document = support.settlement_invoice()
    deposits = list(document.deposits)
    first = deposits[0]
    assert isinstance(first, TaxedDeposit)
    deposits[0] = msgspec.structs.replace(first, vat=Decimal("520.00"))
    error = _refused(msgspec.structs.replace(document, deposits=deposits))
    assert (error.field, error.value) == ("deposits[0].amount", Decimal("3000.00"))


def test_advance_tax_document_must_be_paid_in_full() -> None:
    document = support.advance_tax_document()
    unpaid = msgspec.structs.replace(
        document.settlement, advances_paid=Decimal("0"), balance=document.settlement.total
    )
    error = _refused(msgspec.structs.replace(document, settlement=unpaid))
    assert (error.field, error.value) == ("settlement.advances_paid", Decimal("0"))


def test_tax_point_on_an_advance_request_is_refused() -> None:
    error = _refused(msgspec.structs.replace(support.advance_request(), tax_point=support.ISSUED))
    assert (error.field, error.value) == ("tax_point", support.ISSUED)
