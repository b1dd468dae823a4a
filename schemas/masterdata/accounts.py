"""Contract account (smluvní účet): where a customer's contracts are billed and paid; VS is its key."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

import msgspec

from schemas.masterdata.common import Address, Email

PaymentMethod = Literal["bank_transfer", "direct_debit", "sipo", "postal_order"]
BillingCycle = Literal["monthly", "quarterly", "semiannual", "annual"]
AdvanceFrequency = Literal["none", "monthly", "quarterly", "semiannual"]
DunningProcedure = Literal["standard", "gentle", "none"]
DeliveryChannel = Literal["email_pdf", "isdoc", "paper"]


class AccountIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A new contract account of customer ``customer``. ``variable_symbol`` left out: proud assigns one.

    Direct debit needs ``iban`` (the customer's account, Czech or foreign); SIPO needs ``sipo_number``
    (10 digits); ISDOC delivery needs the customer's e-invoice consent; e-mail delivery an address.
    """

    customer: str  # customer number
    variable_symbol: str | None = None
    payment_method: PaymentMethod = "bank_transfer"
    iban: str | None = None
    sipo_number: str | None = None
    billing_cycle: BillingCycle = "annual"
    advance_frequency: AdvanceFrequency = "monthly"
    dunning_procedure: DunningProcedure = "standard"
    delivery_channel: DeliveryChannel = "email_pdf"
    delivery_email: Email | None = None
    billing_address: Address | None = None


class AccountPatch(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    version: int
    payment_method: PaymentMethod | msgspec.UnsetType = msgspec.UNSET
    iban: str | msgspec.UnsetType | None = msgspec.UNSET
    sipo_number: str | msgspec.UnsetType | None = msgspec.UNSET
    billing_cycle: BillingCycle | msgspec.UnsetType = msgspec.UNSET
    advance_frequency: AdvanceFrequency | msgspec.UnsetType = msgspec.UNSET
    dunning_procedure: DunningProcedure | msgspec.UnsetType = msgspec.UNSET
    delivery_channel: DeliveryChannel | msgspec.UnsetType = msgspec.UNSET
    delivery_email: Email | msgspec.UnsetType | None = msgspec.UNSET
    billing_address: Address | msgspec.UnsetType | None = msgspec.UNSET


class Account(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    customer: str
    variable_symbol: str
    payment_method: PaymentMethod
    iban: str | None
    sipo_number: str | None
    billing_cycle: BillingCycle
    advance_frequency: AdvanceFrequency
    dunning_procedure: DunningProcedure
    delivery_channel: DeliveryChannel
    delivery_email: str | None
    billing_address: Address | None
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime
