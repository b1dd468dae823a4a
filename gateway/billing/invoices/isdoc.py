"""An invoice document as ISDOC 6.0.2 XML (``Invoice`` in ``http://isdoc.cz/namespace/2013``).

Elements are written in the XSD's order (czech-finance-formats §4); ``docs/invoices.md`` maps each one to
its source. Every document is validated against the official XSD and schematron before it is returned: an
invalid ISDOC is a bug here, and must never reach a customer's accounting system.
"""

from __future__ import annotations

from typing import Final

from lxml import etree

from gateway.billing.invoices.document import check_document, tax_point
from gateway.billing.invoices.isdoc_amounts import NS, ORIGINAL_REFERENCE_ID, sub, write_amounts
from gateway.billing.invoices.isdoc_schema import validate_invoice
from gateway.billing.invoices.qr_payment import domestic_account
from gateway.billing.invoices.texts import document_title, period_text
from schemas.billing.invoice import (
    ISDOC_DOCUMENT_TYPES,
    TAX_DOCUMENT_KINDS,
    Customer,
    InvoiceDocument,
    Supplier,
)
from schemas.masterdata.common import Address

ISDOC_VERSION: Final = "6.0.2"
LOCAL_CURRENCY: Final = "CZK"
ISSUING_SYSTEM: Final = "proud"
#: PaymentMeansCode 42: payment to a bank account (czech-finance-formats §4).
BANK_TRANSFER: Final = "42"
COUNTRY_NAMES: Final[dict[str, str]] = {"CZ": "Česká republika", "SK": "Slovensko"}


def isdoc_xml(document: InvoiceDocument) -> bytes:
    """The ISDOC of ``document``, UTF-8 with an XML declaration, validated."""
    check_document(document)
    root = etree.Element(f"{{{NS}}}Invoice", nsmap={None: NS}, version=ISDOC_VERSION)
    _write_header(root, document)
    _write_party(sub(root, "AccountingSupplierParty"), _supplier_identification(document.supplier))
    _write_party(sub(root, "AccountingCustomerParty"), _customer_identification(document.customer))
    _write_references(root, document)
    _write_delivery(root, document)
    write_amounts(root, document)
    if document.settlement.balance > 0:
        _write_payment(root, document)
    validate_invoice(root)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def _write_header(root: etree._Element, document: InvoiceDocument) -> None:
    sub(root, "DocumentType", ISDOC_DOCUMENT_TYPES[document.kind])
    sub(root, "ID", document.number)
    sub(root, "UUID", str(document.uuid).upper())
    sub(root, "IssuingSystem", ISSUING_SYSTEM)
    sub(root, "IssueDate", document.issue_date.isoformat())
    point = tax_point(document)
    if point is not None:
        sub(root, "TaxPointDate", point.isoformat())
    sub(root, "VATApplicable", "true" if document.kind in TAX_DOCUMENT_KINDS else "false")
    # Mandatory but may be empty: we keep no record of the customer's consent to e-invoices yet.
    sub(root, "ElectronicPossibilityAgreementReference", "")
    note = f"{document_title(document)}, {period_text(document)}, odběrné místo {document.opm_code}"
    sub(root, "Note", f"{note}. {document.note}" if document.note else note)
    sub(root, "LocalCurrencyCode", LOCAL_CURRENCY)
    sub(root, "CurrRate", 1)
    sub(root, "RefCurrRate", 1)


class _Identification:
    """What ISDOC's PartyType asks for, gathered from a supplier or a customer."""

    def __init__(self, *, user_id: str | None, ico: str, name: str, address: Address, dic: str | None):
        self.user_id = user_id
        self.ico = ico
        self.name = name
        self.address = address
        self.dic = dic


def _supplier_identification(supplier: Supplier) -> _Identification:
    return _Identification(
        user_id=None, ico=supplier.ico, name=supplier.name, address=supplier.address, dic=supplier.dic
    )


def _customer_identification(customer: Customer) -> _Identification:
    # PartyIdentification/ID (the IČO) is mandatory in the XSD; a household has none, so it stays empty and
    # our customer number goes in UserID, where the receiver finds the customer.
    return _Identification(
        user_id=customer.customer_number, ico=customer.ico or "", name=customer.name,
        address=customer.address, dic=customer.dic,
    )


def _write_party(parent: etree._Element, party: _Identification) -> None:
    element = sub(parent, "Party")
    identification = sub(element, "PartyIdentification")
    if party.user_id is not None:
        sub(identification, "UserID", party.user_id)
    sub(identification, "ID", party.ico)
    sub(sub(element, "PartyName"), "Name", party.name)
    _write_address(element, party.address)
    if party.dic:
        scheme = sub(element, "PartyTaxScheme")
        sub(scheme, "CompanyID", party.dic)
        sub(scheme, "TaxScheme", "VAT")


def _write_address(parent: etree._Element, address: Address) -> None:
    postal = sub(parent, "PostalAddress")
    # A village without street names is addressed by the village (or its part) and the house number.
    sub(postal, "StreetName", address.street or address.city_part or address.city)
    sub(postal, "BuildingNumber", address.house_number)
    sub(postal, "CityName", address.city)
    sub(postal, "PostalZone", address.postal_code.replace(" ", ""))
    country = sub(postal, "Country")
    sub(country, "IdentificationCode", address.country)
    sub(country, "Name", COUNTRY_NAMES.get(address.country, address.country))


def _write_references(root: etree._Element, document: InvoiceDocument) -> None:
    if document.original is None:
        return
    references = sub(root, "OriginalDocumentReferences")
    reference = sub(references, "OriginalDocumentReference", id=ORIGINAL_REFERENCE_ID)
    sub(reference, "ID", document.original.number)
    sub(reference, "IssueDate", document.original.issue_date.isoformat())
    sub(reference, "UUID", str(document.original.uuid).upper())


def _write_delivery(root: etree._Element, document: InvoiceDocument) -> None:
    """The supply point as the place of delivery: its EAN/EIC identifies it, its address locates it."""
    party = _Identification(
        user_id=None, ico=document.opm_code, name=document.customer.name, address=document.supply_address,
        dic=None,
    )
    _write_party(sub(root, "Delivery"), party)


def _write_payment(root: etree._Element, document: InvoiceDocument) -> None:
    account = document.supplier.bank_account
    means = sub(root, "PaymentMeans")
    payment = sub(means, "Payment")
    sub(payment, "PaidAmount", document.settlement.balance)
    sub(payment, "PaymentMeansCode", BANK_TRANSFER)
    details = sub(payment, "Details")
    sub(details, "PaymentDueDate", document.due_date.isoformat())
    number, bank_code = domestic_account(account)
    sub(details, "ID", number)
    sub(details, "BankCode", bank_code)
    sub(details, "Name", account.bank_name)
    sub(details, "IBAN", account.iban)
    sub(details, "BIC", account.bic)
    sub(details, "VariableSymbol", document.variable_symbol)
