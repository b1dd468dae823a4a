"""ISDOC 6.0.2: every generated document passes the official XSD and schematron (the generator validates
itself; the tests validate again and check the values), and the official samples pass the same loader."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from importlib import resources

import msgspec
import pytest
from lxml import etree

from gateway.billing.invoices.isdoc import isdoc_xml
from gateway.billing.invoices.isdoc_schema import (
    XPATH1_REWRITES,
    InvalidIsdoc,
    schematron_xpath1_text,
    validate_invoice,
)
from gateway.billing.invoices.qr_payment import domestic_account
from gateway.errors import InvalidField
from schemas.billing.invoice import InvoiceDocument
from tests.billing.invoices import support

NS = {"i": "http://isdoc.cz/namespace/2013"}
BUILDERS: list[Callable[[], InvoiceDocument]] = [
    support.settlement_invoice,
    support.credit_note,
    support.advance_request,
    support.advance_tax_document,
    lambda: support.settlement_invoice(support.BUSINESS),
]


def _text(root: etree._Element, path: str) -> str:
    found = root.findtext(path, namespaces=NS)
    assert found is not None, path
    return str(found)


@pytest.mark.parametrize("sample", ["sample.isdoc", "test001.isdoc"])
def test_official_samples_pass_the_same_loader(sample: str) -> None:
    validate_invoice(resources.files("schemas.isdoc").joinpath(sample).read_bytes())


def test_schematron_rewrites_each_match_once_and_rules_fire() -> None:
    text = schematron_xpath1_text()
    assert 'queryBinding="xslt"' in text and "every $" not in text and "distinct-values" not in text
    assert len(XPATH1_REWRITES) == 5
    sample = etree.fromstring(resources.files("schemas.isdoc").joinpath("test001.isdoc").read_bytes())
    sample.find("i:DocumentType", NS).text = "2"  # a credit note without the original's reference
    with pytest.raises(InvalidIsdoc) as caught:
        validate_invoice(sample)
    assert "schematron" in caught.value.reason and "OriginalDocumentReference" in str(caught.value.value)


@pytest.mark.parametrize("builder", BUILDERS)
def test_every_kind_validates(builder: Callable[[], InvoiceDocument]) -> None:
    document = builder()
    xml = isdoc_xml(document)
    validate_invoice(xml)
    root = etree.fromstring(xml)
    assert root.get("version") == "6.0.2"
    assert _text(root, "i:ID") == document.number
    assert _text(root, "i:UUID") == str(document.uuid).upper()
    kinds = {"settlement": "1", "credit_note": "2", "advance_request": "4", "advance_tax_document": "5"}
    assert _text(root, "i:DocumentType") == kinds[document.kind]
    assert Decimal(_text(root, "i:LegalMonetaryTotal/i:PayableAmount")) == document.settlement.balance
    lines = root.findall("i:InvoiceLines/i:InvoiceLine", NS)
    assert len(lines) == len(document.settlement.lines)
    assert [Decimal(_text(item, "i:LineExtensionAmount")) for item in lines] == [
        item.amount for item in document.settlement.lines
    ]


def test_settlement_totals_deposits_and_payment() -> None:
    document = support.settlement_invoice()
    root = etree.fromstring(isdoc_xml(document))
    settlement = document.settlement
    assert _text(root, "i:IssueDate") == _text(root, "i:TaxPointDate") == "2027-01-14"
    [subtotal] = root.findall("i:TaxTotal/i:TaxSubTotal", NS)
    assert Decimal(_text(subtotal, "i:TaxableAmount")) == settlement.vat[0].base
    assert Decimal(_text(subtotal, "i:TaxAmount")) == settlement.vat[0].vat
    assert Decimal(_text(subtotal, "i:AlreadyClaimedTaxableAmount")) == Decimal("4958.68")
    assert Decimal(_text(subtotal, "i:AlreadyClaimedTaxAmount")) == Decimal("1041.32")
    assert Decimal(_text(subtotal, "i:DifferenceTaxAmount")) == settlement.vat[0].vat - Decimal("1041.32")
    assert _text(subtotal, "i:TaxCategory/i:Percent") == "21"
    total = root.find("i:LegalMonetaryTotal", NS)
    assert Decimal(_text(total, "i:TaxInclusiveAmount")) == settlement.total
    assert Decimal(_text(total, "i:AlreadyClaimedTaxInclusiveAmount")) == Decimal("6000.00")
    assert Decimal(_text(total, "i:PaidDepositsAmount")) == Decimal("-3000.00")
    [untaxed] = root.findall("i:NonTaxedDeposits/i:NonTaxedDeposit", NS)
    assert (_text(untaxed, "i:ID"), _text(untaxed, "i:VariableSymbol")) == ("ZF202601000003", "1234567890")
    assert len(root.findall("i:TaxedDeposits/i:TaxedDeposit", NS)) == 2
    details = root.find("i:PaymentMeans/i:Payment/i:Details", NS)
    assert _text(details, "i:IBAN") == "CZ6508000000192000145399"
    assert (_text(details, "i:ID"), _text(details, "i:BankCode")) == ("19-2000145399", "0800")
    assert _text(details, "i:VariableSymbol") == "1234567890"
    assert _text(details, "i:PaymentDueDate") == "2027-01-28"
    customer = root.find("i:AccountingCustomerParty/i:Party", NS)
    assert _text(customer, "i:PartyName/i:Name") == "Jiří Šťastný"
    assert customer.find("i:PartyTaxScheme", NS) is None


def test_credit_note_refers_to_the_original_and_has_no_payment() -> None:
    document = support.credit_note()
    root = etree.fromstring(isdoc_xml(document))
    reference = root.find("i:OriginalDocumentReferences/i:OriginalDocumentReference", NS)
    assert _text(reference, "i:ID") == "FV202701000001"
    assert _text(reference, "i:UUID") == str(support.settlement_invoice().uuid).upper()
    assert all(
        item.find("i:OriginalDocumentReference", NS).get("ref") == reference.get("id")
        for item in root.findall("i:InvoiceLines/i:InvoiceLine", NS)
    )
    assert Decimal(_text(root, "i:LegalMonetaryTotal/i:PayableAmount")) < 0
    assert root.find("i:PaymentMeans", NS) is None


def test_advance_request_is_not_a_tax_document() -> None:
    root = etree.fromstring(isdoc_xml(support.advance_request()))
    assert _text(root, "i:VATApplicable") == "false"
    assert root.find("i:TaxPointDate", NS) is None
    assert _text(root, "i:AccountingCustomerParty/i:Party/i:PartyTaxScheme/i:CompanyID") == "CZ61858374"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: msgspec.structs.replace(d, deposits=d.deposits[:1]), "deposits"),
        (lambda d: msgspec.structs.replace(d, due_date=d.issue_date.replace(day=1)), "due_date"),
        (lambda d: msgspec.structs.replace(d, kind="credit_note"), "original"),
        (lambda d: msgspec.structs.replace(d, period_to=d.period_from.replace(year=2025)), "period_to"),
    ],
)
def test_refused_documents_name_the_field(
    change: Callable[[InvoiceDocument], InvoiceDocument], field: str
) -> None:
    with pytest.raises(InvalidField) as caught:
        isdoc_xml(change(support.settlement_invoice()))
    assert caught.value.field == field


def test_domestic_account_of_an_iban() -> None:
    assert domestic_account(support.SUPPLIER.bank_account) == ("19-2000145399", "0800")
    account = msgspec.structs.replace(support.SUPPLIER.bank_account, iban="CZ3103000000270016060243")
    assert domestic_account(account) == ("27-16060243", "0300")


def test_a_received_advance_is_split_from_the_top() -> None:
    """2,500 CZK received: VAT from the top is 2500 × 21/121 = 433.884 → 433.88 (base 2,066.12); from the
    base it would be 2066.12 × 0.21 = 433.885 → 433.89, a cent off what the document declares."""
    document = support.advance_tax_document()
    paid, base = Decimal("2500.00"), Decimal("2066.12")
    [line] = document.settlement.lines
    line = msgspec.structs.replace(line, unit_price=base, amount=base)
    settlement = msgspec.structs.replace(
        document.settlement, lines=[line], vat=[msgspec.structs.replace(document.settlement.vat[0], base=base,
                                                                          vat=paid - base)],
        total_base=base, total_vat=paid - base, total=paid, advances_paid=paid,
    )
    root = etree.fromstring(isdoc_xml(msgspec.structs.replace(document, settlement=settlement)))

    line_path = "i:InvoiceLines/i:InvoiceLine"
    assert _text(root, f"{line_path}/i:ClassifiedTaxCategory/i:VATCalculationMethod") == "1"
    assert _text(root, f"{line_path}/i:LineExtensionTaxAmount") == "433.88"
    assert _text(root, f"{line_path}/i:LineExtensionAmountTaxInclusive") == "2500.00"
    assert _text(root, f"{line_path}/i:UnitPriceTaxInclusive") == "2500.00"
    assert _text(root, "i:TaxTotal/i:TaxAmount") == "433.88"


def test_a_settlements_lines_are_from_the_base_and_its_taxed_deposits_from_the_top() -> None:
    root = etree.fromstring(isdoc_xml(support.settlement_invoice()))
    methods = {category.findtext("i:VATCalculationMethod", namespaces=NS)
               for category in root.iterfind("i:InvoiceLines/i:InvoiceLine/i:ClassifiedTaxCategory", NS)}
    deposits = [category.findtext("i:VATCalculationMethod", namespaces=NS)
                for category in root.iterfind("i:TaxedDeposits/i:TaxedDeposit/i:ClassifiedTaxCategory", NS)]
    assert methods == {"0"} and deposits and set(deposits) == {"1"}
