"""``proud bench bus``: end-to-end throughput and latency of the event path.

One event travels: producer transaction writes it to the outbox → the relay publishes it to the bus →
the consumer fetches it → one database transaction inserts its inbox row and updates its key's state row
(``bench_state``) → the consumer commits the offset. Latency is measured from the event's ``occurred_at``
(set just before the outbox insert) to the consumer's commit; throughput is events over the wall time from
the first outbox insert to the last commit. The figures are printed as the last line:

    events_per_s=<n> p50_ms=<n> p99_ms=<n>
"""

from __future__ import annotations

import asyncio
import datetime as dt
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.bench.handler import BenchHandler
from gateway.bus import outbox
from gateway.bus.base import Bus
from gateway.bus.handler import HandlerContext, Subscription
from gateway.bus.outbox import OutboxRelay
from gateway.bus.retry import RetryPolicy
from gateway.bus.runner import ConsumerRunner
from gateway.bus.topics import TopicSpec
from gateway.clock import SystemClock
from gateway.ids import uuid7
from gateway.store.tables import bench_state, inbox
from gateway.store.tables import outbox as outbox_table
from schemas.bench import BenchEvent
from schemas.envelope import new_envelope

#: Events the producer writes per outbox transaction (a handler emitting a burst, or an import batch).
PRODUCER_TXN_EVENTS = 1_000
#: Distinct keys (entities) the events are spread over.
BENCH_KEYS = 1_000
#: A run that has not finished after this long is reported as failed rather than waited on forever.
BENCH_TIMEOUT_S = 900.0


@dataclass(frozen=True, slots=True)
class BenchResult:
    backend: str
    events: int
    elapsed_s: float
    latencies_ms: Sequence[float]

    @property
    def events_per_s(self) -> float:
        return self.events / self.elapsed_s

    def percentile_ms(self, fraction: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]

    def line(self) -> str:
        return (
            f"events_per_s={self.events_per_s:.0f} p50_ms={self.percentile_ms(0.50):.1f} "
            f"p99_ms={self.percentile_ms(0.99):.1f}"
        )


class _Probe:
    """Collects ``occurred_at`` of applied events; latency is taken once their transaction committed."""

    def __init__(self, inner: BenchHandler) -> None:
        self._inner = inner
        self.pending: list[dt.datetime] = []

    async def one(self, ctx: HandlerContext) -> None:
        await self.many([ctx])

    async def many(self, contexts: Sequence[HandlerContext]) -> None:
        await self._inner.many(contexts)
        self.pending.extend(ctx.envelope.occurred_at for ctx in contexts)


async def _produce(engine: AsyncEngine, relay: OutboxRelay, topic: str, run_id: str, events: int) -> None:
    clock = SystemClock()
    for start in range(0, events, PRODUCER_TXN_EVENTS):
        now = clock.now()
        items = [
            outbox.envelope_record(
                topic, new_envelope(BenchEvent(seq=seq), key=f"{run_id}-{seq % BENCH_KEYS}", now=now)
            )
            for seq in range(start, min(events, start + PRODUCER_TXN_EVENTS))
        ]
        async with engine.begin() as conn:
            await outbox.add(conn, items, now)
        relay.notify()
        await asyncio.sleep(0)  # let the relay and the consumer take turns with the producer


async def _consume(runner: ConsumerRunner, probe: _Probe, events: int) -> list[float]:
    latencies_ms: list[float] = []
    while len(latencies_ms) < events:
        await runner.run_once()
        if probe.pending:
            now = dt.datetime.now(dt.UTC)
            latencies_ms += [(now - t).total_seconds() * 1000 for t in probe.pending]
            probe.pending.clear()
    return latencies_ms


async def run_bench(engine: AsyncEngine, bus: Bus, *, events: int, partitions: int) -> BenchResult:
    assert events > 0
    run_id = uuid7().hex[:12]
    topic = f"bench.run-{run_id}"
    await bus.ensure_topics([TopicSpec(topic, "bench key", partitions, retention_ms=3_600_000)], partitions)
    clock = SystemClock()
    relay = OutboxRelay(
        engine, bus, clock=clock, batch_max=2_000, poll_interval_s=0.005, sent_retention_s=60.0
    )
    probe = _Probe(BenchHandler(log_effects=False))
    group = f"bench-{run_id}"
    runner = ConsumerRunner(
        engine=engine, bus=bus, subscription=Subscription(group, (topic,), probe.one, probe.many),
        clock=clock, retry=RetryPolicy(), batch_max=500, poll_timeout_s=0.05, message_bytes_max=10_000,
    )
    await runner.start_consumer()
    await relay.start()
    try:
        started = time.perf_counter()
        producer = asyncio.create_task(_produce(engine, relay, topic, run_id, events))
        latencies = await asyncio.wait_for(_consume(runner, probe, events), BENCH_TIMEOUT_S)
        elapsed_s = time.perf_counter() - started
        await producer
    finally:
        await relay.stop()
        await runner.stop()
    await _cleanup(engine, topic, group, run_id)
    return BenchResult(bus.backend, events, elapsed_s, latencies)


async def _cleanup(engine: AsyncEngine, topic: str, group: str, run_id: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(inbox.delete().where(inbox.c.group_id == group))
        await conn.execute(outbox_table.delete().where(outbox_table.c.topic == topic))
        await conn.execute(bench_state.delete().where(bench_state.c.key.like(f"{run_id}-%")))


def summary(result: BenchResult) -> str:
    return (
        f"backend={result.backend} events={result.events} elapsed_s={result.elapsed_s:.2f} "
        f"mean_ms={statistics.fmean(result.latencies_ms):.1f} max_ms={max(result.latencies_ms):.1f}"
    )



