"""End to end on the SQL-log bus: ``ote.received`` on ``ote.inbound`` → the readings consumer (the runner,
its inbox and transaction) → rows in the reading store and ``meter.reading`` events in the outbox, which the
relay publishes on ``meter.readings``. A message too large for the bus is read from its archive row."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import msgspec
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from connectors.ote import soap
from connectors.ote.archive import archive
from connectors.ote.tables import DIRECTION_IN
from connectors.ote.topics import OTE_INBOUND
from gateway.bus import outbox
from gateway.bus.outbox import OutboxRelay
from gateway.bus.retry import RetryPolicy
from gateway.bus.runner import ConsumerRunner
from gateway.bus.sqllog import SqlLogBus
from gateway.clock import SystemClock
from gateway.config import Settings
from gateway.readings.consumer import READINGS_GROUP, readings_subscription
from gateway.readings.topics import METER_READINGS
from gateway.store.db import create_engine
from gateway.store.tables import bus_log
from schemas.envelope import Envelope, decode, new_envelope
from schemas.ote.events import OteReceived
from tests.connectors.ote.expected import EIC_REAL, golden_bytes
from tests.readings.support import (
    NOW,
    electricity,
    events,
    filed,
    fresh_ean,
    fresh_eic,
    single_rate,
    two_rate,
)

WAIT_S_MAX = 60.0


@dataclass
class Pipeline:
    engine: AsyncEngine
    relay: OutboxRelay
    runner: ConsumerRunner


@pytest.fixture(params=["sqlite_url", pytest.param("pg_url", marks=pytest.mark.postgres)])
async def pipeline(request: pytest.FixtureRequest) -> AsyncIterator[Pipeline]:
    engine = create_engine(request.getfixturevalue(request.param))
    clock = SystemClock()
    bus = SqlLogBus(engine, clock=clock, poll_interval_s=0.02)
    await bus.start()
    await bus.ensure_topics([OTE_INBOUND, OTE_INBOUND.dlq, METER_READINGS, METER_READINGS.dlq], 3)
    relay = OutboxRelay(engine, bus, clock=clock, batch_max=500, poll_interval_s=0.02, sent_retention_s=60)
    subscription = readings_subscription(Settings())
    assert subscription.group_id == READINGS_GROUP and subscription.topics == ("ote.inbound",)
    runner = ConsumerRunner(
        engine=engine, bus=bus, subscription=subscription, clock=clock,
        retry=RetryPolicy(attempts_max=2, delay_s_initial=0.01, delay_s_max=0.05), batch_max=100,
        poll_timeout_s=0.05, message_bytes_max=1_048_576, relay=relay,
    )
    await relay.start()
    await runner.start()
    try:
        yield Pipeline(engine, relay, runner)
    finally:
        await runner.stop()
        await relay.stop()
        await bus.stop()
        await engine.dispose()


async def _wait(check: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = time.monotonic() + WAIT_S_MAX
    while not await check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def _publish(p: Pipeline, *bodies: OteReceived | Envelope) -> list[Envelope]:
    """``bodies`` on ``ote.inbound`` through the outbox; an envelope again is the same bus message again."""
    envelopes = [
        body if isinstance(body, Envelope) else new_envelope(body, key="test", now=NOW) for body in bodies
    ]
    async with p.engine.begin() as conn:
        await outbox.add(conn, [outbox.envelope_record(OTE_INBOUND.name, e) for e in envelopes], NOW)
    p.relay.notify()
    return envelopes


async def _published(engine: AsyncEngine, opm: str) -> int:
    async with engine.connect() as conn:
        query = sa.select(sa.func.count()).select_from(bus_log).where(
            bus_log.c.topic == METER_READINGS.name, bus_log.c.key == opm
        )
        return int(await conn.scalar(query) or 0)


async def test_metered_data_in_rows_and_events_out(pipeline: Pipeline) -> None:
    p = pipeline
    two, one, eic = fresh_ean(), fresh_ean(), fresh_eic()
    message = electricity(two_rate(two), single_rate(one), message_id="DT-E2E")
    inline = OteReceived(
        archive_id=1, family="metered-electricity", message_code="521", message_id="DT-E2E",
        message=msgspec.to_builtins(message),
    )
    # A message too large for the bus comes without ``message``: the consumer reads its archive row.
    raw = soap.wrap(golden_bytes("metered-gas.xml").replace(EIC_REAL.encode(), eic.encode()))
    async with p.engine.begin() as conn:
        archive_id = await archive(
            conn, direction=DIRECTION_IN, raw=raw, now=NOW, message_id="GP6250104000212", message_code="GP6",
            peer_subject=None,
        )
    by_archive = OteReceived(
        archive_id=archive_id, family="metered-gas", message_code="GP6", message_id="GP6250104000212",
        message=None,
    )
    other = OteReceived(archive_id=2, family="response", message_code="RSP", message_id="R1", message={})
    sent = await _publish(p, inline, by_archive, other)

    async def done() -> bool:
        return await _published(p.engine, two) == 1 and await _published(p.engine, eic) == 3

    await _wait(done, "the readings of both messages on meter.readings")
    [vt_nt], [single] = await filed(p.engine, two), await filed(p.engine, one)
    gas_days = await filed(p.engine, eic)
    assert set(vt_nt.registers) == {"vt", "nt"} and set(single.registers) == {"single"}
    assert [day.row.archive_id for day in gas_days] == [archive_id] * 3
    assert {day.row.ote_message_id for day in gas_days} == {"GP6250104000212"}
    [event] = await events(p.engine, two)
    assert (event.reading_id, event.status) == (vt_nt.row.id, "new")
    async with p.engine.connect() as conn:
        values = (await conn.execute(
            sa.select(bus_log.c.value).where(bus_log.c.topic == METER_READINGS.name, bus_log.c.key == eic)
        )).scalars().all()
    envelopes = [decode(value) for value in values]
    # Each event was caused by the ote.received it came from, and travels keyed by its OPM.
    assert {(e.causation_id, e.correlation_id, e.key) for e in envelopes} == {(sent[1].id, sent[1].id, eic)}

    # Delivered again (the same bus message): applied once. Sent again by OTE (a new message): duplicates.
    await _publish(p, sent[0])
    resent = electricity(two_rate(two), single_rate(one), message_id="DT-E2E-2")
    await _publish(p, msgspec.structs.replace(
        inline, archive_id=3, message_id="DT-E2E-2", message=msgspec.to_builtins(resent),
    ))

    async def duplicates() -> bool:
        return await _published(p.engine, two) == 2

    await _wait(duplicates, "the duplicate on meter.readings")
    first, second = await filed(p.engine, two)
    assert (second.row.status, second.row.duplicate_of) == ("duplicate", first.row.id)
    assert second.row.ote_message_id == "DT-E2E-2"
    assert [e.status for e in await events(p.engine, two)] == ["new", "duplicate"]
