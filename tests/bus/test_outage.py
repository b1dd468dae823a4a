"""Outages mid-stream: the Kafka broker is killed and restarted, or PostgreSQL restarts, while events flow
through outbox → relay → bus → consumer. Afterwards every event is applied exactly once and the relay and
the consumer carried on by themselves (no restart of proud's components by the test)."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.bench.handler import BenchHandler
from gateway.bus import outbox
from gateway.bus.base import Bus
from gateway.bus.kafka import KafkaBus
from gateway.bus.outbox import OutboxRelay
from gateway.bus.retry import RetryPolicy
from gateway.bus.runner import ConsumerRunner
from gateway.bus.sqllog import SqlLogBus
from gateway.bus.topics import TopicSpec
from gateway.clock import SystemClock
from gateway.errors import StoreUnavailable
from gateway.store.db import create_engine
from gateway.store.tables import effect_log
from gateway.store.tables import outbox as outbox_table
from schemas.bench import BenchEvent
from schemas.envelope import new_envelope

ROOT = Path(__file__).resolve().parents[2]
EVENTS_PER_ROUND = 100
ROUNDS = 30
RECOVERY_WAIT_S = 180.0
#: How long a killed service stays down.
OUTAGE_S = 3.0
#: Shorter than a broker restart (a start alone took 19 s here), so that the producer's batches wait out
#: their timeout while the broker is away, as they do with the default 30 s when a slow machine takes longer.
REQUEST_TIMEOUT_S = 8.0

pytestmark = pytest.mark.slow


def service(name: str, action: str) -> None:
    subprocess.run(["bash", str(ROOT / "scripts/services" / f"{name}.sh"), action], check=True, timeout=180)


@pytest.fixture
async def restore_services() -> AsyncIterator[None]:
    """Whatever happens in the test, leave Kafka and PostgreSQL running for the tests after it."""
    yield
    service("kafka", "start")
    service("postgres", "start")


async def take_away(name: str, action: str) -> None:
    """``kill``: SIGKILL, stay down a while, start again. ``restart``: a clean stop and start."""
    if action == "kill":
        await asyncio.to_thread(service, name, "kill")
        await asyncio.sleep(OUTAGE_S)  # the producer keeps writing to the outbox meanwhile
        await asyncio.to_thread(service, name, "start")
    else:
        await asyncio.to_thread(service, name, action)


async def produce(engine: AsyncEngine, relay: OutboxRelay, topic: str, unique: str, outage: tuple[str, str]
                  ) -> None:
    """Write ROUNDS transactions of events to the outbox; take the service away a third of the way in."""
    outage_task: asyncio.Task[None] | None = None
    for round_no in range(ROUNDS):
        if round_no == ROUNDS // 3:
            outage_task = asyncio.create_task(take_away(*outage))
        now = SystemClock().now()
        items = [
            outbox.envelope_record(topic, new_envelope(
                BenchEvent(seq=round_no * EVENTS_PER_ROUND + n), key=f"{unique}-{n % 7}", now=now
            ))
            for n in range(EVENTS_PER_ROUND)
        ]
        deadline = time.monotonic() + RECOVERY_WAIT_S
        while True:  # the producer is a client of the database like any other: it retries its own write
            try:
                async with engine.begin() as conn:
                    await outbox.add(conn, items, now)
                break
            except (sa.exc.DBAPIError, OSError, StoreUnavailable):
                assert time.monotonic() < deadline, "database did not come back"
                await asyncio.sleep(0.5)
        relay.notify()
        await asyncio.sleep(0.05)
    assert outage_task is not None
    await outage_task


@pytest.mark.parametrize(
    ("backend", "outage"),
    [("kafka", ("kafka", "kill")), ("kafka", ("kafka", "restart")), ("sql", ("postgres", "restart"))],
    ids=["kafka-sigkill", "kafka-restart", "sql-postgres-restart"],
)
async def test_service_outage_mid_stream_loses_and_duplicates_nothing(
    backend: str, outage: tuple[str, str], pg_url: str, kafka_bootstrap: str, unique: str,
    restore_services: None,
) -> None:
    engine = create_engine(pg_url)
    clock = SystemClock()
    bus: Bus = (
        KafkaBus(kafka_bootstrap, request_timeout_s=REQUEST_TIMEOUT_S) if backend == "kafka"
        else SqlLogBus(engine, clock=clock)
    )
    topic, group = f"outage.{unique}", f"outage-{unique}"
    await bus.start()
    await bus.ensure_topics([TopicSpec(topic, "test key", 3)], 3)
    relay = OutboxRelay(engine, bus, clock=clock, batch_max=200, poll_interval_s=0.02, sent_retention_s=600)
    runner = ConsumerRunner(
        engine=engine, bus=bus, subscription=BenchHandler(log_effects=True).subscription(group, [topic]),
        clock=clock, retry=RetryPolicy(), batch_max=100, poll_timeout_s=0.1, message_bytes_max=10_000,
        relay=relay,
    )
    await relay.start()
    await runner.start()
    try:
        await produce(engine, relay, topic, unique, outage)
        await _wait_all_applied(engine, group, ROUNDS * EVENTS_PER_ROUND)
    finally:
        await runner.stop()
        await relay.stop()
        await bus.stop()
    async with engine.connect() as conn:
        counts = dict((await conn.execute(
            sa.select(effect_log.c.seq, sa.func.count()).where(effect_log.c.group_id == group)
            .group_by(effect_log.c.seq)
        )).all())
        unsent = await conn.scalar(sa.select(sa.func.count()).select_from(outbox_table).where(
            outbox_table.c.topic == topic, outbox_table.c.sent_at.is_(None)))
    await engine.dispose()
    assert sorted(counts) == list(range(ROUNDS * EVENTS_PER_ROUND)), "events lost"
    assert {seq: n for seq, n in counts.items() if n != 1} == {}, "events applied twice"
    assert unsent == 0


async def _wait_all_applied(engine: AsyncEngine, group: str, total: int) -> None:
    deadline = time.monotonic() + RECOVERY_WAIT_S
    while True:
        try:
            async with engine.connect() as conn:
                done = await conn.scalar(sa.select(sa.func.count()).select_from(effect_log)
                                         .where(effect_log.c.group_id == group))
            if done == total:
                return
        except (sa.exc.DBAPIError, OSError):
            done = -1
        assert time.monotonic() < deadline, f"only {done} of {total} applied after the outage"
        await asyncio.sleep(0.2)
