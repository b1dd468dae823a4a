"""Contract accounts (smluvní účty): how a customer's contracts are billed, paid and delivered, keyed by VS.

Every request is checked whole before anything is written, so a refused one stores nothing. The rules:
direct debit needs the customer's IBAN and SIPO its connection number, and no other method carries either;
ISDOC delivery needs the customer's consent to electronic invoices; e-mailed PDFs need an address (the
account's own or the customer's primary e-mail). A write records the change (``audit.record``) in the
caller's transaction.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Final

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.clock import as_utc
from gateway.errors import Conflict, InvalidField, NotFound
from gateway.ids import uuid7
from gateway.masterdata import audit
from gateway.masterdata import tables as t
from gateway.masterdata.identifiers import validate_iban, validate_sipo_number, validate_variable_symbol
from gateway.masterdata.service_base import (
    check_address,
    checked,
    conforming,
    given_fields,
    insert_keyed,
    next_number,
    next_version,
    require_version,
    row_by,
)
from schemas.masterdata.accounts import Account, AccountIn, AccountPatch
from schemas.masterdata.common import Address, Contact, Email

__all__ = ["accounts_of", "create_account", "get_account", "update_account"]

#: Accounts ``accounts_of`` returns at most; a customer with more is a data error worth seeing.
ACCOUNTS_LIST_MAX: Final = 1000
#: VS proud assigns are zero-padded to this width (the series starts at ten digits anyway).
VARIABLE_SYMBOL_WIDTH: Final = 10

ISDOC_REASON: Final = "the customer has not agreed to electronic invoices (consent_einvoice)"
EMAIL_REASON: Final = (
    "e-mail delivery (email_pdf) needs delivery_email or a primary e-mail contact of the customer"
)

_SELECT: Final = sa.select(t.account, t.customer.c.number.label("customer_number")).join(
    t.customer, t.customer.c.id == t.account.c.customer_id
)


class _Draft(msgspec.Struct, frozen=True, kw_only=True):
    """An account's stored fields but its identity, owner and stamps: what create and update validate."""

    payment_method: str
    iban: str | None
    sipo_number: str | None
    billing_cycle: str
    advance_frequency: str
    dunning_procedure: str
    delivery_channel: str
    delivery_email: str | None
    billing_address: Address | None


_DRAFT_FIELDS: Final = frozenset(_Draft.__struct_fields__)


def _draft_of(value: AccountIn | Account) -> _Draft:
    fields = msgspec.structs.asdict(value)
    return _Draft(**{name: fields[name] for name in _DRAFT_FIELDS})


# --- reading --------------------------------------------------------------------------------------------


async def get_account(conn: AsyncConnection, variable_symbol: str) -> Account:
    """The account with this VS; ``NotFound`` otherwise."""
    row = (await conn.execute(_SELECT.where(t.account.c.variable_symbol == variable_symbol))).first()
    if row is None:
        raise NotFound(f"account {variable_symbol!r} does not exist")
    return _account(row)


async def accounts_of(conn: AsyncConnection, customer_id: uuid.UUID) -> list[Account]:
    """The customer's accounts, oldest first (at most ``ACCOUNTS_LIST_MAX``)."""
    rows = await conn.execute(
        _SELECT.where(t.account.c.customer_id == customer_id)
        .order_by(t.account.c.created_at, t.account.c.variable_symbol).limit(ACCOUNTS_LIST_MAX)
    )
    return [_account(row) for row in rows]


async def _account_by_id(conn: AsyncConnection, account_id: uuid.UUID) -> Account:
    row = (await conn.execute(_SELECT.where(t.account.c.id == account_id))).one()
    return _account(row)


def _account(row: Any) -> Account:
    address = None if row.billing_address is None else msgspec.convert(row.billing_address, Address)
    return Account(
        id=row.id, customer=row.customer_number, variable_symbol=row.variable_symbol,
        payment_method=row.payment_method, iban=row.iban, sipo_number=row.sipo_number,
        billing_cycle=row.billing_cycle, advance_frequency=row.advance_frequency,
        dunning_procedure=row.dunning_procedure, delivery_channel=row.delivery_channel,
        delivery_email=row.delivery_email, billing_address=address, version=row.version,
        created_at=as_utc(row.created_at), updated_at=as_utc(row.updated_at),
    )


# --- writing --------------------------------------------------------------------------------------------


