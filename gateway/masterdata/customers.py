"""Customers: persons and companies, created, changed and read by customer number.

Every request is checked whole before anything is written (the ARES look-up of ``from_ares`` included), so a
refused one stores nothing. A write stores the customer row and its address rows, and records the change
(``audit.record``: an ``md_change`` row and a ``masterdata.changed`` event) in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any, Final

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from stdnum.cz import rc as stdnum_rc

from gateway.clock import as_utc
from gateway.errors import Conflict, InvalidField
from gateway.ids import uuid7
from gateway.masterdata import audit
from gateway.masterdata import tables as t
from gateway.masterdata.ares import AresLookupFn, company_from_ares
from gateway.masterdata.identifiers import validate_birth_number, validate_dic, validate_ico
from gateway.masterdata.service_base import (
    address_row,
    check_address,
    checked,
    conforming,
    fold,
    given_fields,
    insert_keyed,
    local_date,
    next_number,
    next_version,
    require_version,
    row_by,
    typed_address_from_row,
)
from schemas.masterdata.common import Contact, Email, Phone, TypedAddress
from schemas.masterdata.customers import Customer, CustomerIn, CustomerKind, CustomerPatch

__all__ = [
    "AresLookupFn",
    "complete_from_ares",
    "create_customer",
    "customer_by_id",
    "get_customer",
    "update_customer",
]

#: Customer numbers people type: digits, capitals and hyphens (``"C-2024-0001"``), as printed on invoices.
CUSTOMER_NUMBER_PATTERN: Final = re.compile(r"^[0-9A-Z-]{1,20}$")
#: Address kinds of a customer; "supply" addresses belong to OPMs.
CUSTOMER_ADDRESS_KINDS: Final = ("permanent", "registered", "billing", "correspondence")
#: The address each kind of customer must have: where a person lives, where a company has its seat.
REQUIRED_ADDRESS_KIND: Final[dict[str, str]] = {"person": "permanent", "company": "registered"}
_SEARCH_NAME_TYPE: Final = t.customer.c.search_name.type
assert isinstance(_SEARCH_NAME_TYPE, sa.String) and _SEARCH_NAME_TYPE.length
_SEARCH_NAME_CHARS_MAX: Final = _SEARCH_NAME_TYPE.length
_PHONE_REASON: Final = "is not a phone number (9 to 20 digits and spaces, optionally a leading +)"


class _Draft(msgspec.Struct, frozen=True, kw_only=True):
    """A customer's stored fields but its identity and stamps: what create and update validate."""

    kind: CustomerKind
    segment: str
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


_DRAFT_FIELDS: Final = frozenset(_Draft.__struct_fields__)


def _draft_of(value: CustomerIn | Customer) -> _Draft:
    fields = msgspec.structs.asdict(value)
    return _Draft(**{name: fields[name] for name in _DRAFT_FIELDS})


# --- reading --------------------------------------------------------------------------------------------


async def get_customer(conn: AsyncConnection, number: str) -> Customer:
    """The customer with this number; ``NotFound`` otherwise."""
    row = await row_by(conn, t.customer, t.customer.c.number, number, "customer")
    return await _customer(conn, row)


async def customer_by_id(conn: AsyncConnection, customer_id: uuid.UUID) -> Customer:
    """The customer with this id; ``NotFound`` otherwise."""
    row = await row_by(conn, t.customer, t.customer.c.id, customer_id, "customer")
    return await _customer(conn, row)


async def _customer(conn: AsyncConnection, row: Any) -> Customer:
    # Ordered by id: addresses come back in the order they were given.
    address_rows = await conn.execute(
        sa.select(t.address).where(t.address.c.customer_id == row.id).order_by(t.address.c.id)
    )
    return Customer(
        id=row.id, number=row.number, kind=row.kind, segment=row.segment,
        name=_display_name(row.kind, row.first_name, row.last_name, row.company_name),
        first_name=row.first_name, last_name=row.last_name, birth_date=row.birth_date,
        birth_number=row.birth_number, company_name=row.company_name, ico=row.ico, dic=row.dic,
        legal_form=row.legal_form, consent_einvoice=row.consent_einvoice,
        consent_marketing=row.consent_marketing, contacts=msgspec.convert(row.contacts, list[Contact]),
        addresses=[typed_address_from_row(address) for address in address_rows],
        version=row.version, created_at=as_utc(row.created_at), updated_at=as_utc(row.updated_at),
    )


def _display_name(kind: str, first_name: str | None, last_name: str | None, company_name: str | None) -> str:
    if kind == "company":
        assert company_name, "a stored company has a name"
        return company_name
    assert first_name and last_name, "a stored person has both names"
    return f"{first_name} {last_name}"


