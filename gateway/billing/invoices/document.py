"""Checks of an ``InvoiceDocument`` before anything is rendered, and the sums every rendering shares.

The settlement arrives computed (the calculator owns its rounding); what is checked here is what the invoice
adds around it: the deposits must add up to the advances the settlement deducted, a credit note must name
the invoice it corrects, an advance request carries no VAT, dates run forwards. Each failure is an
``InvalidField`` naming the field and the value, so a refused document says what to fix.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Final

import msgspec

from gateway.errors import InvalidField
from schemas.billing.invoice import (
    TAX_DOCUMENT_KINDS,
    InvoiceDocument,
    NonTaxedDeposit,
    TaxedDeposit,
)

#: A bill is payable within this many days at most; a longer term is a data error, not a business choice.
PAYMENT_TERM_DAYS_MAX: Final = 90
#: Lines on one invoice: far above any energy bill (components x price periods), bounds the PDF and XML.
INVOICE_LINES_MAX: Final = 500
ZERO: Final = Decimal("0")
CENT: Final = Decimal("0.01")


class DepositTotals(msgspec.Struct, frozen=True, kw_only=True):
    """Advances by how they were documented: taxed (per VAT rate: base, VAT, total) and non-taxed."""

    non_taxed: Decimal
    taxed_base: dict[Decimal, Decimal]
    taxed_vat: dict[Decimal, Decimal]
    taxed_amount: dict[Decimal, Decimal]

    @property
    def taxed_total(self) -> Decimal:
        return sum(self.taxed_amount.values(), ZERO)

    @property
    def taxed_base_total(self) -> Decimal:
        return sum(self.taxed_base.values(), ZERO)


def deposit_totals(document: InvoiceDocument) -> DepositTotals:
    non_taxed = ZERO
    base: dict[Decimal, Decimal] = {}
    vat: dict[Decimal, Decimal] = {}
    amount: dict[Decimal, Decimal] = {}
    for deposit in document.deposits:
        if isinstance(deposit, NonTaxedDeposit):
            non_taxed += deposit.amount
            continue
        rate = deposit.vat_rate.normalize()
        base[rate] = base.get(rate, ZERO) + deposit.base
        vat[rate] = vat.get(rate, ZERO) + deposit.vat
        amount[rate] = amount.get(rate, ZERO) + deposit.amount
    return DepositTotals(non_taxed=non_taxed, taxed_base=base, taxed_vat=vat, taxed_amount=amount)


def tax_point(document: InvoiceDocument) -> dt.date | None:
    """The DUZP printed and written: none for an advance request (not a tax document); the issue date for a
    settlement and its credit note unless stated otherwise (since 2024, czech-finance-formats §7)."""
    if document.kind not in TAX_DOCUMENT_KINDS:
        return None
    return document.tax_point or document.issue_date


def check_document(document: InvoiceDocument) -> None:
    """Raise ``InvalidField`` for the first thing in ``document`` that cannot be issued as it is."""
    _check_dates(document)
    _check_kind(document)
    _check_settlement(document)
    _check_deposits(document)


def _check_dates(document: InvoiceDocument) -> None:
    if document.period_to < document.period_from:
        raise InvalidField("period_to", document.period_to, f"is before period_from {document.period_from}")
    if document.due_date < document.issue_date:
        raise InvalidField("due_date", document.due_date, f"is before issue_date {document.issue_date}")
    if (document.due_date - document.issue_date).days > PAYMENT_TERM_DAYS_MAX:
        raise InvalidField(
            "due_date", document.due_date, f"is more than {PAYMENT_TERM_DAYS_MAX} days after issue_date"
        )
    if document.tax_point is not None and document.kind not in TAX_DOCUMENT_KINDS:
        raise InvalidField("tax_point", document.tax_point, f"a {document.kind} is not a tax document")


def _check_kind(document: InvoiceDocument) -> None:
    if document.kind == "credit_note":
        if document.original is None:
            raise InvalidField("original", None, "a credit note must name the invoice it corrects")
        if document.settlement.total > 0:
            raise InvalidField(
                "settlement.total", document.settlement.total,
                "a credit note lowers the bill (negative or zero); a higher bill is a new invoice",
            )
    elif document.original is not None:
        raise InvalidField(
            "original", document.original.number, f"only a credit note has one, not a {document.kind}"
        )
    if document.kind == "advance_request" and document.settlement.total_vat != 0:
        raise InvalidField(
            "settlement.total_vat", document.settlement.total_vat,
            "an advance request is not a tax document and carries no VAT",
        )


def _check_settlement(document: InvoiceDocument) -> None:
    settlement = document.settlement
    if not 1 <= len(settlement.lines) <= INVOICE_LINES_MAX:
        raise InvalidField(
            "settlement.lines", len(settlement.lines), f"must be 1 to {INVOICE_LINES_MAX} lines"
        )
    if settlement.total != settlement.total_base + settlement.total_vat:
        raise InvalidField("settlement.total", settlement.total, "is not total_base + total_vat")
    if settlement.balance != settlement.total - settlement.advances_paid:
        raise InvalidField("settlement.balance", settlement.balance, "is not total - advances_paid")
    for index, line in enumerate(settlement.lines):
        if line.amount != line.amount.quantize(CENT):
            raise InvalidField(f"settlement.lines[{index}].amount", line.amount, "has more than 2 decimals")


def _check_deposits(document: InvoiceDocument) -> None:
    settlement = document.settlement
    if document.kind == "advance_tax_document":
        # The document states a payment received: it is paid in full by definition.
        if document.deposits or settlement.advances_paid != settlement.total:
            raise InvalidField(
                "settlement.advances_paid", settlement.advances_paid,
                f"a tax document for a received payment is paid in full ({settlement.total}), no deposits",
            )
        return
    paid = sum((deposit.amount for deposit in document.deposits), ZERO)
    if paid != settlement.advances_paid:
        deducted = settlement.advances_paid
        raise InvalidField("deposits", paid, f"add up to {paid}, the settlement deducts {deducted}")
    for index, deposit in enumerate(document.deposits):
        if document.kind != "settlement":
            raise InvalidField(
                f"deposits[{index}]", deposit.document_number, "only a settlement deducts advances"
            )
        if isinstance(deposit, TaxedDeposit) and deposit.amount != deposit.base + deposit.vat:
            raise InvalidField(f"deposits[{index}].amount", deposit.amount, "is not base + vat")
