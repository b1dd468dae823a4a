"""Supply periods on SQLite and PostgreSQL: at most one of our contracts supplies an OPM on any day, also
when two transactions try at once; withdrawal and notice end the supply by their rules.

The contracts here are signed on 2026-11-20 (a consumer at a distance: withdrawal until 2026-12-04), start
on 2027-01-01 and have 30 days' notice unless a test says otherwise.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.errors import Conflict, InvalidField
from gateway.masterdata import tables as t
from gateway.masterdata.contracts import amend_contract, create_contract, get_contract, terminate_contract
from gateway.masterdata.opm import get_opm
from gateway.store.db import create_engine
from schemas.masterdata.contracts import Amendment, Contract, ContractIn, Termination
from schemas.masterdata.opm import SupplyPeriod
from tests.masterdata.supply_helpers import (
    ACTOR,
    NOW,
    Parties,
    add_contract,
    add_parties,
    changed,
    contract_in,
    day,
    events,
    new_number,
    refused,
)


@pytest.fixture
async def parties(engine: AsyncEngine) -> Parties:
    return await add_parties(engine)


def request(parties: Parties, **changes: Any) -> ContractIn:
    return contract_in(parties.customer, parties.account, parties.opm, **changes)


async def periods(engine: AsyncEngine, parties: Parties) -> list[SupplyPeriod]:
    async with engine.connect() as conn:
        return (await get_opm(conn, parties.opm, day("2027-01-01"))).supply


async def terminate(engine: AsyncEngine, number: str, **fields: Any) -> Contract:
    async with engine.begin() as conn:
        return await terminate_contract(conn, ACTOR, NOW, number, Termination(**fields))


async def refused_contract(engine: AsyncEngine, data: ContractIn) -> Conflict:
    return await refused(engine, lambda conn: create_contract(conn, ACTOR, NOW, data), Conflict)


async def refused_termination(engine: AsyncEngine, number: str, termination: Termination) -> Conflict:
    return await refused(
        engine, lambda conn: terminate_contract(conn, ACTOR, NOW, number, termination), Conflict
    )


async def refused_amendment(engine: AsyncEngine, number: str, amendment: Amendment) -> Conflict:
    return await refused(engine, lambda conn: amend_contract(conn, ACTOR, NOW, number, amendment), Conflict)


# --- overlaps ---------------------------------------------------------------------------------------------


async def test_an_open_ended_contract_blocks_any_later_one(engine: AsyncEngine, parties: Parties) -> None:
    first = await add_contract(engine, parties)

    error = await refused_contract(engine, request(parties, valid_from=day("2030-01-01")))

    assert f"under contract {first.number} from 2027-01-01 indefinitely" in error.message
    assert "from 2030-01-01 indefinitely would overlap it" in error.message


@pytest.mark.parametrize(("valid_from", "valid_to"), [
    ("2027-12-31", None),  # shares the last day
    ("2026-12-01", "2027-01-01"),  # shares the first day
    ("2027-03-01", "2027-03-31"),  # inside
    ("2026-12-01", None),  # around
])
async def test_overlapping_periods_are_refused(
    engine: AsyncEngine, parties: Parties, valid_from: str, valid_to: str | None
) -> None:
    first = await add_contract(engine, parties, valid_to=day("2027-12-31"))
    overlapping = request(parties, valid_from=day(valid_from), valid_to=valid_to and day(valid_to))

    error = await refused_contract(engine, overlapping)

    assert f"under contract {first.number} from 2027-01-01 to 2027-12-31" in error.message


async def test_adjacent_periods_are_allowed(engine: AsyncEngine, parties: Parties) -> None:
    first = await add_contract(engine, parties, valid_to=day("2027-12-31"))
    before = await add_contract(engine, parties, valid_from=day("2026-12-01"), valid_to=day("2026-12-31"))
    after = await add_contract(engine, parties, valid_from=day("2028-01-01"))

    assert await periods(engine, parties) == [
        SupplyPeriod(contract=before.number, start=day("2026-12-01"), end=day("2026-12-31")),
        SupplyPeriod(contract=first.number, start=day("2027-01-01"), end=day("2027-12-31")),
        SupplyPeriod(contract=after.number, start=day("2028-01-01"), end=None),
    ]


async def test_amending_valid_to_moves_the_supply_end_but_not_into_the_next(
    engine: AsyncEngine, parties: Parties
) -> None:
    first = await add_contract(engine, parties, valid_to=day("2027-12-31"))
    second = await add_contract(engine, parties, valid_from=day("2028-01-01"))
    longer = Amendment(effective_from=day("2027-06-01"), valid_to=day("2028-01-01"))

    error = await refused_amendment(engine, first.number, longer)
    assert f"under contract {second.number} from 2028-01-01 indefinitely" in error.message

    async with engine.begin() as conn:
        await amend_contract(conn, ACTOR, NOW, first.number, Amendment(
            effective_from=day("2027-06-01"), valid_to=day("2027-09-30")
        ))
    assert (await periods(engine, parties))[0].end == day("2027-09-30")
    async with engine.connect() as conn:
        ended = await get_contract(conn, first.number, day("2027-10-01"))
    assert ended.status == "ended"


# --- withdrawal -------------------------------------------------------------------------------------------


async def test_withdrawal_before_supply_starts_removes_the_period(
    engine: AsyncEngine, parties: Parties
) -> None:
    contract = await add_contract(engine, parties)

    withdrawn = await terminate(engine, contract.number, kind="withdrawal", served_on=day("2026-12-04"))

    assert (withdrawn.status, withdrawn.ended_on, withdrawn.terms) == ("withdrawn", day("2026-12-04"), None)
    assert await periods(engine, parties) == []
    async with engine.connect() as conn:
        assert (await get_contract(conn, contract.number, day("2027-06-01"))).status == "withdrawn"
    body = changed((await events(engine, "masterdata.contracts", contract.number))[-1])
    assert (body.action, body.version) == ("withdrawn", 2)
    assert body.before is not None and body.after is not None
    assert (body.before["status"], body.after["status"]) == ("signed", "withdrawn")
    await add_contract(engine, parties)  # the OPM is free again


async def test_withdrawal_after_supply_started_ends_it_that_day(
    engine: AsyncEngine, parties: Parties
) -> None:
    contract = await add_contract(engine, parties, valid_from=day("2026-11-25"))

    await terminate(engine, contract.number, kind="withdrawal", served_on=day("2026-12-03"))

    assert await periods(engine, parties) == [
        SupplyPeriod(contract=contract.number, start=day("2026-11-25"), end=day("2026-12-03"))
    ]


@pytest.mark.parametrize(("kind", "negotiation", "served_on", "message"), [
    ("person", "distance", "2026-12-05", "ended on 2026-12-04; a withdrawal served on 2026-12-05 is too"),
    ("person", "on_premises", "2026-11-21", "has no withdrawal period"),
    ("company", "off_premises", "2026-11-21", "has no withdrawal period"),
])
async def test_withdrawal_outside_its_rules_is_a_conflict(
    engine: AsyncEngine, kind: str, negotiation: str, served_on: str, message: str
) -> None:
    parties = await add_parties(engine, kind)
    contract = await add_contract(engine, parties, negotiation=negotiation)
    late = Termination(kind="withdrawal", served_on=day(served_on))

    error = await refused_termination(engine, contract.number, late)

    assert message in error.message


@pytest.mark.parametrize(("termination", "field", "value", "reason"), [
    (Termination(kind="withdrawal", served_on=day("2026-12-01"), end_on=day("2027-01-31")), "end_on",
     "2027-01-31", "is not given for a withdrawal"),
    (Termination(kind="withdrawal", served_on=day("2026-11-19")), "served_on", "2026-11-19",
     "is before the contract was signed on 2026-11-20"),
    (Termination(kind="notice", served_on=day("2027-02-01")), "end_on", None, "is required"),
    (Termination(kind="notice", served_on=day("2027-02-01"), end_on=day("2028-01-01")), "end_on",
     "2028-01-01", "is after the contract ends anyway, on 2027-12-31"),
    (Termination(kind="notice", served_on=day("2026-11-21"), end_on=day("2026-12-31")), "end_on",
     "2026-12-31", "is before the contract starts on 2027-01-01"),
])
async def test_invalid_termination_names_the_field(
    engine: AsyncEngine, parties: Parties, termination: Termination, field: str, value: object, reason: str
) -> None:
    contract = await add_contract(engine, parties, valid_to=day("2027-12-31"))

    error = await refused(
        engine, lambda conn: terminate_contract(conn, ACTOR, NOW, contract.number, termination), InvalidField
    )

    assert (error.field, error.value) == (field, value)
    assert reason in error.reason


# --- notice -----------------------------------------------------------------------------------------------


async def test_notice_ends_supply_no_earlier_than_the_notice_period(
    engine: AsyncEngine, parties: Parties
) -> None:
    contract = await add_contract(engine, parties)
    early = Termination(kind="notice", served_on=day("2027-03-01"), end_on=day("2027-03-30"))

    error = await refused_termination(engine, contract.number, early)
    assert "with a notice period of 30 days ends it on 2027-03-31 at the earliest, not on 2027-03-30" in (
        error.message
    )

    ended = await terminate(engine, contract.number, kind="notice", served_on=day("2027-03-01"),
                            end_on=day("2027-03-31"))
    assert ended.ended_on == day("2027-03-31")
    assert (await periods(engine, parties))[0].end == day("2027-03-31")
    async with engine.connect() as conn:
        statuses = [
            (await get_contract(conn, contract.number, day(d))).status for d in ("2027-03-31", "2027-04-01")
        ]
    assert statuses == ["active", "ended"]
    body = changed((await events(engine, "masterdata.contracts", contract.number))[-1])
    assert (body.action, body.after and body.after["ended_on"]) == ("terminated", "2027-03-31")
    await add_contract(engine, parties, valid_from=day("2027-04-01"))  # the next supplier contract fits


async def test_notice_period_is_the_one_in_force_when_served(engine: AsyncEngine, parties: Parties) -> None:
    contract = await add_contract(engine, parties)
    async with engine.begin() as conn:
        await amend_contract(conn, ACTOR, NOW, contract.number, Amendment(
            effective_from=day("2027-02-01"), notice_period_days=90
        ))
    under_new_terms = Termination(kind="notice", served_on=day("2027-03-01"), end_on=day("2027-04-30"))

    error = await refused_termination(engine, contract.number, under_new_terms)
    assert "notice period of 90 days ends it on 2027-05-30" in error.message

    ended = await terminate(engine, contract.number, kind="notice", served_on=day("2027-01-15"),
                            end_on=day("2027-02-14"))  # served under the first terms: 30 days
    assert ended.ended_on == day("2027-02-14")


async def test_an_ended_contract_is_not_ended_again_nor_its_end_amended(
    engine: AsyncEngine, parties: Parties
) -> None:
    contract = await add_contract(engine, parties)
    await terminate(
        engine, contract.number, kind="notice", served_on=day("2027-03-01"), end_on=day("2027-06-30")
    )
    again = Termination(kind="notice", served_on=day("2027-04-01"), end_on=day("2027-05-31"))
    longer = Amendment(effective_from=day("2027-04-01"), valid_to=day("2027-12-31"))

    error = await refused_termination(engine, contract.number, again)
    assert "was already ended (notice) on 2027-06-30" in error.message
    error = await refused_amendment(engine, contract.number, longer)
    assert "its valid_to can no longer change" in error.message


# --- concurrency ------------------------------------------------------------------------------------------


async def _attempt(url: str, data: ContractIn) -> Contract | Conflict:
    engine = create_engine(url)  # an engine (and connection) of its own, as another process would have
    try:
        async with engine.begin() as conn:
            return await create_contract(conn, ACTOR, NOW, data)
    except Conflict as exc:
        return exc
    finally:
        await engine.dispose()


async def test_concurrent_overlapping_contracts_one_wins(
    db_url: str, engine: AsyncEngine, parties: Parties
) -> None:
    """Two transactions create overlapping contracts for one OPM at the same time: exactly one succeeds."""
    numbers = [new_number("R"), new_number("R")]
    requests = [
        request(parties, number=numbers[0]),
        request(parties, number=numbers[1], valid_from=day("2027-06-01")),
    ]

    results = await asyncio.gather(*(_attempt(db_url, data) for data in requests))

    won = [result for result in results if isinstance(result, Contract)]
    lost = [result for result in results if isinstance(result, Conflict)]
    assert (len(won), len(lost)) == (1, 1), results
    assert f"under contract {won[0].number}" in lost[0].message
    async with engine.connect() as conn:
        stored = await conn.scalar(
            sa.select(sa.func.count()).select_from(t.contract).where(t.contract.c.number.in_(numbers))
        )
    assert stored == 1
    assert [period.contract for period in await periods(engine, parties)] == [won[0].number]


@pytest.mark.postgres
async def test_second_writer_waits_for_the_opm_lock(pg_url: str) -> None:
    """The second transaction blocks on the OPM row until the first commits, then sees its period.

    Without the lock it would not see the uncommitted period of the first and would store an overlap.
    """
    first_engine = create_engine(pg_url)
    try:
        parties = await add_parties(first_engine)
        async with first_engine.connect() as conn:
            transaction = await conn.begin()
            first = await create_contract(conn, ACTOR, NOW, request(parties))
            second = asyncio.create_task(_attempt(pg_url, request(parties, valid_from=day("2027-03-01"))))
            await asyncio.sleep(0.5)
            assert not second.done(), "the second writer did not wait for the OPM lock"
            await transaction.commit()
        result = await asyncio.wait_for(second, timeout=10)
        assert isinstance(result, Conflict)
        assert f"under contract {first.number} from 2027-01-01 indefinitely" in result.message
    finally:
        await first_engine.dispose()