# --- writing --------------------------------------------------------------------------------------------


async def create_customer(
    conn: AsyncConnection, actor: str, now: dt.datetime, data: CustomerIn, ares: AresLookupFn | None = None
) -> Customer:
    """Store a new customer; ``from_ares`` fills in a company's fields from ARES (given values win).

    Raises ``InvalidField`` (nothing stored), ``Conflict`` (the number is taken) and ``AresLookupFailed``.
    ARES is asked before the first statement; callers on SQLite, whose transactions take the write lock at
    BEGIN, call ``complete_from_ares`` before opening the transaction instead, so that no lock waits on ARES.
    """
    if data.number is not None and not CUSTOMER_NUMBER_PATTERN.match(data.number):
        raise InvalidField("number", data.number, "must be 1 to 20 characters of 0-9, A-Z and -")
    data = await complete_from_ares(data, ares, now)
    draft = _validated(_draft_of(data), local_date(now))
    number = await _new_number(conn, data.number)
    customer_id = uuid7()
    values = {
        "id": customer_id, "number": number, **_row_values(draft),
        "version": 1, "created_at": now, "updated_at": now,
    }
    await insert_keyed(conn, t.customer, values, f"customer number {number!r} was taken meanwhile")
    await _insert_addresses(conn, customer_id, draft.addresses)
    created = await customer_by_id(conn, customer_id)
    await audit.record(conn, actor, now, [
        audit.Change("customer", customer_id, number, "created", 1, None, created)
    ])
    return created


async def complete_from_ares(data: CustomerIn, ares: AresLookupFn | None, now: dt.datetime) -> CustomerIn:
    """``data`` completed from ARES when ``from_ares`` is set (then cleared): fields left out take ARES's
    values, and ARES's seat becomes the registered address unless one is given. Touches no database.

    Raises ``InvalidField`` (no IČO, a bad one, not registered, dissolved) and ``AresLookupFailed``.
    """
    if not data.from_ares:
        return data
    if data.ico is None:
        raise InvalidField("ico", None, "is required with from_ares")
    ico = checked("ico", validate_ico, data.ico)
    company = await company_from_ares(ares, ico, local_date(now))
    addresses = data.addresses
    if company.registered is not None and all(typed.kind != "registered" for typed in addresses):
        addresses = [*addresses, TypedAddress(kind="registered", address=company.registered)]
    return msgspec.structs.replace(
        data,
        from_ares=False,
        company_name=data.company_name or company.company_name,
        dic=data.dic if data.dic is not None else company.dic,
        legal_form=data.legal_form if data.legal_form is not None else company.legal_form,
        addresses=addresses,
    )


async def update_customer(
    conn: AsyncConnection, actor: str, now: dt.datetime, number: str, patch: CustomerPatch
) -> Customer:
    """Apply the fields ``patch`` sets; a patch that changes nothing stores and records nothing.

    Raises ``NotFound``, ``Conflict`` (``patch.version`` is not the stored one) and ``InvalidField``.
    """
    row = await row_by(conn, t.customer, t.customer.c.number, number, "customer", for_update=True)
    require_version("customer", number, row.version, patch.version)
    before = await _customer(conn, row)
    stored = _draft_of(before)
    draft = _validated(msgspec.structs.replace(stored, **given_fields(patch)), local_date(now))
    if draft == stored:
        return before
    version = await next_version(conn, t.customer, row, now, _row_values(draft))
    if draft.addresses != stored.addresses:
        await conn.execute(sa.delete(t.address).where(t.address.c.customer_id == row.id))
        await _insert_addresses(conn, row.id, draft.addresses)
    after = await customer_by_id(conn, row.id)
    assert after.version == version
    await audit.record(conn, actor, now, [
        audit.Change("customer", row.id, number, "updated", version, before, after)
    ])
    return after


async def _new_number(conn: AsyncConnection, given: str | None) -> str:
    if given is None:
        return await next_number(conn, "customer", t.customer.c.number)
    taken = await conn.scalar(sa.select(sa.literal(1)).where(t.customer.c.number == given))
    if taken is not None:
        raise Conflict(f"customer number {given!r} is already taken by another customer")
    return given


def _row_values(draft: _Draft) -> dict[str, Any]:
    search_name = fold(draft.first_name, draft.last_name, draft.company_name)
    return {
        "kind": draft.kind, "segment": draft.segment, "first_name": draft.first_name,
        "last_name": draft.last_name, "birth_date": draft.birth_date, "birth_number": draft.birth_number,
        "company_name": draft.company_name, "ico": draft.ico, "dic": draft.dic,
        "legal_form": draft.legal_form,
        # Names are capped at TEXT_CHARS_MAX each, but a person may carry a trade name as well.
        "search_name": search_name[:_SEARCH_NAME_CHARS_MAX],
        "consent_einvoice": draft.consent_einvoice, "consent_marketing": draft.consent_marketing,
        "contacts": msgspec.to_builtins(draft.contacts),
    }


