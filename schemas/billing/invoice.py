"""An invoice document: everything printed on the PDF and written to the ISDOC, around one ``Settlement``.

The document is built after the number was drawn (``gateway.billing.invoices.numbering``) and never changes
afterwards: a correction is a new document (a credit note referring to this one), not an edit. The PDF, the
ISDOC XML and the QR Platba string are pure functions of this struct.

Kinds and their ISDOC ``DocumentType`` (czech-finance-formats.md §4):

========================  ====  ==========================================================================
kind                      ISDOC meaning
========================  ====  ==========================================================================
``settlement``            1     vyúčtování, a tax document (faktura – daňový doklad)
``credit_note``           2     opravný daňový doklad (dobropis), refers to the invoice it corrects
``advance_request``       4     zálohová faktura / výzva k platbě zálohy: a receivable, not a tax document
``advance_tax_document``  5     daňový doklad k přijaté platbě (daňový zálohový list)
========================  ====  ==========================================================================

Money follows the settlement's sign convention: a credit note carries the reversal with negative amounts
(the difference between the corrected and the original bill, which is what the VAT Act asks the document to
state), so totals and the balance read the same way on every kind.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated, Final, Literal

import msgspec

from schemas.billing.billed_readings import BilledReadings
from schemas.billing.settlement import Settlement
from schemas.masterdata.common import Address, Commodity, Text

DocumentKind = Literal["settlement", "credit_note", "advance_request", "advance_tax_document"]

#: ISDOC 6.0.2 ``DocumentType`` of each kind (the XSD's enumeration).
ISDOC_DOCUMENT_TYPES: Final[dict[str, int]] = {
    "settlement": 1,
    "credit_note": 2,
    "advance_request": 4,
    "advance_tax_document": 5,
}
#: Kinds that are tax documents (daňové doklady): they carry a tax point and VAT.
TAX_DOCUMENT_KINDS: Final = frozenset({"settlement", "credit_note", "advance_tax_document"})

#: Variable symbol: up to 10 digits (czech-finance-formats.md §2).
VariableSymbol = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{1,10}$")]
#: IČO: 8 digits (zero-padded); DIČ: CZ + 8 to 10 digits.
Ico = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{8}$")]
Dic = Annotated[str, msgspec.Meta(pattern=r"^CZ[0-9]{8,10}$")]
Iban = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$")]
Bic = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?$")]
#: Document numbers, e.g. ``FV202603000017`` (gateway.billing.invoices.numbering).
DocumentNumber = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]


class _Strict(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


class BankAccount(_Strict, frozen=True, kw_only=True):
    """The supplier's collection account. ISDOC's bank transfer needs all of it, not just the IBAN."""

    iban: Iban
    bic: Bic
    bank_name: Text


class Supplier(_Strict, frozen=True, kw_only=True):
    """We, the issuer: a VAT payer, so DIČ is required."""

    name: Text
    address: Address
    ico: Ico
    dic: Dic
    bank_account: BankAccount
    #: The commercial-register entry for the footer (spisová značka), e.g. "C 12345 vedená u KS v Brně".
    register_entry: Text | None = None


class Customer(_Strict, frozen=True, kw_only=True):
    """The invoiced customer. A household has neither IČO nor DIČ."""

    name: Text
    address: Address
    customer_number: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
    ico: Ico | None = None
    dic: Dic | None = None


class OriginalDocument(_Strict, frozen=True, kw_only=True):
    """The invoice a credit note corrects (ISDOC ``OriginalDocumentReference``)."""

    number: DocumentNumber
    uuid: uuid.UUID
    issue_date: dt.date
    #: Why it is corrected (the VAT Act asks the corrective document to state the reason).
    reason: Text


class NonTaxedDeposit(_Strict, frozen=True, kw_only=True, tag="non_taxed"):
    """An advance paid on a request that is not a tax document: deducted from the amount due only."""

    document_number: DocumentNumber
    variable_symbol: VariableSymbol
    paid_on: dt.date
    amount: Decimal


class TaxedDeposit(_Strict, frozen=True, kw_only=True, tag="taxed"):
    """An advance for which a tax document (ISDOC type 5) was issued: its VAT was already declared, so the
    settlement claims only the difference (ISDOC ``TaxedDeposits``, ``AlreadyClaimed*``)."""

    document_number: DocumentNumber
    variable_symbol: VariableSymbol
    paid_on: dt.date
    vat_rate: Decimal
    base: Decimal
    vat: Decimal
    amount: Decimal  # base + vat


Deposit = NonTaxedDeposit | TaxedDeposit


class InvoiceDocument(_Strict, frozen=True, kw_only=True):
    number: DocumentNumber
    uuid: uuid.UUID
    kind: DocumentKind
    #: Date of issue. For a settlement (and its credit note) it is also the tax point: since 1.1.2024 the
    #: DUZP of a billed energy supply is the day the bill is issued (§21(4)(b) ZDPH; finance-formats §7).
    issue_date: dt.date
    due_date: dt.date
    supplier: Supplier
    customer: Customer
    commodity: Commodity
    #: EAN (electricity) or EIC (gas) of the supply point, and its address.
    opm_code: Annotated[str, msgspec.Meta(min_length=1, max_length=18)]
    supply_address: Address
    period_from: dt.date
    period_to: dt.date  # inclusive
    #: The contract account's variable symbol: every payment of this account carries it.
    variable_symbol: VariableSymbol
    settlement: Settlement
    deposits: list[Deposit] = []
    #: Set exactly for a credit note.
    original: OriginalDocument | None = None
    #: The tax point where it differs from the issue date (an advance tax document: the day of receipt).
    tax_point: dt.date | None = None
    note: Text | None = None
    #: A settlement's meter readings, printed as the "odečty" block (None: not printed).
    readings: BilledReadings | None = None
