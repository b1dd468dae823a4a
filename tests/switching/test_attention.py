"""The attention consumer on PostgreSQL: each ``switch.attention`` becomes one back-office task about the
contract (when known) or the OPM, found where the back office looks (activities, customer 360)."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.bus.base import Record
from gateway.bus.retry import RetryPolicy
from gateway.bus.runner import ConsumerRunner
from gateway.clock import ManualClock
from gateway.errors import HandlerRejected
from gateway.masterdata import tables as t
from gateway.masterdata.activities import activities_about
from gateway.process.topics import PROCESS_EVENTS
from gateway.store.tables import dead_letter
from gateway.switching.attention import ACTOR, SWITCH_ATTENTION_GROUP, SwitchAttention
from schemas.envelope import Envelope, encode, new_envelope
from schemas.masterdata.activities import Activity, EntityKind
from schemas.masterdata.common import NOTE_CHARS_MAX, TEXT_CHARS_MAX
from schemas.switching import Attention, ContractWithdrawn
from tests.masterdata.supply_helpers import NOW, add_contract, add_parties, new_ean, new_number
from tests.switching.support import deliver

TEXT = "Žádost o změnu dodavatele byla odmítnuta (E17): zkontrolujte EAN a smlouvu."


def attention(opm: str, contract: str | None = None, text: str = TEXT) -> Envelope:
    body = Attention(
        opm=opm, process="switch_gain", reason_code="request_rejected", text=text, contract=contract
    )
    return new_envelope(body, key=opm, now=NOW)


async def file(engine: AsyncEngine, envelope: Envelope) -> None:
    assert await deliver(engine, SwitchAttention(), envelope, topic=PROCESS_EVENTS.name, now=NOW) == []


async def about(engine: AsyncEngine, entity: EntityKind, key: str) -> list[Activity]:
    async with engine.connect() as conn:
        return await activities_about(conn, [(entity, key)])


async def test_an_attention_about_a_contract_is_a_task_on_the_contract(pg_engine: AsyncEngine) -> None:
    parties = await add_parties(pg_engine)
    contract = await add_contract(pg_engine, parties)

    await file(pg_engine, attention(parties.opm, contract.number))

    [task] = await about(pg_engine, "contract", contract.number)
    assert (task.kind, task.status, task.about.entity, task.about.key) == (
        "task", "planned", "contract", contract.number
    )
    assert task.subject == f"switch_gain: request_rejected (OPM {parties.opm})"
    assert task.note.startswith(TEXT) and contract.number in task.note
    async with pg_engine.connect() as conn:
        query = sa.select(t.change.c.actor).where(t.change.c.entity_key == str(task.id))
        assert (await conn.execute(query)).scalars().all() == [ACTOR]  # audited like any activity


@pytest.mark.parametrize("contract", [None, "T-UNKNOWN"], ids=["no contract", "a contract we do not know"])
async def test_without_a_known_contract_the_task_is_on_the_opm(
    pg_engine: AsyncEngine, contract: str | None
) -> None:
    parties = await add_parties(pg_engine)

    await file(pg_engine, attention(parties.opm, contract))

    [task] = await about(pg_engine, "opm", parties.opm)
    assert (task.about.entity, task.kind) == ("opm", "task")


async def test_a_long_text_is_clipped_to_what_an_activity_holds(pg_engine: AsyncEngine) -> None:
    parties = await add_parties(pg_engine)

    await file(pg_engine, attention(parties.opm, text="x" * (NOTE_CHARS_MAX + 100)))

    [task] = await about(pg_engine, "opm", parties.opm)
    assert len(task.note) == NOTE_CHARS_MAX and task.note.endswith("…")
    assert len(task.subject) <= TEXT_CHARS_MAX


async def test_an_attention_about_nothing_we_know_is_refused(pg_engine: AsyncEngine) -> None:
    with pytest.raises(HandlerRejected, match="neither is in master data"):
        await file(pg_engine, attention(new_ean(), new_number()))


async def test_other_process_events_are_passed_over(pg_engine: AsyncEngine) -> None:
    parties = await add_parties(pg_engine)
    other = ContractWithdrawn(contract="X", opm=parties.opm, served_on=NOW.date())

    await file(pg_engine, new_envelope(other, key=parties.opm, now=NOW))

    assert await about(pg_engine, "opm", parties.opm) == []


async def test_one_task_however_often_the_attention_is_delivered(pg_engine: AsyncEngine) -> None:
    """Through the consumer runtime: the inbox makes a redelivered attention a no-op."""
    parties = await add_parties(pg_engine)
    envelope = attention(parties.opm)
    record = Record(PROCESS_EVENTS.name, 0, 0, parties.opm, encode(envelope))
    group = f"{SWITCH_ATTENTION_GROUP}-{uuid.uuid4().hex[:8]}"
    subscription = SwitchAttention().subscription()
    runner = ConsumerRunner(
        engine=pg_engine, bus=None,  # type: ignore[arg-type]  # process() needs no bus
        subscription=type(subscription)(group, subscription.topics, subscription.handler),
        clock=ManualClock(NOW), retry=RetryPolicy(attempts_max=2, delay_s_initial=0.01, delay_s_max=0.02),
        batch_max=10, poll_timeout_s=0.1, message_bytes_max=100_000,
    )

    await runner.process([record])
    await runner.process([record, record])  # redelivered after a crash, and twice in one batch

    assert len(await about(pg_engine, "opm", parties.opm)) == 1
    async with pg_engine.connect() as conn:
        query = sa.select(sa.func.count()).select_from(dead_letter).where(dead_letter.c.group_id == group)
        assert await conn.scalar(query) == 0