async def _insert_addresses(
    conn: AsyncConnection, customer_id: uuid.UUID, addresses: list[TypedAddress]
) -> None:
    if addresses:
        rows = [address_row(typed.address, typed.kind, customer_id=customer_id) for typed in addresses]
        await conn.execute(sa.insert(t.address), rows)


# --- checks ---------------------------------------------------------------------------------------------


def _validated(draft: _Draft, today: dt.date) -> _Draft:
    """The draft with identifiers and PSČs in canonical form, or ``InvalidField`` for the first problem."""
    _check_kind_fields(draft)
    ico = checked("ico", validate_ico, draft.ico) if draft.ico is not None else None
    dic = checked("dic", validate_dic, draft.dic) if draft.dic is not None else None
    _check_contacts(draft.contacts)
    return msgspec.structs.replace(
        draft, birth_number=_checked_birth(draft, today), ico=ico, dic=dic,
        addresses=_checked_addresses(draft.kind, draft.addresses),
    )


def _check_kind_fields(draft: _Draft) -> None:
    if draft.kind == "person":
        for field, value in (("first_name", draft.first_name), ("last_name", draft.last_name)):
            if not value:
                raise InvalidField(field, value, "is required for a person")
        return
    for field, value in (("ico", draft.ico), ("company_name", draft.company_name)):
        if not value:
            raise InvalidField(field, value, "is required for a company")
    # Personal data has no place on a company's record (GDPR: keep only what the purpose needs).
    personal: tuple[tuple[str, object], ...] = (
        ("birth_number", draft.birth_number), ("birth_date", draft.birth_date),
    )
    for field, personal_value in personal:
        if personal_value is not None:
            raise InvalidField(field, personal_value, "is only kept for a person, not for a company")


def _checked_birth(draft: _Draft, today: dt.date) -> str | None:
    """The canonical birth number; it and ``birth_date`` must agree and not lie in the future."""
    if draft.birth_date is not None and draft.birth_date > today:
        raise InvalidField("birth_date", draft.birth_date, "lies in the future")
    if draft.birth_number is None:
        return None
    birth_number = checked("birth_number", validate_birth_number, draft.birth_number)
    encoded: dt.date = stdnum_rc.get_birth_date(birth_number)
    if encoded > today:
        raise InvalidField("birth_number", draft.birth_number, f"encodes {encoded}, a day in the future")
    if draft.birth_date is not None and draft.birth_date != encoded:
        reason = f"does not match birth_number {draft.birth_number!r}, which encodes {encoded}"
        raise InvalidField("birth_date", draft.birth_date, reason)
    return birth_number


def _check_contacts(contacts: list[Contact]) -> None:
    primary_kinds: set[str] = set()
    for index, contact in enumerate(contacts):
        field = f"contacts[{index}]"
        if contact.kind == "email":
            conforming(f"{field}.value", contact.value, Email, "is not an e-mail address")
        else:
            conforming(f"{field}.value", contact.value, Phone, _PHONE_REASON)
        if contact.primary:
            # Letters and e-mailed invoices go to "the" primary address: two would be a guess.
            if contact.kind in primary_kinds:
                reason = f"a second primary {contact.kind} contact; at most one of each kind is primary"
                raise InvalidField(f"{field}.primary", True, reason)
            primary_kinds.add(contact.kind)


def _checked_addresses(kind: str, addresses: list[TypedAddress]) -> list[TypedAddress]:
    kinds: list[str] = []
    result: list[TypedAddress] = []
    for index, typed in enumerate(addresses):
        field = f"addresses[{index}]"
        if typed.kind not in CUSTOMER_ADDRESS_KINDS:
            raise InvalidField(f"{field}.kind", typed.kind, f"is not a customer's address kind "
                               f"({', '.join(CUSTOMER_ADDRESS_KINDS)}); supply addresses belong to OPMs")
        if typed.kind in kinds:
            reason = "is given twice; a customer has at most one address of each kind"
            raise InvalidField(f"{field}.kind", typed.kind, reason)
        kinds.append(typed.kind)
        result.append(TypedAddress(kind=typed.kind, address=check_address(f"{field}.address", typed.address)))
    required = REQUIRED_ADDRESS_KIND[kind]
    if required not in kinds:
        raise InvalidField("addresses", kinds, f"a {kind} needs a {required!r} address")
    return result
