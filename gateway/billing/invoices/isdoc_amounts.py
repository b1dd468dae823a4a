"""The money parts of an ISDOC invoice: lines, deposits, ``TaxTotal`` and ``LegalMonetaryTotal``.

Amounts are the settlement's, unchanged; only what ISDOC asks for beyond them is derived here: a line's VAT
(its amount x rate, half-up to 0.01, VATCalculationMethod 0 = from the base) and the tax-inclusive unit
price, which are informative (the VAT owed is the recap's, per rate, as the settlement computed it), and
the advances split into what was already taxed (``AlreadyClaimed*``) and the rest (``PaidDepositsAmount``).

A tax document for a received advance (``advance_tax_document``) splits the amount received from the top
("shora": VAT = amount × rate ÷ (100 + rate), ``advances.plan.received_vat``): its one line says so
(VATCalculationMethod 1) and carries the recap's VAT, which is what the document declares; a taxed deposit
deducted on a settlement was split the same way, so its category says 1 too.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Final

from lxml import etree

from gateway.billing.invoices.document import CENT, ZERO, DepositTotals, deposit_totals
from schemas.billing.invoice import TAX_DOCUMENT_KINDS, InvoiceDocument, NonTaxedDeposit, TaxedDeposit
from schemas.billing.settlement import SettlementLine

NS: Final = "http://isdoc.cz/namespace/2013"
#: Decimals of the tax-inclusive unit price: enough that quantity x price meets the line within a cent.
UNIT_PRICE_DECIMALS: Final = Decimal("0.000001")
#: VATCalculationMethod 0: VAT computed from the base ("zdola"), as the settlement does.
VAT_FROM_BASE: Final = "0"
#: VATCalculationMethod 1: VAT split from the amount with VAT ("shora"), as a received advance is.
VAT_FROM_TOP: Final = "1"
ORIGINAL_REFERENCE_ID: Final = "original"
_HUNDRED = Decimal(100)


def sub(parent: etree._Element, name: str, text: object | None = None, **attributes: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{NS}}}{name}", attributes)
    if text is not None:
        element.text = amount(text) if isinstance(text, Decimal) else str(text)
    return element


def amount(value: Decimal) -> str:
    """A decimal as ISDOC writes it: plain notation, no exponent, the value's own scale."""
    return f"{value:f}"


def line_vat(line: SettlementLine) -> Decimal:
    return (line.amount * line.vat_rate / _HUNDRED).quantize(CENT, rounding=ROUND_HALF_UP)


def unit_price_tax_inclusive(line: SettlementLine) -> Decimal:
    """The unit price with VAT to 6 decimals, shown with 2 when the rest are zeros (``3496.90``)."""
    return _short(line.unit_price * (_HUNDRED + line.vat_rate) / _HUNDRED)


def _short(price: Decimal) -> Decimal:
    """``price`` to 6 decimals, shown with 2 when the rest are zeros."""
    exact = price.quantize(UNIT_PRICE_DECIMALS, rounding=ROUND_HALF_UP)
    short = exact.quantize(CENT)
    return short if short == exact else exact.normalize()


def line_vats(document: InvoiceDocument) -> tuple[str, list[Decimal]]:
    """The VAT calculation method of the document's lines and each line's VAT (module docstring)."""
    lines = document.settlement.lines
    if document.kind != "advance_tax_document":
        return VAT_FROM_BASE, [line_vat(line) for line in lines]
    assert len(lines) == 1, "a tax document documents one received payment"
    return VAT_FROM_TOP, [document.settlement.total_vat]


def write_lines(root: etree._Element, document: InvoiceDocument) -> None:
    vat_applicable = "true" if document.kind in TAX_DOCUMENT_KINDS else "false"
    lines = sub(root, "InvoiceLines")
    method, vats = line_vats(document)
    for index, (item, vat) in enumerate(zip(document.settlement.lines, vats, strict=True), start=1):
        line = sub(lines, "InvoiceLine")
        sub(line, "ID", index)
        if document.original is not None:
            sub(line, "OriginalDocumentReference", ref=ORIGINAL_REFERENCE_ID)
        sub(line, "InvoicedQuantity", item.quantity, unitCode=item.unit)
        sub(line, "LineExtensionAmount", item.amount)
        sub(line, "LineExtensionAmountTaxInclusive", item.amount + vat)
        sub(line, "LineExtensionTaxAmount", vat)
        sub(line, "UnitPrice", item.unit_price)
        if method == VAT_FROM_TOP:  # the amount with VAT is what was received: 1 CZK × the payment
            sub(line, "UnitPriceTaxInclusive", _short((item.amount + vat) / item.quantity))
        else:
            sub(line, "UnitPriceTaxInclusive", unit_price_tax_inclusive(item))
        category = sub(line, "ClassifiedTaxCategory")
        sub(category, "Percent", item.vat_rate)
        sub(category, "VATCalculationMethod", method)
        sub(category, "VATApplicable", vat_applicable)
        sub(line, "Note", f"{item.period_from.isoformat()} – {item.period_to.isoformat()}")
        described = sub(line, "Item")
        sub(described, "Description", item.text)
        sub(sub(described, "SellersItemIdentification"), "ID", item.code)


