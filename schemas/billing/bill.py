"""Individual billing (issue #6): what ``bill_contract`` returns, the invoices and the contract-account ledger
it stores, and the shapes of ``POST /api/billing/bill``, ``GET /api/billing/invoices/{number}`` and
``GET /api/accounts/{vs}/ledger``.

Billing has two expected outcomes, both values: ``Billed`` (an invoice, issued or, with ``issue`` off, only
priced) or ``Outsorted`` (findings of the pre-billing or post-billing checks for a clerk). Money is an exact
decimal, a decimal string in JSON.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated, Literal

import msgspec

from schemas.billing.billed_readings import BilledReadings
from schemas.billing.invoice import Deposit
from schemas.billing.orders import CheckStage, Finding
from schemas.billing.settlement import Settlement

InvoiceKind = Literal["settlement", "credit_note"]
InvoiceStatus = Literal["issued", "cancelled"]
ReceivableKind = Literal["invoice", "credit_note", "advance_request"]
ContractNumber = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]


class BillIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Bill contract ``contract`` for ``period_from`` … ``period_to`` (inclusive)."""

    contract: ContractNumber
    period_from: dt.date
    period_to: dt.date


class RebillIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Why the invoice is corrected: printed on the credit note (the VAT Act asks for the reason)."""

    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] = "Oprava vyúčtování: opravený odečet"


class Invoice(msgspec.Struct, frozen=True, kw_only=True):
    """An invoice as stored in ``bl_invoice`` (``number`` None: priced only, not issued)."""

    number: str | None
    kind: InvoiceKind
    status: InvoiceStatus
    contract: str
    account: str  # the contract account's variable symbol
    opm: str
    period_from: dt.date
    period_to: dt.date
    issue_date: dt.date  # also the tax point (DUZP) of a settlement and its credit note
    due_date: dt.date
    total_base: Decimal
    total_vat: Decimal
    total: Decimal
    advances_paid: Decimal
    #: total − advances_paid: positive is due from the customer, negative a credit. A settlement posts it to
    #: the ledger; a credit note (no advances: −total) posts minus its original's balance instead, since the
    #: advances the original deducted are deducted again by the new bill (``gateway.billing.ledger``).
    balance: Decimal
    settlement: Settlement
    #: A credit note: the invoice it cancels. A cancelled invoice: the credit note that cancelled it.
    corrects: str | None = None
    cancelled_by: str | None = None
    documents: tuple[uuid.UUID, ...] = ()
    uuid: uuid.UUID | None = None
    #: The advances the settlement deducted, as its documents print them (kept so that the documents can be
    #: rendered after the bill's transaction).
    deposits: tuple[Deposit, ...] = ()
    #: The meter readings the settlement billed (None: a credit note, or issued before they were kept).
    readings: BilledReadings | None = None


class Billed(msgspec.Struct, frozen=True, kw_only=True, tag="billed"):
    """The contract is billed: ``invoice``. ``repeated``: it had been billed for this period before, and
    this is the invoice issued then (nothing new was stored)."""

    invoice: Invoice
    repeated: bool = False

    @property
    def number(self) -> str | None:
        return self.invoice.number

    @property
    def settlement(self) -> Settlement:
        return self.invoice.settlement

    @property
    def documents(self) -> tuple[uuid.UUID, ...]:
        return self.invoice.documents


class Outsorted(msgspec.Struct, frozen=True, kw_only=True, tag="outsorted"):
    """Not billed: the checks of ``stage`` found ``findings`` (codes a clerk may release, or fix)."""

    stage: CheckStage
    findings: tuple[Finding, ...]


BillOutcome = Billed | Outsorted


class Rebilled(msgspec.Struct, frozen=True, kw_only=True):
    """A corrective re-billing: the credit note cancelling ``original``, and the new bill's outcome. When the
    new bill is outsorted, nothing was cancelled: ``credit_note`` is None and ``original`` stays issued."""

    original: str
    credit_note: Invoice | None
    outcome: BillOutcome


class Receivable(msgspec.Struct, frozen=True, kw_only=True):
    """One document in the contract-account sub-ledger (``bl_receivable``)."""

    document: str
    kind: ReceivableKind
    amount: Decimal  # signed: positive is owed by the customer, negative owed to them
    open_amount: Decimal
    due_date: dt.date
    posted_at: dt.datetime
    paid_on: dt.date | None = None


class Ledger(msgspec.Struct, frozen=True, kw_only=True):
    account: str
    receivables: list[Receivable]
    #: Sum of the amounts: everything charged and credited, before payments.
    charged: Decimal
    #: Sum of the open amounts: what the customer owes now (negative: what we owe them).
    open_total: Decimal