async def create_account(conn: AsyncConnection, actor: str, now: dt.datetime, data: AccountIn) -> Account:
    """Store a new account of customer ``data.customer``; without a VS, the next free one is assigned.

    Raises ``InvalidField`` (nothing stored; an unknown customer too) and ``Conflict`` (the VS is taken).
    """
    given_vs = None
    if data.variable_symbol is not None:
        given_vs = checked("variable_symbol", validate_variable_symbol, data.variable_symbol)
    draft = _validated(_draft_of(data))
    customer = (await conn.execute(sa.select(t.customer).where(t.customer.c.number == data.customer))).first()
    if customer is None:
        raise InvalidField("customer", data.customer, "no such customer")
    _check_delivery(draft, customer)
    variable_symbol = await _new_variable_symbol(conn, given_vs)
    account_id = uuid7()
    values = {
        "id": account_id, "customer_id": customer.id, "variable_symbol": variable_symbol,
        **_row_values(draft), "version": 1, "created_at": now, "updated_at": now,
    }
    await insert_keyed(conn, t.account, values, f"variable symbol {variable_symbol} was taken meanwhile")
    created = await _account_by_id(conn, account_id)
    await audit.record(conn, actor, now, [
        audit.Change("account", account_id, variable_symbol, "created", 1, None, created)
    ])
    return created


async def update_account(
    conn: AsyncConnection, actor: str, now: dt.datetime, variable_symbol: str, patch: AccountPatch
) -> Account:
    """Apply the fields ``patch`` sets; a patch that changes nothing stores and records nothing.

    The whole account is checked again, the customer's consent too: an account whose customer withdrew the
    e-invoice consent can only be changed together with its delivery channel.
    """
    row = await row_by(
        conn, t.account, t.account.c.variable_symbol, variable_symbol, "account", for_update=True
    )
    require_version("account", variable_symbol, row.version, patch.version)
    before = await _account_by_id(conn, row.id)
    stored = _draft_of(before)
    draft = _validated(msgspec.structs.replace(stored, **given_fields(patch)))
    customer = await row_by(conn, t.customer, t.customer.c.id, row.customer_id, "customer")
    _check_delivery(draft, customer)
    if draft == stored:
        return before
    version = await next_version(conn, t.account, row, now, _row_values(draft))
    after = await _account_by_id(conn, row.id)
    assert after.version == version
    await audit.record(conn, actor, now, [
        audit.Change("account", row.id, variable_symbol, "updated", version, before, after)
    ])
    return after


async def _new_variable_symbol(conn: AsyncConnection, given: str | None) -> str:
    if given is None:
        return await next_number(
            conn, "variable_symbol", t.account.c.variable_symbol, width=VARIABLE_SYMBOL_WIDTH
        )
    taken = await conn.scalar(sa.select(sa.literal(1)).where(t.account.c.variable_symbol == given))
    if taken is not None:
        raise Conflict(f"variable symbol {given} is already used by another account")
    return given


def _row_values(draft: _Draft) -> dict[str, Any]:
    values = msgspec.structs.asdict(draft)
    values["billing_address"] = msgspec.to_builtins(draft.billing_address)
    return values


# --- checks ---------------------------------------------------------------------------------------------


def _validated(draft: _Draft) -> _Draft:
    """The draft with IBAN, SIPO number and PSČ canonical, or ``InvalidField`` for the first problem."""
    method = draft.payment_method
    iban = _method_field(method, "direct_debit", "iban", draft.iban)
    sipo_number = _method_field(method, "sipo", "sipo_number", draft.sipo_number)
    if iban is not None:
        iban = checked("iban", validate_iban, iban)
    if sipo_number is not None:
        sipo_number = checked("sipo_number", validate_sipo_number, sipo_number)
    if draft.delivery_email is not None:
        conforming("delivery_email", draft.delivery_email, Email, "is not an e-mail address")
    address = draft.billing_address
    if address is not None:
        address = check_address("billing_address", address)
    return msgspec.structs.replace(draft, iban=iban, sipo_number=sipo_number, billing_address=address)


def _method_field(method: str, owner: str, field: str, value: str | None) -> str | None:
    """``value`` of a field only payment method ``owner`` uses: required with it, refused with the others."""
    if method == owner and value is None:
        raise InvalidField(field, None, f"is required for payment method {owner}")
    if method != owner and value is not None:
        # Not dropped silently: a stale IBAN left on a changed account would mislead whoever reads it.
        reason = f"is only used with payment method {owner}, not {method}; send {field}: null"
        raise InvalidField(field, value, reason)
    return value


def _check_delivery(draft: _Draft, customer: Any) -> None:
    """The delivery rules that need the customer: e-invoice consent for ISDOC, an address for e-mail."""
    if draft.delivery_channel == "isdoc" and not customer.consent_einvoice:
        raise InvalidField("delivery_channel", "isdoc", ISDOC_REASON)
    if draft.delivery_channel == "email_pdf" and draft.delivery_email is None:
        contacts = msgspec.convert(customer.contacts, list[Contact])
        if not any(contact.kind == "email" and contact.primary for contact in contacts):
            raise InvalidField("delivery_email", None, EMAIL_REASON)