def write_deposits(root: etree._Element, document: InvoiceDocument) -> None:
    non_taxed = [deposit for deposit in document.deposits if isinstance(deposit, NonTaxedDeposit)]
    taxed = [deposit for deposit in document.deposits if isinstance(deposit, TaxedDeposit)]
    if non_taxed:
        group = sub(root, "NonTaxedDeposits")
        for deposit in non_taxed:
            entry = sub(group, "NonTaxedDeposit")
            sub(entry, "ID", deposit.document_number)
            sub(entry, "VariableSymbol", deposit.variable_symbol)
            sub(entry, "DepositAmount", deposit.amount)
    if taxed:
        group = sub(root, "TaxedDeposits")
        for item in taxed:
            entry = sub(group, "TaxedDeposit")
            sub(entry, "ID", item.document_number)
            sub(entry, "VariableSymbol", item.variable_symbol)
            sub(entry, "TaxableDepositAmount", item.base)
            sub(entry, "TaxInclusiveDepositAmount", item.amount)
            category = sub(entry, "ClassifiedTaxCategory")
            sub(category, "Percent", item.vat_rate)
            sub(category, "VATCalculationMethod", VAT_FROM_TOP)


def write_tax_total(root: etree._Element, document: InvoiceDocument, deposits: DepositTotals) -> None:
    """One ``TaxSubTotal`` per VAT rate of the recap or of a taxed deposit; ``TaxAmount`` of the whole is
    the VAT still to declare (the recap's VAT less what the advances' tax documents declared), as in the
    official sample."""
    recap = {item.rate.normalize(): item for item in document.settlement.vat}
    rates = sorted(set(recap) | set(deposits.taxed_base), reverse=True)
    total = sub(root, "TaxTotal")
    still_due = ZERO
    for rate in rates:
        base = recap[rate].base if rate in recap else ZERO
        vat = recap[rate].vat if rate in recap else ZERO
        claimed_base = deposits.taxed_base.get(rate, ZERO)
        claimed_vat = deposits.taxed_vat.get(rate, ZERO)
        subtotal = sub(total, "TaxSubTotal")
        sub(subtotal, "TaxableAmount", base)
        sub(subtotal, "TaxAmount", vat)
        sub(subtotal, "TaxInclusiveAmount", base + vat)
        sub(subtotal, "AlreadyClaimedTaxableAmount", claimed_base)
        sub(subtotal, "AlreadyClaimedTaxAmount", claimed_vat)
        sub(subtotal, "AlreadyClaimedTaxInclusiveAmount", claimed_base + claimed_vat)
        sub(subtotal, "DifferenceTaxableAmount", base - claimed_base)
        sub(subtotal, "DifferenceTaxAmount", vat - claimed_vat)
        sub(subtotal, "DifferenceTaxInclusiveAmount", base + vat - claimed_base - claimed_vat)
        sub(sub(subtotal, "TaxCategory"), "Percent", rate)
        still_due += vat - claimed_vat
    sub(total, "TaxAmount", still_due)


def write_monetary_total(root: etree._Element, document: InvoiceDocument, deposits: DepositTotals) -> None:
    """``PayableAmount`` = ``DifferenceTaxInclusiveAmount`` + ``PaidDepositsAmount``, the advances paid
    without a tax document written negative as in the official sample; it equals the settlement's balance.
    (A tax document for a received payment counts that payment here: paid in full, nothing payable.)"""
    settlement = document.settlement
    claimed_base = deposits.taxed_base_total
    claimed_total = deposits.taxed_total
    paid_untaxed = settlement.advances_paid - claimed_total
    payable = settlement.total - claimed_total - paid_untaxed
    assert payable == settlement.balance, (payable, settlement.balance)
    total = sub(root, "LegalMonetaryTotal")
    sub(total, "TaxExclusiveAmount", settlement.total_base)
    sub(total, "TaxInclusiveAmount", settlement.total)
    sub(total, "AlreadyClaimedTaxExclusiveAmount", claimed_base)
    sub(total, "AlreadyClaimedTaxInclusiveAmount", claimed_total)
    sub(total, "DifferenceTaxExclusiveAmount", settlement.total_base - claimed_base)
    sub(total, "DifferenceTaxInclusiveAmount", settlement.total - claimed_total)
    sub(total, "PaidDepositsAmount", -paid_untaxed)
    sub(total, "PayableAmount", payable)


def write_amounts(root: etree._Element, document: InvoiceDocument) -> None:
    """Lines, deposits and totals, in the XSD's order."""
    deposits = deposit_totals(document)
    write_lines(root, document)
    write_deposits(root, document)
    write_tax_total(root, document, deposits)
    write_monetary_total(root, document, deposits)
