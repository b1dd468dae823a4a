"""The whole path on each real backend: outbox → relay → bus → consumer → inbox + effects, with dead
letters for unusable and poison messages, their copies on ``<topic>.dlq``, and a replay that applies once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.bus import dlq, outbox
from gateway.bus.base import Bus, OutgoingRecord
from gateway.bus.handler import Subscription
from gateway.bus.kafka import KafkaBus
from gateway.bus.outbox import OutboxRelay
from gateway.bus.retry import RetryPolicy
from gateway.bus.runner import ConsumerRunner
from gateway.bus.sqllog import SqlLogBus
from gateway.bus.topics import TopicSpec
from gateway.clock import SystemClock
from gateway.errors import Conflict
from gateway.store.db import create_engine
from gateway.store.tables import effect_log
from schemas.bench import BenchEvent
from schemas.envelope import encode, new_envelope
from tests.bus.contract import drain
from tests.bus.test_runner import Flaky
from tests.conftest import clear_unsent_outbox

WAIT_S_MAX = 90.0
BYTES_MAX = 4_000


@dataclass
class Pipeline:
    engine: AsyncEngine
    bus: Bus
    relay: OutboxRelay
    runner: ConsumerRunner
    topic: str
    group: str
    handler: Flaky


async def wait_until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = time.monotonic() + WAIT_S_MAX
    while not await check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


@pytest.fixture(params=["sql-sqlite", "sql-postgres", "kafka-postgres"])
async def pipeline(request: pytest.FixtureRequest, unique: str) -> AsyncIterator[Pipeline]:
    backend, database = request.param.split("-")
    url = request.getfixturevalue("pg_url" if database == "postgres" else "sqlite_url")
    if database == "postgres":
        clear_unsent_outbox(url)
    engine = create_engine(url)
    clock = SystemClock()
    bus: Bus
    if backend == "kafka":
        bus = KafkaBus(request.getfixturevalue("kafka_bootstrap"))
    else:
        bus = SqlLogBus(engine, clock=clock)
    await bus.start()
    spec = TopicSpec(f"pipe.{unique}", "test key", 3)
    await bus.ensure_topics([spec, spec.dlq], 3)
    relay = OutboxRelay(engine, bus, clock=clock, batch_max=500, poll_interval_s=0.02, sent_retention_s=60)
    handler = Flaky({7}, transient=None)
    runner = ConsumerRunner(
        engine=engine,
        bus=bus,
        subscription=Subscription(f"pipe-{unique}", (spec.name,), handler),
        clock=clock,
        retry=RetryPolicy(attempts_max=3, delay_s_initial=0.01, delay_s_max=0.05),
        batch_max=100,
        poll_timeout_s=0.1,
        message_bytes_max=BYTES_MAX,
        relay=relay,
    )
    await relay.start()
    await runner.start()
    yield Pipeline(engine, bus, relay, runner, spec.name, f"pipe-{unique}", handler)
    await runner.stop()
    await relay.stop()
    await bus.stop()
    await engine.dispose()


async def applied(p: Pipeline) -> int:
    async with p.engine.connect() as conn:
        query = sa.select(sa.func.count()).select_from(effect_log).where(effect_log.c.group_id == p.group)
        return int(await conn.scalar(query) or 0)


async def test_outbox_to_effects_with_dead_letters_and_replay(pipeline: Pipeline, unique: str) -> None:
    p = pipeline
    now = SystemClock().now()
    events = [new_envelope(BenchEvent(seq=n), key=f"{unique}-{n % 5}", now=now) for n in range(60)]
    async with p.engine.begin() as conn:
        await outbox.add(conn, [outbox.envelope_record(p.topic, e) for e in events], now)
    p.relay.notify()
    sample = encode(events[0])
    await p.bus.publish(
        [
            OutgoingRecord(p.topic, "bad", b"\x00 definitely not json"),
            OutgoingRecord(p.topic, "bad", sample.replace(b'"bench.event"', b'"bench.unheard-of"')),
            OutgoingRecord(p.topic, "bad", sample.replace(b'"schema_version":1', b'"schema_version":7')),
            OutgoingRecord(p.topic, "bad", sample[:-1] + b', "padding": "' + b"x" * BYTES_MAX + b'"}'),
        ]
    )

    async def settled() -> bool:
        return await applied(p) == 59 and len(await dlq.list_letters(p.engine, group_id=p.group)) == 5

    await wait_until(settled, "59 effects and 5 dead letters")
    letters = await dlq.list_letters(p.engine, group_id=p.group)
    reasons = sorted(letter.reason.split(":", 2)[1].strip() for letter in letters)
    assert reasons == [
        "MalformedMessage",
        "MessageTooLarge",
        "TransientError",
        "UnknownMessageType",
        "UnsupportedSchemaVersion",
    ]
    [poison] = [letter for letter in letters if letter.error_type == "TransientError"]
    assert poison.attempts == 3 and "retries exhausted after 3 attempts" in poison.reason

    await p.relay.run_once()  # make sure the dead-letter copies are on the bus
    async with p.bus.consumer(f"reader-{unique}", [f"{p.topic}.dlq"]) as reader:
        copies = await drain(reader, 5)
    assert {c.header("proud-dlq-reason") for c in copies} == {letter.reason.encode() for letter in letters}

    p.handler.fail_seqs.clear()  # the handler is fixed
    await dlq.replay(p.engine, poison.id, SystemClock())
    p.relay.notify()
    await wait_until(lambda: _equals(applied(p), 60), "the replayed message to apply")
    with pytest.raises(Conflict):
        await dlq.replay(p.engine, poison.id, SystemClock())
    await asyncio.sleep(0.5)
    async with p.engine.connect() as conn:
        seqs = (
            (await conn.execute(sa.select(effect_log.c.seq).where(effect_log.c.group_id == p.group)))
            .scalars()
            .all()
        )
    assert sorted(seqs) == list(range(60))


async def _equals(value: Awaitable[int], expected: int) -> bool:
    return await value == expected
