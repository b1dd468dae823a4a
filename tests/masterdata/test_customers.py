"""Customer services on SQLite and PostgreSQL: what is stored, what is refused (and then nothing is stored),
number series, optimistic locking, and the audit row and event every change leaves behind.

ARES-backed creation is in ``test_customers_ares.py``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa
from msgspec.structs import replace
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.errors import Conflict, InvalidField, NotFound
from gateway.masterdata import tables as t
from gateway.masterdata.audit import as_json
from gateway.masterdata.customers import create_customer, customer_by_id, get_customer, update_customer
from schemas.masterdata.common import Address, Contact, TypedAddress
from schemas.masterdata.customers import Customer, CustomerIn, CustomerPatch
from schemas.masterdata.events import MasterDataChanged
from tests.masterdata.customer_support import (
    ACTOR,
    BACKENDS,
    BIRTH_DATE,
    BIRTH_NUMBER,
    BRNO,
    DIC,
    ICO,
    NOW,
    PRAHA,
    changes_of,
    company,
    database,
    envelopes_of,
    person,
    snapshot,
)

LATER = NOW + dt.timedelta(hours=1)
#: Polling step, and longest wait, for a concurrent request to block on the first one's transaction.
BLOCK_WAIT_S = 0.05
BLOCK_WAIT_S_MAX = 10.0


@pytest.fixture(params=BACKENDS)
async def engine(request: pytest.FixtureRequest) -> AsyncIterator[AsyncEngine]:
    async with database(request) as engine:
        yield engine


async def create(engine: AsyncEngine, data: CustomerIn) -> Customer:
    async with engine.begin() as conn:
        return await create_customer(conn, ACTOR, NOW, data)


async def update(engine: AsyncEngine, number: str, patch: CustomerPatch) -> Customer:
    async with engine.begin() as conn:
        return await update_customer(conn, ACTOR, LATER, number, patch)


async def test_person_is_stored_with_canonical_identifiers(engine: AsyncEngine) -> None:
    created = await create(engine, person(
        birth_number="710319/2745", birth_date=BIRTH_DATE, dic="cz 7103192745",
        contacts=[Contact(kind="email", value="jiri@example.cz", primary=True),
                  Contact(kind="phone", value="+420 601 123 456")],
        addresses=[TypedAddress(kind="permanent", address=PRAHA),
                   TypedAddress(kind="correspondence", address=BRNO)],
    ))

    assert created.kind == "person" and created.name == "Jiří Dvořák"
    assert created.birth_number == BIRTH_NUMBER and created.dic == "CZ7103192745"
    assert created.addresses[0].address.postal_code == "11000"  # "110 00" as given
    assert [typed.kind for typed in created.addresses] == ["permanent", "correspondence"]
    assert created.version == 1 and created.created_at == created.updated_at == NOW
    async with engine.connect() as conn:
        assert await get_customer(conn, created.number) == created
        assert await customer_by_id(conn, created.id) == created
        query = sa.select(t.customer.c.search_name).where(t.customer.c.id == created.id)
        search_name = await conn.scalar(query)
    assert search_name == "jiri dvorak"


async def test_company_is_stored(engine: AsyncEngine) -> None:
    created = await create(engine, company(dic=DIC, legal_form="121"))

    assert (created.kind, created.name) == ("company", "Teplárna Líšeň a.s.")
    assert (created.ico, created.dic, created.legal_form) == (ICO, DIC, "121")
    assert created.first_name is None and created.birth_number is None
    assert created.addresses == [TypedAddress(kind="registered", address=BRNO)]


# Each case: the request, then the field, value and reason of the refusal.
REFUSED: list[tuple[CustomerIn, str, Any, str]] = [
    (person(first_name=None), "first_name", None, "is required for a person"),
    (person(last_name=None), "last_name", None, "is required for a person"),
    (company(ico=None), "ico", None, "is required for a company"),
    (company(company_name=None), "company_name", None, "is required for a company"),
    (company(ico="25596642"), "ico", "25596642", "fails the check digit (expected 1, got 2)"),
    (company(dic="CZ25596642"), "dic", "CZ25596642", "fails the check digit (expected 1, got 2)"),
    (company(birth_number=BIRTH_NUMBER), "birth_number", BIRTH_NUMBER, "is only kept for a person"),
    (person(birth_number="7113192745"), "birth_number", "7113192745", "has month field 13"),
    (person(birth_number=BIRTH_NUMBER, birth_date=dt.date(1971, 3, 20)), "birth_date",
     dt.date(1971, 3, 20), "does not match birth_number '7103192745', which encodes 1971-03-19"),
    (person(birth_date=dt.date(2025, 3, 2)), "birth_date", dt.date(2025, 3, 2), "lies in the future"),
    (person(number="c-1"), "number", "c-1", "must be 1 to 20 characters of 0-9, A-Z and -"),
    (person(contacts=[Contact(kind="phone", value="601123456"),
                      Contact(kind="email", value="jiri.example.cz")]),
     "contacts[1].value", "jiri.example.cz", "is not an e-mail address"),
    (person(contacts=[Contact(kind="phone", value="12-34")]), "contacts[0].value", "12-34",
     "is not a phone number"),
    (person(contacts=[Contact(kind="email", value="a@b.cz", primary=True),
                      Contact(kind="email", value="c@d.cz", primary=True)]),
     "contacts[1].primary", True, "a second primary email contact"),
    (person(addresses=[TypedAddress(kind="permanent", address=PRAHA),
                       TypedAddress(kind="billing", address=replace(BRNO, postal_code="602"))]),
     "addresses[1].address.postal_code", "602", "has 3 digits, expected 5"),
    (person(addresses=[TypedAddress(kind="permanent", address=PRAHA),
                       TypedAddress(kind="permanent", address=BRNO)]),
     "addresses[1].kind", "permanent", "is given twice; a customer has at most one address of each kind"),
    (person(addresses=[TypedAddress(kind="supply", address=PRAHA)]), "addresses[0].kind", "supply",
     "supply addresses belong to OPMs"),
    (person(addresses=[TypedAddress(kind="billing", address=PRAHA)]), "addresses", ["billing"],
     "a person needs a 'permanent' address"),
    (company(addresses=[]), "addresses", [], "a company needs a 'registered' address"),
]


@pytest.mark.parametrize(("data", "field", "value", "reason"), REFUSED, ids=[case[1] for case in REFUSED])
async def test_refusal_names_field_value_and_reason_and_stores_nothing(
    engine: AsyncEngine, data: CustomerIn, field: str, value: Any, reason: str
) -> None:
    before = await snapshot(engine)

    with pytest.raises(InvalidField) as caught:
        await create(engine, data)

    assert (caught.value.field, caught.value.value) == (field, value)
    assert reason in caught.value.reason
    assert await snapshot(engine) == before


async def test_given_number_is_kept_and_a_taken_one_is_a_conflict(engine: AsyncEngine) -> None:
    number = f"C-{uuid.uuid4().hex[:12].upper()}"
    assert (await create(engine, person(number=number))).number == number
    before = await snapshot(engine)

    with pytest.raises(Conflict, match=f"customer number '{number}' is already taken"):
        await create(engine, company(number=number))
    assert await snapshot(engine) == before


async def test_concurrent_creates_of_one_number_give_one_conflict(engine: AsyncEngine) -> None:
    number = f"C-{uuid.uuid4().hex[:12].upper()}"
    async with engine.begin() as conn:
        await create_customer(conn, ACTOR, NOW, person(number=number))
        second = asyncio.create_task(create(engine, company(number=number)))
        # Let the second request reach the point where it waits for the first transaction: on PostgreSQL
        # the unique index (its check could not see the uncommitted row), on SQLite BEGIN IMMEDIATE.
        await wait_until_blocked(engine)
        assert not second.done()
    with pytest.raises(Conflict) as caught:
        await second
    expected = "was taken meanwhile" if engine.dialect.name == "postgresql" else "is already taken"
    assert expected in caught.value.message
    async with engine.connect() as conn:
        assert (await get_customer(conn, number)).kind == "person"


async def wait_until_blocked(engine: AsyncEngine) -> None:
    if engine.dialect.name != "postgresql":
        await asyncio.sleep(BLOCK_WAIT_S)
        return
    query = sa.text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                          "AND datname = current_database()")
    for _ in range(int(BLOCK_WAIT_S_MAX / BLOCK_WAIT_S)):
        async with engine.connect() as conn:
            if await conn.scalar(query):
                return
        await asyncio.sleep(BLOCK_WAIT_S)
    raise AssertionError("the second request never waited for the first")


async def test_generated_numbers_are_unique_increasing_and_skip_imported_ones(engine: AsyncEngine) -> None:
    first = await create(engine, person())
    # An imported customer already holds the number the series would give next.
    imported = await create(engine, person(number=str(int(first.number) + 1)))
    second = await create(engine, person())
    third = await create(engine, company())

    numbers = [int(customer.number) for customer in (first, imported, second, third)]
    assert numbers == sorted(set(numbers)) and numbers[0] >= 1_000_000
    assert int(second.number) == int(imported.number) + 1


async def test_update_changes_given_fields_replaces_addresses_and_records_it(engine: AsyncEngine) -> None:
    created = await create(engine, person(addresses=[TypedAddress(kind="permanent", address=PRAHA),
                                                     TypedAddress(kind="billing", address=BRNO)]))
    moved = replace(BRNO, postal_code="602 00")

    updated = await update(engine, created.number, CustomerPatch(
        version=1, last_name="Dvořáková", consent_einvoice=True,
        addresses=[TypedAddress(kind="permanent", address=moved)],
    ))

    assert updated.version == 2 and updated.updated_at == LATER and updated.created_at == NOW
    assert (updated.first_name, updated.last_name, updated.name) == ("Jiří", "Dvořáková", "Jiří Dvořáková")
    assert updated.consent_einvoice and updated.contacts == created.contacts
    assert updated.addresses == [TypedAddress(kind="permanent", address=BRNO)]
    async with engine.connect() as conn:
        assert await get_customer(conn, created.number) == updated
        address_count = await conn.scalar(
            sa.select(sa.func.count()).select_from(t.address).where(t.address.c.customer_id == created.id)
        )
    assert address_count == 1
    changes = await changes_of(engine, "customer", created.number)
    assert [(change.action, change.version) for change in changes] == [("created", 1), ("updated", 2)]
    assert changes[1].before == as_json(created) and changes[1].after == as_json(updated)
    assert (changes[1].actor, changes[1].entity_id) == (ACTOR, created.id)


async def test_audit_row_and_event_of_a_creation(engine: AsyncEngine) -> None:
    created = await create(engine, company())

    [change] = await changes_of(engine, "customer", created.number)
    assert (change.action, change.version, change.before) == ("created", 1, None)
    assert change.after == as_json(created)
    [envelope] = await envelopes_of(engine, "masterdata.customers", created.number)
    assert (envelope.type, envelope.key) == ("masterdata.changed", created.number)
    assert envelope.id == change.message_id
    body = envelope.payload
    assert isinstance(body, MasterDataChanged)
    assert (body.entity, body.key, body.action, body.actor) == ("customer", created.number, "created", ACTOR)
    assert (body.id, body.version, body.change_id) == (created.id, 1, change.id)
    assert body.before is None and body.after == as_json(created)


async def test_one_event_per_change(engine: AsyncEngine) -> None:
    created = await create(engine, person())
    await update(engine, created.number, CustomerPatch(version=1, segment="vulnerable"))
    await update(engine, created.number, CustomerPatch(version=2, consent_marketing=True))

    envelopes = await envelopes_of(engine, "masterdata.customers", created.number)
    bodies = [envelope.payload for envelope in envelopes if isinstance(envelope.payload, MasterDataChanged)]
    assert len(bodies) == len(envelopes)
    expected = [("created", 1), ("updated", 2), ("updated", 3)]
    assert [(body.action, body.version) for body in bodies] == expected
    assert bodies[2].before is not None and bodies[2].after is not None
    assert (bodies[2].before["consent_marketing"], bodies[2].after["consent_marketing"]) == (False, True)


async def test_stale_version_is_a_conflict_and_changes_nothing(engine: AsyncEngine) -> None:
    created = await create(engine, person())
    await update(engine, created.number, CustomerPatch(version=1, segment="vulnerable"))
    before = await snapshot(engine)

    with pytest.raises(Conflict, match="version 1 was read, the stored one is 2"):
        await update(engine, created.number, CustomerPatch(version=1, segment="small_business"))
    assert await snapshot(engine) == before


async def test_patch_that_changes_nothing_writes_nothing(engine: AsyncEngine) -> None:
    created = await create(engine, person(birth_number=BIRTH_NUMBER))
    before = await snapshot(engine)
    # The same values, the PSČ spelt differently and the birth number with its slash: nothing changes.
    same = CustomerPatch(
        version=1, segment="household", first_name="Jiří", consent_einvoice=False,
        addresses=[TypedAddress(kind="permanent", address=replace(PRAHA, postal_code="11000"))],
    )

    assert await update(engine, created.number, same) == created
    assert await update(engine, created.number, CustomerPatch(version=1)) == created
    assert await snapshot(engine) == before


async def test_update_is_checked_again_and_refusal_stores_nothing(engine: AsyncEngine) -> None:
    created = await create(engine, person(birth_number=BIRTH_NUMBER))
    before = await snapshot(engine)

    with pytest.raises(InvalidField) as caught:
        await update(engine, created.number, CustomerPatch(version=1, birth_date=dt.date(1971, 3, 18)))
    assert (caught.value.field, caught.value.value) == ("birth_date", dt.date(1971, 3, 18))
    with pytest.raises(InvalidField) as caught:
        await update(engine, created.number, CustomerPatch(
            version=1, addresses=[TypedAddress(kind="billing", address=PRAHA)]))
    assert (caught.value.field, caught.value.reason) == ("addresses", "a person needs a 'permanent' address")
    with pytest.raises(InvalidField) as caught:
        await update(engine, created.number, CustomerPatch(version=1, dic="CZ123"))
    assert (caught.value.field, caught.value.value) == ("dic", "CZ123")
    assert await snapshot(engine) == before


async def test_unknown_customer_is_not_found(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        with pytest.raises(NotFound, match="customer 'NOPE-404' does not exist"):
            await get_customer(conn, "NOPE-404")
        with pytest.raises(NotFound):
            await customer_by_id(conn, uuid.uuid4())
    with pytest.raises(NotFound):
        await update(engine, "NOPE-404", CustomerPatch(version=1, segment="business"))


async def test_address_without_street_and_foreign_address_are_kept(engine: AsyncEngine) -> None:
    village = Address(house_number="12", city="Lhota", city_part="Horní Lhota", postal_code="58291")
    foreign = Address(street="Hauptstraße", house_number="5", city="Wien", postal_code="1010", country="AT")
    created = await create(engine, person(addresses=[TypedAddress(kind="permanent", address=village),
                                                     TypedAddress(kind="correspondence", address=foreign)]))
    assert [typed.address for typed in created.addresses] == [village, foreign]


async def test_foreign_postal_code_longer_than_the_column_is_refused(engine: AsyncEngine) -> None:
    london = Address(street="Downing Street", house_number="10", city="London", postal_code="SW1A 2AA",
                     country="GB")
    created = await create(engine, person(addresses=[TypedAddress(kind="permanent", address=PRAHA),
                                                     TypedAddress(kind="correspondence", address=london)]))
    assert created.addresses[1].address == london
    too_long = Address(street="Main Road", house_number="1", city="Nowhere", postal_code="AB1234 5678",
                       country="GB")
    before = await snapshot(engine)
    with pytest.raises(InvalidField) as caught:
        await create(engine, person(addresses=[TypedAddress(kind="permanent", address=PRAHA),
                                               TypedAddress(kind="correspondence", address=too_long)]))
    assert (caught.value.field, caught.value.value) == ("addresses[1].address.postal_code", "AB1234 5678")
    assert await snapshot(engine) == before
