"""The switch intake on PostgreSQL: contracts signed, withdrawn and given notice through the master-data
services become market facts on ``switch.events``, keyed by the OPM; an imported book does not."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.config import Settings
from gateway.errors import HandlerRejected
from gateway.masterdata.contracts import amend_contract, create_contract, terminate_contract
from gateway.masterdata.topics import CONTRACTS
from gateway.process.topics import PROCESS_EVENTS
from gateway.subscriptions import builtin_subscriptions
from gateway.switching.intake import (
    INTAKE_PROCESS,
    REASON_NO_PREVIOUS_CONTRACT,
    SWITCH_INTAKE_GROUP,
    SwitchIntake,
)
from gateway.switching.topics import SWITCH_EVENTS
from schemas.envelope import Envelope, new_envelope
from schemas.masterdata.contracts import Amendment, Contract, Termination
from schemas.switching import (
    Attention,
    ContractSigned,
    ContractWithdrawn,
    CustomerChangeSigned,
    SupplyEnding,
)
from tests.masterdata.supply_helpers import (
    ACTOR,
    NOW,
    Parties,
    add_account,
    add_contract,
    add_customer,
    add_parties,
    contract_in,
    day,
    events,
)
from tests.switching.support import Emitted, deliver


async def change_event(engine: AsyncEngine, number: str, action: str) -> Envelope:
    """The one ``masterdata.changed`` of contract ``number`` with ``action`` the services queued."""
    queued = await events(engine, CONTRACTS.name, number)
    found = [e for e in queued if getattr(e.payload, "action", "") == action]
    assert len(found) == 1, [getattr(e.payload, "action", None) for e in queued]
    return found[0]


async def intake(engine: AsyncEngine, number: str, action: str = "created") -> list[Emitted]:
    envelope = await change_event(engine, number, action)
    return await deliver(engine, SwitchIntake(), envelope, topic=CONTRACTS.name, now=NOW)


async def customer_change(engine: AsyncEngine, previous: Parties, valid_from: str) -> Contract:
    """Another customer's contract at ``previous.opm`` from ``valid_from``, continuing ``previous``'s."""
    async with engine.begin() as conn:
        customer_id, customer = await add_customer(conn)
        account = await add_account(conn, customer_id)
        data = contract_in(
            customer, account, previous.opm, valid_from=day(valid_from), start_reason="change_of_customer"
        )
        return await create_contract(conn, ACTOR, NOW, data)


@pytest.mark.parametrize("reason", ["switch", "move_in", "from_last_resort"])
async def test_a_signed_contract_is_a_contract_signed_fact_for_its_opm(
    pg_engine: AsyncEngine, reason: str
) -> None:
    parties = await add_parties(pg_engine)
    contract = await add_contract(pg_engine, parties, start_reason=reason, valid_to=day("2028-12-31"))

    [emitted] = await intake(pg_engine, contract.number)

    assert (emitted.topic, emitted.key) == (SWITCH_EVENTS.name, parties.opm)
    assert emitted.payload == ContractSigned(
        contract=contract.number, customer=parties.customer, account=parties.account, opm=parties.opm,
        commodity="electricity", start_reason=reason,  # type: ignore[arg-type]
        signed_on=day("2026-11-20"), date_from=day("2027-01-01"), date_to=day("2028-12-31"),
        negotiation="distance", withdrawal_until=day("2026-12-04"),
    )


@pytest.mark.parametrize(("what", "signed_on", "valid_from", "valid_to", "facts"), [
    ("supply starts next month", "2026-11-20", "2026-12-01", None, 1),
    ("supply started 30 days ago (late, still new)", "2026-10-01", "2026-10-31", None, 1),
    ("supply started 31 days ago: an imported book", "2026-09-01", "2026-10-30", None, 0),
    ("an imported contract of 2023", "2023-05-10", "2023-06-01", None, 0),
    ("a fixed term that ended already", "2026-09-01", "2026-11-01", "2026-11-29", 0),
])
async def test_only_new_contracts_start_a_switch(
    pg_engine: AsyncEngine, what: str, signed_on: str, valid_from: str, valid_to: str | None, facts: int
) -> None:
    parties = await add_parties(pg_engine)
    contract = await add_contract(
        pg_engine, parties, signed_on=day(signed_on), valid_from=day(valid_from),
        valid_to=day(valid_to) if valid_to else None,
    )
    assert len(await intake(pg_engine, contract.number)) == facts, what


async def test_a_change_of_customer_names_our_previous_contract(pg_engine: AsyncEngine) -> None:
    previous_parties = await add_parties(pg_engine)
    previous = await add_contract(
        pg_engine, previous_parties, signed_on=day("2025-12-01"), valid_from=day("2026-01-01"),
        valid_to=day("2027-01-31"),
    )
    new = await customer_change(pg_engine, previous_parties, "2027-02-01")

    [emitted] = await intake(pg_engine, new.number)

    assert (emitted.topic, emitted.key) == (SWITCH_EVENTS.name, previous_parties.opm)
    assert emitted.payload == CustomerChangeSigned(
        contract=new.number, customer=new.customer, account=new.versions[0].account, opm=new.opm,
        commodity="electricity", signed_on=new.signed_on, date_from=day("2027-02-01"),
        previous_contract=previous.number, previous_customer=previous_parties.customer,
        previous_account=previous_parties.account,
    )


async def test_a_change_of_customer_without_our_previous_contract_asks_for_attention(
    pg_engine: AsyncEngine,
) -> None:
    """The previous customer withdrew from its contract after the new one was signed: nothing to continue."""
    previous_parties = await add_parties(pg_engine)
    previous = await add_contract(
        pg_engine, previous_parties, signed_on=day("2026-11-25"), valid_from=day("2026-12-01"),
        valid_to=day("2026-12-31"),
    )
    new = await customer_change(pg_engine, previous_parties, "2027-01-01")
    async with pg_engine.begin() as conn:
        withdrawal = Termination(kind="withdrawal", served_on=day("2026-11-30"))
        await terminate_contract(conn, ACTOR, NOW, previous.number, withdrawal)

    [emitted] = await intake(pg_engine, new.number)

    assert (emitted.topic, emitted.key) == (PROCESS_EVENTS.name, new.opm)
    attention = emitted.payload
    assert isinstance(attention, Attention)
    assert (attention.opm, attention.process, attention.reason_code, attention.contract) == (
        new.opm, INTAKE_PROCESS, REASON_NO_PREVIOUS_CONTRACT, new.number
    )
    assert new.number in attention.text and "2026-12-31" in attention.text


async def test_a_withdrawal_is_a_contract_withdrawn_fact(pg_engine: AsyncEngine) -> None:
    parties = await add_parties(pg_engine)
    contract = await add_contract(pg_engine, parties)
    async with pg_engine.begin() as conn:
        withdrawal = Termination(kind="withdrawal", served_on=day("2026-11-30"))
        await terminate_contract(conn, ACTOR, NOW, contract.number, withdrawal)

    signed, withdrawn = await intake(pg_engine, contract.number), await intake(
        pg_engine, contract.number, "withdrawn"
    )

    # Each event is translated as of its own moment: the signing still yields its fact, before the withdrawal.
    assert [type(e.payload) for e in signed] == [ContractSigned]
    [emitted] = withdrawn
    assert (emitted.topic, emitted.key) == (SWITCH_EVENTS.name, parties.opm)
    assert emitted.payload == ContractWithdrawn(
        contract=contract.number, opm=parties.opm, served_on=day("2026-11-30")
    )


async def test_notice_is_a_supply_ending_fact(pg_engine: AsyncEngine) -> None:
    parties = await add_parties(pg_engine)
    contract = await add_contract(
        pg_engine, parties, signed_on=day("2026-10-01"), valid_from=day("2026-11-01"), notice_period_days=30,
    )
    async with pg_engine.begin() as conn:
        notice = Termination(kind="notice", served_on=day("2026-11-30"), end_on=day("2027-01-31"))
        await terminate_contract(conn, ACTOR, NOW, contract.number, notice)

    [emitted] = await intake(pg_engine, contract.number, "terminated")

    assert (emitted.topic, emitted.key) == (SWITCH_EVENTS.name, parties.opm)
    assert emitted.payload == SupplyEnding(
        contract=contract.number, customer=parties.customer, account=parties.account, opm=parties.opm,
        commodity="electricity", end_on=day("2027-01-31"), reason="notice",
    )


async def test_other_changes_and_other_messages(pg_engine: AsyncEngine) -> None:
    parties = await add_parties(pg_engine)
    contract = await add_contract(pg_engine, parties)
    async with pg_engine.begin() as conn:
        await amend_contract(conn, ACTOR, NOW, contract.number, Amendment(
            effective_from=day("2027-06-01"), product="Elektřina Fix 36",
        ))
    assert await intake(pg_engine, contract.number, "amended") == []

    stray = new_envelope(
        ContractWithdrawn(contract="X", opm=parties.opm, served_on=NOW.date()), key="X", now=NOW
    )
    with pytest.raises(HandlerRejected, match=r"expected masterdata\.changed"):
        await deliver(pg_engine, SwitchIntake(), stray, topic=CONTRACTS.name, now=NOW)


def test_the_intake_reads_contract_changes_in_its_own_group() -> None:
    subscription = SwitchIntake().subscription()
    assert (subscription.group_id, subscription.topics) == (SWITCH_INTAKE_GROUP, (CONTRACTS.name,))
    assert isinstance(subscription.handler, SwitchIntake)
    assert SWITCH_INTAKE_GROUP in {s.group_id for s in builtin_subscriptions(Settings())}
