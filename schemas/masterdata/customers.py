"""Customer: a person or a company, with its segment, consents, contacts and typed addresses."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

import msgspec

from schemas.masterdata.common import Contact, Segment, Text, TypedAddress

CustomerKind = Literal["person", "company"]


class CustomerIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A new customer. ``number`` is the natural key; left out, proud assigns the next free one.

    A person needs ``first_name`` and ``last_name``; a company needs ``ico`` and, unless ``from_ares`` fills
    it, ``company_name``. With ``from_ares`` the company's name, DIČ, legal form and registered address come
    from ARES; values given here win over ARES's.
    """

    kind: CustomerKind
    number: str | None = None
    segment: Segment = "household"
    first_name: Text | None = None
    last_name: Text | None = None
    birth_date: dt.date | None = None
    birth_number: str | None = None
    company_name: Text | None = None
    ico: str | None = None
    dic: str | None = None
    legal_form: Text | None = None
    from_ares: bool = False
    consent_einvoice: bool = False
    consent_marketing: bool = False
    contacts: list[Contact] = msgspec.field(default_factory=list)
    addresses: list[TypedAddress] = msgspec.field(default_factory=list)


class CustomerPatch(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A change to a customer: fields left out stay as they are. ``version`` must be the one read
    (optimistic locking: a concurrent change answers 409 rather than being overwritten)."""

    version: int
    segment: Segment | msgspec.UnsetType = msgspec.UNSET
    first_name: Text | msgspec.UnsetType = msgspec.UNSET
    last_name: Text | msgspec.UnsetType = msgspec.UNSET
    birth_date: dt.date | msgspec.UnsetType | None = msgspec.UNSET
    company_name: Text | msgspec.UnsetType = msgspec.UNSET
    dic: str | msgspec.UnsetType | None = msgspec.UNSET
    legal_form: Text | msgspec.UnsetType | None = msgspec.UNSET
    consent_einvoice: bool | msgspec.UnsetType = msgspec.UNSET
    consent_marketing: bool | msgspec.UnsetType = msgspec.UNSET
    contacts: list[Contact] | msgspec.UnsetType = msgspec.UNSET
    addresses: list[TypedAddress] | msgspec.UnsetType = msgspec.UNSET


class Customer(msgspec.Struct, frozen=True, kw_only=True):
    """A customer as stored."""

    id: uuid.UUID
    number: str
    kind: CustomerKind
    segment: Segment
    name: str  # "first last" or the company name: what lists and letters show
    first_name: str | None
    last_name: str | None
    birth_date: dt.date | None
    birth_number: str | None
    company_name: str | None
    ico: str | None
    dic: str | None
    legal_form: str | None
    consent_einvoice: bool
    consent_marketing: bool
    contacts: list[Contact]
    addresses: list[TypedAddress]
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime
