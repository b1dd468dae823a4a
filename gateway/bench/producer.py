"""The producer side of ``proud bench bus``: transactions that write the outbox, and the relay publishing it.

It can run in the benchmark's own process or in a second OS process. A deployment runs the services that
write the outbox apart from the consumers; on a small machine that also gives each side a core of its own,
whereas one Python process can use only one.

Timing stays with the consumer's process: the clock starts just before it tells the producer process to
write its first transaction, and stops after the last consumer commit, so the figure covers the whole path
(and the producer process's start-up, which happens before, does not count).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import multiprocessing.connection
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway import limits
from gateway.bus import outbox
from gateway.bus.base import Bus
from gateway.bus.kafka import KafkaBus
from gateway.bus.outbox import OutboxRelay
from gateway.bus.sqllog import SqlLogBus
from gateway.clock import SystemClock
from gateway.store.db import create_engine
from schemas.bench import BenchEvent
from schemas.envelope import new_envelope

#: Events the producer writes per outbox transaction (a handler emitting a burst, or an import batch).
PRODUCER_TXN_EVENTS = 1_000
#: Distinct keys (entities) the events are spread over.
BENCH_KEYS = 1_000
#: How long the producer process may take to start (imports, connections, relay election).
PRODUCER_START_TIMEOUT_S = 60.0
#: How long it may take to stop after the run (the relay finishes its round) before it is terminated.
PRODUCER_STOP_TIMEOUT_S = 30.0

Consume = Callable[[Callable[[], None]], Awaitable[list[float]]]


async def produce(engine: AsyncEngine, relay: OutboxRelay, topic: str, run_id: str, events: int) -> None:
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
        await asyncio.sleep(0)  # let the relay (and, in one process, the consumer) take turns


def new_relay(engine: AsyncEngine, bus: Bus) -> OutboxRelay:
    return OutboxRelay(
        engine, bus, clock=SystemClock(), batch_max=limits.OUTBOX_BATCH_MAX, poll_interval_s=0.005,
        sent_retention_s=60.0,
    )


@dataclass(frozen=True, slots=True)
class ProducerSide:
    """What a producer process needs to build its own engine and bus (they cannot cross processes)."""

    database_url: str
    backend: str  # "kafka" or "sql"
    bootstrap: str

    def bus(self, engine: AsyncEngine) -> Bus:
        if self.backend == "kafka":
            return KafkaBus(self.bootstrap)
        return SqlLogBus(engine, clock=SystemClock())


async def _producer_process(
    side: ProducerSide, topic: str, run_id: str, events: int, pipe: multiprocessing.connection.Connection
) -> None:
    loop = asyncio.get_running_loop()
    engine = create_engine(side.database_url)
    bus = side.bus(engine)
    relay = new_relay(engine, bus)
    try:
        await bus.start()
        await relay.start()
        pipe.send("ready")
        await loop.run_in_executor(None, pipe.recv)  # "go"
        await produce(engine, relay, topic, run_id, events)
        await loop.run_in_executor(None, pipe.recv)  # "stop": the consumer has applied every event
    finally:
        await relay.stop()
        await bus.stop()
        await engine.dispose()


def _producer_main(
    side: ProducerSide, topic: str, run_id: str, events: int, pipe: multiprocessing.connection.Connection
) -> None:
    asyncio.run(_producer_process(side, topic, run_id, events, pipe))


async def two_processes(
    side: ProducerSide, topic: str, run_id: str, events: int, consume: Consume, timeout_s: float
) -> tuple[float, list[float]]:
    """Run the producer and relay in a child process while ``consume`` runs here; (elapsed_s, latencies)."""
    loop = asyncio.get_running_loop()
    context = multiprocessing.get_context("spawn")  # no forked copy of this process's event loop
    pipe, child_pipe = context.Pipe()
    process = context.Process(
        target=_producer_main, args=(side, topic, run_id, events, child_pipe), name="bench-producer"
    )
    process.start()
    child_pipe.close()  # so that our recv fails (EOFError) instead of hanging if the child dies

    def check() -> None:
        if not process.is_alive():
            raise RuntimeError(f"bench producer process exited early (code {process.exitcode})")

    try:
        ready = loop.run_in_executor(None, pipe.recv)
        await asyncio.wait_for(ready, PRODUCER_START_TIMEOUT_S)
        started = time.perf_counter()
        pipe.send("go")
        latencies = await asyncio.wait_for(consume(check), timeout_s)
        elapsed_s = time.perf_counter() - started
        pipe.send("stop")
        await loop.run_in_executor(None, process.join, PRODUCER_STOP_TIMEOUT_S)
    finally:
        if process.is_alive():  # failed or timed out: the producer's remaining work is moot
            process.terminate()
            await loop.run_in_executor(None, process.join)
    if process.exitcode != 0:
        raise RuntimeError(f"bench producer process failed (exit code {process.exitcode})")
    return elapsed_s, latencies
