"""Contract account services on SQLite and PostgreSQL: payment-method and delivery rules, VS series and
uniqueness, optimistic locking, and the audit row and event of every change."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from msgspec.structs import replace
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.errors import Conflict, InvalidField, NotFound
from gateway.masterdata.accounts import accounts_of, create_account, get_account, update_account
from gateway.masterdata.audit import as_json
from gateway.masterdata.customers import create_customer
from gateway.masterdata.identifiers import sipo_check_digit
from schemas.masterdata.accounts import Account, AccountIn, AccountPatch, PaymentMethod
from schemas.masterdata.common import Contact
from schemas.masterdata.customers import Customer, CustomerIn
from schemas.masterdata.events import MasterDataChanged
from tests.masterdata.customer_support import (
    ACTOR,
    BACKENDS,
    BRNO,
    NOW,
    PRAHA,
    changes_of,
    database,
    envelopes_of,
    person,
    snapshot,
)

LATER = NOW + dt.timedelta(hours=1)
IBAN = "CZ6508000000192000145399"
SIPO_NUMBER = "123456789" + sipo_check_digit("123456789")
VS_DIGITS = 10


@pytest.fixture(params=BACKENDS)
async def engine(request: pytest.FixtureRequest) -> AsyncIterator[AsyncEngine]:
    async with database(request) as engine:
        yield engine


async def new_customer(engine: AsyncEngine, data: CustomerIn | None = None) -> Customer:
    async with engine.begin() as conn:
        return await create_customer(conn, ACTOR, NOW, data or person())


async def create(engine: AsyncEngine, data: AccountIn) -> Account:
    async with engine.begin() as conn:
        return await create_account(conn, ACTOR, NOW, data)


async def update(engine: AsyncEngine, variable_symbol: str, patch: AccountPatch) -> Account:
    async with engine.begin() as conn:
        return await update_account(conn, ACTOR, LATER, variable_symbol, patch)


@pytest.fixture
async def customer(engine: AsyncEngine) -> Customer:
    """A person with a primary e-mail contact and no e-invoice consent."""
    return await new_customer(engine)


async def refused(engine: AsyncEngine, data: AccountIn) -> InvalidField:
    """The refusal of ``data``, after checking that it stored nothing."""
    before = await snapshot(engine)
    with pytest.raises(InvalidField) as caught:
        await create(engine, data)
    assert await snapshot(engine) == before
    return caught.value


async def test_account_with_defaults_gets_the_next_vs(engine: AsyncEngine, customer: Customer) -> None:
    first = await create(engine, AccountIn(customer=customer.number))
    second = await create(engine, AccountIn(customer=customer.number, billing_address=BRNO))

    assert first.customer == customer.number and first.version == 1 and first.created_at == NOW
    assert (first.payment_method, first.delivery_channel, first.dunning_procedure) == (
        "bank_transfer", "email_pdf", "standard"
    )
    assert len(first.variable_symbol) == VS_DIGITS and first.variable_symbol.startswith("7")
    assert int(second.variable_symbol) > int(first.variable_symbol)
    assert second.billing_address == BRNO
    async with engine.connect() as conn:
        assert await get_account(conn, first.variable_symbol) == first
        assert await accounts_of(conn, customer.id) == [first, second]


async def test_given_vs_is_canonical_and_a_taken_one_conflicts(
    engine: AsyncEngine, customer: Customer
) -> None:
    first = await create(engine, AccountIn(customer=customer.number))
    # Below the series (imported VS look like this); unique on the PostgreSQL database shared by the session.
    short = str(uuid.uuid4().int % 10**9 + 1)
    given = await create(engine, AccountIn(customer=customer.number, variable_symbol=short.zfill(VS_DIGITS)))
    assert given.variable_symbol == short
    before = await snapshot(engine)

    with pytest.raises(Conflict, match=f"variable symbol {first.variable_symbol} is already used"):
        await create(engine, AccountIn(customer=customer.number, variable_symbol=first.variable_symbol))
    assert await snapshot(engine) == before
    error = await refused(engine, AccountIn(customer=customer.number, variable_symbol="12345678901"))
    assert (error.field, error.value) == ("variable_symbol", "12345678901")


async def test_generated_vs_skips_one_already_given(engine: AsyncEngine, customer: Customer) -> None:
    first = await create(engine, AccountIn(customer=customer.number))
    taken = str(int(first.variable_symbol) + 1)
    await create(engine, AccountIn(customer=customer.number, variable_symbol=taken))
    third = await create(engine, AccountIn(customer=customer.number))
    assert int(third.variable_symbol) == int(taken) + 1


async def test_unknown_customer_is_refused(engine: AsyncEngine) -> None:
    error = await refused(engine, AccountIn(customer="NOPE-404"))
    assert (error.field, error.value, error.reason) == ("customer", "NOPE-404", "no such customer")


async def test_direct_debit_needs_a_valid_iban(engine: AsyncEngine, customer: Customer) -> None:
    debit = AccountIn(customer=customer.number, payment_method="direct_debit")

    error = await refused(engine, debit)
    assert (error.field, error.value) == ("iban", None)
    assert error.reason == "is required for payment method direct_debit"
    error = await refused(engine, replace(debit, iban="CZ6508000000192000145398"))
    assert (error.field, error.value) == ("iban", "CZ6508000000192000145398")
    assert "check digits" in error.reason
    created = await create(engine, replace(debit, iban="cz65 0800 0000 1920 0014 5399"))
    assert (created.payment_method, created.iban, created.sipo_number) == ("direct_debit", IBAN, None)


async def test_sipo_needs_a_valid_connection_number(engine: AsyncEngine, customer: Customer) -> None:
    sipo = AccountIn(customer=customer.number, payment_method="sipo")

    error = await refused(engine, sipo)
    assert (error.field, error.value) == ("sipo_number", None)
    assert error.reason == "is required for payment method sipo"
    wrong = SIPO_NUMBER[:-1] + str((int(SIPO_NUMBER[-1]) + 1) % 10)
    error = await refused(engine, replace(sipo, sipo_number=wrong))
    assert (error.field, error.value) == ("sipo_number", wrong) and "check digit" in error.reason
    created = await create(engine, replace(sipo, sipo_number=SIPO_NUMBER))
    assert (created.sipo_number, created.iban) == (SIPO_NUMBER, None)


@pytest.mark.parametrize(("method", "field", "value"), [
    ("bank_transfer", "iban", IBAN),
    ("postal_order", "iban", IBAN),
    ("sipo", "iban", IBAN),
    ("bank_transfer", "sipo_number", SIPO_NUMBER),
    ("direct_debit", "sipo_number", SIPO_NUMBER),
])
async def test_other_methods_carry_no_iban_or_sipo_number(
    engine: AsyncEngine, customer: Customer, method: PaymentMethod, field: str, value: str
) -> None:
    needed: dict[str, Any] = {"direct_debit": {"iban": IBAN}, "sipo": {"sipo_number": SIPO_NUMBER}}
    fields = {**needed.get(method, {}), field: value}
    error = await refused(engine, AccountIn(customer=customer.number, payment_method=method, **fields))
    assert (error.field, error.value) == (field, value)
    assert error.reason.startswith("is only used with payment method") and f"not {method}" in error.reason


async def test_isdoc_needs_the_e_invoice_consent(engine: AsyncEngine, customer: Customer) -> None:
    error = await refused(engine, AccountIn(customer=customer.number, delivery_channel="isdoc"))
    assert (error.field, error.value, error.reason) == (
        "delivery_channel", "isdoc", "the customer has not agreed to electronic invoices (consent_einvoice)"
    )
    consenting = await new_customer(engine, person(consent_einvoice=True))
    created = await create(engine, AccountIn(customer=consenting.number, delivery_channel="isdoc"))
    assert created.delivery_channel == "isdoc"


async def test_email_pdf_needs_an_address(engine: AsyncEngine) -> None:
    phone_only = await new_customer(engine, person(contacts=[
        Contact(kind="phone", value="+420 601 123 456", primary=True),
        Contact(kind="email", value="not-primary@example.cz"),
    ]))
    error = await refused(engine, AccountIn(customer=phone_only.number))
    assert (error.field, error.value) == ("delivery_email", None)
    assert "primary e-mail contact" in error.reason
    error = await refused(engine, AccountIn(customer=phone_only.number, delivery_email="x@"))
    assert (error.field, error.value) == ("delivery_email", "x@")

    own = await create(engine, AccountIn(customer=phone_only.number, delivery_email="faktury@example.cz"))
    paper = await create(engine, AccountIn(customer=phone_only.number, delivery_channel="paper"))
    assert own.delivery_email == "faktury@example.cz" and paper.delivery_email is None


async def test_billing_address_psc_is_checked(engine: AsyncEngine, customer: Customer) -> None:
    error = await refused(engine, AccountIn(customer=customer.number,
                                            billing_address=replace(PRAHA, postal_code="1100")))
    assert (error.field, error.value) == ("billing_address.postal_code", "1100")
    created = await create(engine, AccountIn(customer=customer.number, billing_address=PRAHA))
    assert created.billing_address == replace(PRAHA, postal_code="11000")


async def test_dunning_and_cycles_are_stored_as_given(engine: AsyncEngine) -> None:
    vulnerable = await new_customer(engine, person(segment="vulnerable"))
    created = await create(engine, AccountIn(
        customer=vulnerable.number, dunning_procedure="none", billing_cycle="monthly",
        advance_frequency="none",
    ))
    assert (created.dunning_procedure, created.billing_cycle, created.advance_frequency) == (
        "none", "monthly", "none"
    )


async def test_update_records_the_change_and_its_event(engine: AsyncEngine, customer: Customer) -> None:
    created = await create(engine, AccountIn(customer=customer.number))

    updated = await update(engine, created.variable_symbol, AccountPatch(
        version=1, payment_method="direct_debit", iban=IBAN, billing_cycle="quarterly",
    ))

    assert (updated.payment_method, updated.iban) == ("direct_debit", IBAN)
    assert updated.billing_cycle == "quarterly"
    assert (updated.version, updated.updated_at, updated.created_at) == (2, LATER, NOW)
    changes = await changes_of(engine, "account", created.variable_symbol)
    assert [(change.action, change.version) for change in changes] == [("created", 1), ("updated", 2)]
    assert (changes[0].before, changes[0].after) == (None, as_json(created))
    assert (changes[1].before, changes[1].after) == (as_json(created), as_json(updated))
    envelopes = await envelopes_of(engine, "masterdata.accounts", created.variable_symbol)
    bodies = [envelope.payload for envelope in envelopes if isinstance(envelope.payload, MasterDataChanged)]
    assert [(body.entity, body.key, body.action) for body in bodies] == [
        ("account", created.variable_symbol, "created"), ("account", created.variable_symbol, "updated"),
    ]
    assert [body.change_id for body in bodies] == [change.id for change in changes]


async def test_update_rules_stale_version_and_no_op(engine: AsyncEngine, customer: Customer) -> None:
    data = AccountIn(customer=customer.number, payment_method="direct_debit", iban=IBAN)
    created = await create(engine, data)
    before = await snapshot(engine)

    with pytest.raises(InvalidField) as caught:  # switching method keeps the IBAN unless it is cleared
        await update(engine, created.variable_symbol, AccountPatch(version=1, payment_method="bank_transfer"))
    assert (caught.value.field, caught.value.value) == ("iban", IBAN)
    with pytest.raises(InvalidField) as caught:
        await update(engine, created.variable_symbol, AccountPatch(version=1, delivery_channel="isdoc"))
    assert caught.value.field == "delivery_channel"
    same = AccountPatch(version=1, iban="CZ65 0800 0000 1920 0014 5399", payment_method="direct_debit")
    assert await update(engine, created.variable_symbol, same) == created
    assert await snapshot(engine) == before

    switched = await update(engine, created.variable_symbol,
                            AccountPatch(version=1, payment_method="bank_transfer", iban=None))
    assert (switched.iban, switched.version) == (None, 2)
    with pytest.raises(Conflict, match="version 1 was read, the stored one is 2"):
        await update(engine, created.variable_symbol, AccountPatch(version=1, billing_cycle="monthly"))


async def test_unknown_account_is_not_found(engine: AsyncEngine, customer: Customer) -> None:
    async with engine.connect() as conn:
        with pytest.raises(NotFound, match="account '1' does not exist"):
            await get_account(conn, "1")
        assert await accounts_of(conn, customer.id) == []
    with pytest.raises(NotFound):
        await update(engine, "1", AccountPatch(version=1, billing_cycle="monthly"))
