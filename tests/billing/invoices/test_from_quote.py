"""End to end with the real price calculator: its settlement (with the whole-CZK rounding line at 0 % VAT)
becomes an invoice whose ISDOC validates and whose PDF prints the lines and the balance."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import msgspec
import pytest
from lxml import etree

from gateway.billing.invoices.isdoc import isdoc_xml
from gateway.billing.invoices.pdf import render_invoice_pdf
from gateway.billing.invoices.texts import grouped
from schemas.billing.invoice import InvoiceDocument, NonTaxedDeposit
from tests.billing.invoices import support
from tests.billing.invoices.test_pdf import pdf_text
from tests.billing.quote.support import electricity, gas, settle

NS = {"i": "http://isdoc.cz/namespace/2013"}


def _plain(text: str) -> str:
    return text.replace("\u00a0", " ")  # pdf_text gives non-breaking spaces as spaces


@pytest.mark.parametrize("request_body", [electricity(), gas(advances_paid="5000.00")], ids=["power", "gas"])
def test_calculator_settlement_as_invoice(request_body: dict[str, Any]) -> None:
    settlement = settle(request_body)
    deposit = NonTaxedDeposit(
        document_number="ZF202601000009", variable_symbol="1234567890", paid_on=dt.date(2026, 6, 1),
        amount=settlement.advances_paid,
    )
    document: InvoiceDocument = msgspec.structs.replace(
        support.settlement_invoice(), settlement=settlement, deposits=[deposit] if deposit.amount else [],
        commodity=request_body["commodity"],
    )
    root = etree.fromstring(isdoc_xml(document))
    assert Decimal(root.findtext("i:LegalMonetaryTotal/i:PayableAmount", namespaces=NS) or "") == (
        settlement.balance
    )
    rates = [Decimal(rate) for rate in root.xpath("i:TaxTotal/i:TaxSubTotal/i:TaxCategory/i:Percent/text()",
                                                  namespaces=NS)]
    assert rates == [entry.rate for entry in settlement.vat]
    text = pdf_text(render_invoice_pdf(document))
    assert f"Celkem s DPH {_plain(grouped(settlement.total))} Kč" in text
    assert f"K úhradě: {_plain(grouped(settlement.balance))} Kč" in text
    if any(line.code == "ROUNDING" for line in settlement.lines):
        assert "Zaokrouhlení" in text
