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
import functools
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway import limits
from gateway.bench.handler import BenchHandler
from gateway.bench.producer import ProducerSide, new_relay, produce, two_processes
from gateway.bus.base import Bus
from gateway.bus.handler import HandlerContext, Subscription
from gateway.bus.retry import RetryPolicy
from gateway.bus.runner import ConsumerRunner
from gateway.bus.topics import TopicSpec
from gateway.clock import SystemClock
from gateway.ids import uuid7
from gateway.store.tables import bench_state, inbox
from gateway.store.tables import outbox as outbox_table

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


async def _consume(
    runner: ConsumerRunner, probe: _Probe, events: int, check: Callable[[], None] = lambda: None
) -> list[float]:
    latencies_ms: list[float] = []
    while len(latencies_ms) < events:
        check()
        await runner.run_once()
        if probe.pending:
            now = dt.datetime.now(dt.UTC)
            latencies_ms += [(now - t).total_seconds() * 1000 for t in probe.pending]
            probe.pending.clear()
    return latencies_ms


async def run_bench(
    engine: AsyncEngine, bus: Bus, *, events: int, partitions: int, producer: ProducerSide | None = None
) -> BenchResult:
    """Push ``events`` end to end. With ``producer``, the producer and the relay run in a second OS process
    (as deployed: the service that writes the outbox is not the one consuming), so each side has a core."""
    assert events > 0
    run_id = uuid7().hex[:12]
    topic = f"bench.run-{run_id}"
    await bus.ensure_topics([TopicSpec(topic, "bench key", partitions, retention_ms=3_600_000)], partitions)
    probe = _Probe(BenchHandler(log_effects=False))
    group = f"bench-{run_id}"
    runner = ConsumerRunner(
        engine=engine, bus=bus, subscription=Subscription(group, (topic,), probe.one, probe.many),
        clock=SystemClock(), retry=RetryPolicy(), batch_max=limits.CONSUMER_BATCH_MAX, poll_timeout_s=0.05,
        message_bytes_max=10_000,
    )
    await runner.start_consumer()
    try:
        if producer is None:
            elapsed_s, latencies = await _in_process(engine, bus, runner, probe, topic, run_id, events)
        else:
            consume = functools.partial(_consume, runner, probe, events)
            elapsed_s, latencies = await two_processes(
                producer, topic, run_id, events, consume, BENCH_TIMEOUT_S
            )
    finally:
        await runner.stop()
    await _cleanup(engine, topic, group, run_id)
    return BenchResult(bus.backend, events, elapsed_s, latencies)


async def _in_process(
    engine: AsyncEngine, bus: Bus, runner: ConsumerRunner, probe: _Probe, topic: str, run_id: str, events: int
) -> tuple[float, list[float]]:
    relay = new_relay(engine, bus)
    await relay.start()
    try:
        started = time.perf_counter()
        producer = asyncio.create_task(produce(engine, relay, topic, run_id, events))
        latencies = await asyncio.wait_for(_consume(runner, probe, events), BENCH_TIMEOUT_S)
        elapsed_s = time.perf_counter() - started
        await producer
    finally:
        await relay.stop()
    return elapsed_s, latencies


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



