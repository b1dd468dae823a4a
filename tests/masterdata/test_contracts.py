"""Contract services on SQLite and PostgreSQL: creation rules, amendments as versions read as of a day,
status by date, and the ``masterdata.contracts`` events. Supply periods and terminations: ``test_supply``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.errors import Conflict, InvalidField, NotFound
from gateway.masterdata import tables as t
from gateway.masterdata.contracts import amend_contract, contracts_of_customer, create_contract, get_contract
from gateway.masterdata.opm import create_opm
from schemas.masterdata.contracts import Amendment, Contract, Terms
from tests.masterdata.supply_helpers import (
    ACTOR,
    NOW,
    Parties,
    add_account,
    add_contract,
    add_customer,
    add_parties,
    changed,
    contract_in,
    day,
    electricity_in,
    events,
    new_number,
    refused,
)

CONTRACTS_TOPIC = "masterdata.contracts"


@pytest.fixture
async def parties(engine: AsyncEngine) -> Parties:
    return await add_parties(engine)


async def read(engine: AsyncEngine, number: str, as_of: str) -> Contract:
    async with engine.connect() as conn:
        return await get_contract(conn, number, day(as_of))


async def amend(engine: AsyncEngine, number: str, **fields: Any) -> Contract:
    async with engine.begin() as conn:
        return await amend_contract(conn, ACTOR, NOW, number, Amendment(**fields))


# --- creation -----------------------------------------------------------------------------------------


async def test_create_contract_assigns_a_number_and_reserves_supply(
    engine: AsyncEngine, parties: Parties
) -> None:
    contract = await add_contract(engine, parties)

    assert contract.number.isdigit() and int(contract.number) >= 2_000_000  # the contract number series
    assert (contract.customer, contract.opm) == (parties.customer, parties.opm)
    assert contract.commodity == "electricity"
    assert (contract.status, contract.terms) == ("signed", None)  # as of creation day, before valid_from
    assert contract.withdrawal_until == day("2026-12-04")  # a consumer signing at a distance: 14 days
    assert contract.versions == [Terms(
        version=1, effective_from=day("2027-01-01"), effective_to=None, product="Elektřina Standard",
        account=parties.account, valid_to=None, notice_period_days=30, note="",
    )]
    assert (contract.version, contract.created_at, contract.ended_on) == (1, NOW, None)
    async with engine.connect() as conn:
        period = (await conn.execute(sa.select(t.supply).where(t.supply.c.contract_id == contract.id))).one()
    assert (period.start, period.end) == (day("2027-01-01"), None)


async def test_creation_is_announced_on_the_contracts_topic(engine: AsyncEngine, parties: Parties) -> None:
    contract = await add_contract(engine, parties, number=new_number("S/"))

    [envelope] = await events(engine, CONTRACTS_TOPIC, contract.number)
    body = changed(envelope)
    assert (body.entity, body.id, body.key, body.action, body.version) == (
        "contract", contract.id, contract.number, "created", 1
    )
    assert body.before is None
    assert body.after == msgspec.to_builtins(contract)


@pytest.mark.parametrize(("kind", "negotiation", "withdrawal_until"), [
    ("person", "off_premises", dt.date(2026, 12, 4)),
    ("person", "on_premises", None),  # signed at our office: no statutory withdrawal
    ("company", "distance", None),  # consumer protection covers people only
])
async def test_withdrawal_period_is_for_consumers_signing_away_from_our_premises(
    engine: AsyncEngine, kind: str, negotiation: str, withdrawal_until: dt.date | None
) -> None:
    parties = await add_parties(engine, kind)

    contract = await add_contract(engine, parties, negotiation=negotiation)

    assert contract.withdrawal_until == withdrawal_until


async def _other_customers_account(engine: AsyncEngine) -> str:
    async with engine.begin() as conn:
        customer_id, _ = await add_customer(conn)
        return await add_account(conn, customer_id)


@pytest.mark.parametrize(("changes", "field", "value", "reason"), [
    ({"customer": "NOBODY"}, "customer", "NOBODY", "is not the number of a customer"),
    ({"account": "0000000001"}, "account", "0000000001", "is not the variable symbol of a contract account"),
    ({"opm": "859182400123456789"}, "opm", "859182400123456789", "is not the code of an OPM we know"),
    ({"valid_from": day("2026-11-19")}, "valid_from", "2026-11-19", "is before the contract was signed on"),
    ({"valid_to": day("2026-12-31")}, "valid_to", "2026-12-31", "is before the contract starts on 2027-01"),
    ({"billed_until": day("2026-12-31")}, "billed_until", "2026-12-31", "is before the contract starts on"),
    ({"number": "s-1"}, "number", "s-1", "must be 1 to 20 characters of 0-9, A-Z, '/' and '-'"),
    ({"number": "X" * 21}, "number", "X" * 21, "must be 1 to 20 characters"),
    ({"product": ""}, "product", "", "length >= 1"),  # a struct built in code is checked like a decoded one
    ({"notice_period_days": 400}, "notice_period_days", 400, "<= 366"),
])
async def test_invalid_contract_is_refused_naming_the_field(
    engine: AsyncEngine, parties: Parties, changes: dict[str, Any], field: str, value: object, reason: str
) -> None:
    given = {"customer": parties.customer, "account": parties.account, "opm": parties.opm, **changes}
    request = contract_in(**given)

    error = await refused(engine, lambda conn: create_contract(conn, ACTOR, NOW, request), InvalidField)

    assert (error.field, error.value) == (field, value)
    assert reason in error.reason


async def test_account_of_another_customer_is_refused(engine: AsyncEngine, parties: Parties) -> None:
    foreign = await _other_customers_account(engine)
    request = contract_in(parties.customer, foreign, parties.opm)

    error = await refused(engine, lambda conn: create_contract(conn, ACTOR, NOW, request), InvalidField)

    assert (error.field, error.value) == ("account", foreign)
    assert f"is an account of another customer, not of {parties.customer}" == error.reason


async def test_a_taken_number_is_a_conflict(engine: AsyncEngine, parties: Parties) -> None:
    number = new_number("N-")
    await add_contract(engine, parties, number=number, valid_to=day("2027-12-31"))
    request = contract_in(parties.customer, parties.account, parties.opm, number=number,
                          valid_from=day("2028-01-01"))

    error = await refused(engine, lambda conn: create_contract(conn, ACTOR, NOW, request), Conflict)

    assert f"contract number {number} is already taken" in error.message


async def test_unknown_contract_is_not_found(engine: AsyncEngine) -> None:
    with pytest.raises(NotFound):
        await read(engine, "NO-SUCH", "2027-01-01")


# --- status and amendments ----------------------------------------------------------------------------


async def test_status_follows_the_dates(engine: AsyncEngine, parties: Parties) -> None:
    contract = await add_contract(engine, parties, valid_to=day("2027-12-31"))

    statuses = [
        (await read(engine, contract.number, as_of)).status
        for as_of in ("2026-11-30", "2026-12-31", "2027-01-01", "2027-12-31", "2028-01-01")
    ]

    assert statuses == ["signed", "signed", "active", "active", "ended"]


async def test_amended_terms_are_read_as_of_a_day(engine: AsyncEngine, parties: Parties) -> None:
    contract = await add_contract(engine, parties)

    amended = await amend(
        engine, contract.number, effective_from=day("2027-07-01"), product="Elektřina Fix 24",
        note="new price list",
    )

    assert amended.terms is not None and amended.terms.product == "Elektřina Fix 24"  # as of effective_from
    first, second = amended.versions
    assert (first.version, first.effective_to, first.product) == (1, day("2027-06-30"), "Elektřina Standard")
    assert (second.version, second.effective_from, second.effective_to) == (2, day("2027-07-01"), None)
    # Carried over: what the amendment left out.
    assert (second.account, second.valid_to, second.notice_period_days) == (parties.account, None, 30)
    assert second.note == "new price list"
    terms = {
        as_of: (await read(engine, contract.number, as_of)).terms
        for as_of in ("2026-12-31", "2027-01-01", "2027-06-30", "2027-07-01", "2028-03-01")
    }
    assert terms["2026-12-31"] is None  # the day before the contract starts
    assert terms["2027-01-01"] == terms["2027-06-30"] == first
    assert terms["2027-07-01"] == terms["2028-03-01"] == second
    body = changed((await events(engine, CONTRACTS_TOPIC, contract.number))[-1])
    assert (body.action, body.version) == ("amended", 2)
    assert body.before is not None and body.after is not None
    assert (body.before["terms"]["product"], body.after["terms"]["product"]) == (
        "Elektřina Standard", "Elektřina Fix 24"
    )


async def test_amendment_of_the_same_day_replaces_the_latest_version(
    engine: AsyncEngine, parties: Parties
) -> None:
    contract = await add_contract(engine, parties)
    await amend(engine, contract.number, effective_from=day("2027-07-01"), product="A")

    amended = await amend(engine, contract.number, effective_from=day("2027-07-01"), notice_period_days=60)

    assert [(v.version, v.product, v.notice_period_days) for v in amended.versions] == [
        (1, "Elektřina Standard", 30), (2, "A", 60),
    ]
    assert amended.version == 3


async def test_amendment_may_move_the_account_to_another_of_the_customers(
    engine: AsyncEngine, parties: Parties
) -> None:
    contract = await add_contract(engine, parties)
    async with engine.begin() as conn:
        second_account = await add_account(conn, parties.customer_id)

    amended = await amend(engine, contract.number, effective_from=day("2027-03-01"), account=second_account)

    assert [v.account for v in amended.versions] == [parties.account, second_account]


@pytest.mark.parametrize(("fields", "field", "value", "reason"), [
    ({"effective_from": day("2026-12-31")}, "effective_from", "2026-12-31", "is before the contract starts"),
    ({"effective_from": day("2027-05-01")}, "effective_from", "2027-05-01", "is before the latest terms"),
    ({"effective_from": day("2027-08-01"), "account": "0000000002"}, "account", "0000000002",
     "is not the variable symbol"),
    ({"effective_from": day("2027-08-01"), "valid_to": day("2027-07-31")}, "valid_to", "2027-07-31",
     "is before the amendment takes effect on 2027-08-01"),
    ({"effective_from": day("2027-08-01"), "notice_period_days": -1}, "notice_period_days", -1, ">= 0"),
])
async def test_invalid_amendment_is_refused(
    engine: AsyncEngine, parties: Parties, fields: dict[str, Any], field: str, value: object, reason: str
) -> None:
    contract = await add_contract(engine, parties)
    await amend(engine, contract.number, effective_from=day("2027-06-01"), product="B")
    amendment = Amendment(**fields)

    error = await refused(
        engine, lambda conn: amend_contract(conn, ACTOR, NOW, contract.number, amendment), InvalidField
    )

    assert (error.field, error.value) == (field, value)
    assert reason in error.reason


async def test_amendment_after_the_end_is_a_conflict(engine: AsyncEngine, parties: Parties) -> None:
    contract = await add_contract(engine, parties, valid_to=day("2027-12-31"))
    late = Amendment(effective_from=day("2028-01-01"), product="Too late")

    error = await refused(
        engine, lambda conn: amend_contract(conn, ACTOR, NOW, contract.number, late), Conflict
    )

    assert "ends on 2027-12-31" in error.message


async def test_contracts_of_a_customer_as_of_a_day(engine: AsyncEngine, parties: Parties) -> None:
    first = await add_contract(engine, parties, valid_to=day("2027-12-31"))
    async with engine.begin() as conn:
        second_opm = await create_opm(conn, ACTOR, NOW, electricity_in())  # the customer's second point
        second = await create_contract(conn, ACTOR, NOW, contract_in(
            parties.customer, parties.account, second_opm.code, valid_from=day("2027-06-01")
        ))

    async with engine.connect() as conn:
        found = await contracts_of_customer(conn, parties.customer_id, day("2028-01-01"))

    assert [(c.number, c.status) for c in found] == [(first.number, "ended"), (second.number, "active")]


# --- why supply starts ------------------------------------------------------------------------------------


async def test_start_reason_defaults_to_a_switch_and_is_kept(engine: AsyncEngine, parties: Parties) -> None:
    contract = await add_contract(engine, parties)
    assert contract.start_reason == "switch"
    other = await add_parties(engine)
    moved_in = await add_contract(engine, other, start_reason="move_in")
    assert (await read(engine, moved_in.number, "2027-02-01")).start_reason == "move_in"


async def test_change_of_customer_continues_another_customers_contract_ending_the_day_before(
    engine: AsyncEngine, parties: Parties
) -> None:
    previous = await add_contract(engine, parties, valid_to=day("2027-03-31"))
    async with engine.begin() as conn:
        customer_id, customer = await add_customer(conn)
        account = await add_account(conn, customer_id)
    new = contract_in(
        customer, account, parties.opm, valid_from=day("2027-04-01"), start_reason="change_of_customer"
    )
    async with engine.begin() as conn:
        created = await create_contract(conn, ACTOR, NOW, new)
    assert (created.start_reason, created.opm) == ("change_of_customer", previous.opm)


@pytest.mark.parametrize("gap_days", [0, 1])
async def test_change_of_customer_without_a_previous_contract_the_day_before_is_refused(
    engine: AsyncEngine, parties: Parties, gap_days: int
) -> None:
    """Refused: our own customer's contract (gap 0: the same customer), or a day without supply between."""
    await add_contract(engine, parties, valid_to=day("2027-03-31"))
    valid_from = day("2027-04-01") + dt.timedelta(days=gap_days)
    if gap_days:
        async with engine.begin() as conn:
            customer_id, customer = await add_customer(conn)
            account = await add_account(conn, customer_id)
    else:
        customer, account = parties.customer, parties.account
    request = contract_in(
        customer, account, parties.opm, valid_from=valid_from, start_reason="change_of_customer"
    )

    error = await refused(engine, lambda conn: create_contract(conn, ACTOR, NOW, request), InvalidField)

    assert (error.field, error.value) == ("start_reason", "change_of_customer")
    assert "ending on 2027-03-31" in error.reason or "ending on 2027-04-01" in error.reason


async def test_a_taken_over_contract_keeps_the_day_its_previous_system_billed_it_to(
    engine: AsyncEngine, parties: Parties
) -> None:
    assert (await add_contract(engine, parties)).billed_until is None
    other = await add_parties(engine)
    taken_over = await add_contract(engine, other, billed_until=day("2027-03-31"))
    assert taken_over.billed_until == day("2027-03-31")
    assert (await read(engine, taken_over.number, "2027-05-01")).billed_until == day("2027-03-31")
