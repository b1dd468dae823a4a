"""Filing many CDSDATA messages at bulk rates (``proud bench readings``; a bulk load of metered data).

Each message is read by ``bulk_decode`` (the codec's guarded parse and XSD, then one walk), prepared
(``prepare``) and filed (``store.file_readings``) in one transaction per message: the same decisions, rows and
``meter.reading`` events as the consumer makes, only more readings per statement.

On PostgreSQL the decoding and preparing — most of the CPU — runs in worker processes, ``WORKERS_MAX`` of
them, messages alternating, while this process reads the files, hands them over ahead (at most
``MESSAGES_AHEAD_MAX`` in the workers' hands) and writes the prepared batches in file order; the database
works meanwhile. So the workers, the database and this process share the cores there are. On SQLite, whose
rows are written from the readings themselves, everything runs in this process.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import multiprocessing
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.clock import Clock
from gateway.readings.bulk_decode import decode_electricity
from gateway.readings.classify import Decision
from gateway.readings.model import Incoming
from gateway.readings.prepare import PreparedBatch, prepare_batch
from gateway.readings.store import READINGS_PER_BATCH_MAX, file_readings
from gateway.store.db import is_postgres

#: Worker processes on PostgreSQL: with two, the workers, the database and this process keep two cores busy.
WORKERS_MAX: Final = 2
#: Messages handed to the workers ahead of the one being written: enough to keep every worker busy.
MESSAGES_AHEAD_MAX: Final = 4
#: Messages one call files at most (one file each).
MESSAGES_MAX: Final = 1_000_000


@dataclass(slots=True)
class BulkSummary:
    messages: int = 0
    readings: int = 0
    #: Register values written (a duplicate writes none): the rows of ``rd_register``.
    registers: int = 0
    duplicates: int = 0
    corrections: int = 0
    #: ``time.perf_counter()`` when filing began, and the seconds it took (set at the end).
    started: float = 0.0
    elapsed_s: float = 0.0

    def count(self, batch: PreparedBatch, decisions: Sequence[Decision]) -> None:
        self.readings += len(decisions)
        for index, decision in enumerate(decisions):
            if decision.status == "duplicate":
                self.duplicates += 1
                continue
            self.corrections += decision.status == "correction"
            self.registers += len(batch.register_lines[index])


def prepare_message(data: bytes, now: dt.datetime) -> list[PreparedBatch]:
    """A worker's part: the message's readings decoded and prepared, in batches the store takes."""
    readings = decode_electricity(data)
    return [
        prepare_batch(readings[start : start + READINGS_PER_BATCH_MAX], now)
        for start in range(0, len(readings), READINGS_PER_BATCH_MAX)
    ]


async def file_messages(
    engine: AsyncEngine, clock: Clock, paths: Sequence[Path], *, workers: int | None = None,
    on_message: Callable[[BulkSummary], None] | None = None,
) -> BulkSummary:
    """File the CDSDATA messages in ``paths``, in order, one transaction each."""
    assert 0 < len(paths) <= MESSAGES_MAX, len(paths)
    summary = BulkSummary(started=time.perf_counter())
    if is_postgres(engine):
        count = min(WORKERS_MAX, os.cpu_count() or 1) if workers is None else workers
        assert 1 <= count <= WORKERS_MAX, count
        await _file_in_workers(engine, clock, paths, count, summary, on_message)
    else:
        await _file_here(engine, clock, paths, summary, on_message)
    summary.elapsed_s = time.perf_counter() - summary.started
    return summary


async def _file_in_workers(
    engine: AsyncEngine, clock: Clock, paths: Sequence[Path], workers: int, summary: BulkSummary,
    on_message: Callable[[BulkSummary], None] | None,
) -> None:
    loop = asyncio.get_running_loop()
    # spawn: a fork would copy this process's event loop and threads into the worker.
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
    queue: asyncio.Queue[tuple[dt.datetime, asyncio.Future[list[PreparedBatch]]] | None] = asyncio.Queue(
        maxsize=MESSAGES_AHEAD_MAX
    )

    async def produce() -> None:
        for path in paths:
            now = clock.now()
            data = await asyncio.to_thread(path.read_bytes)
            await queue.put((now, loop.run_in_executor(pool, prepare_message, data, now)))
        await queue.put(None)

    producer = asyncio.create_task(produce(), name="readings-bulk-reader")
    try:
        async with engine.connect() as conn:
            while (job := await queue.get()) is not None:
                now, prepared = job
                await _file(conn, await prepared, now, None, summary)
                if on_message is not None:
                    on_message(summary)
        await producer
    finally:
        producer.cancel()
        await asyncio.gather(producer, return_exceptions=True)
        pool.shutdown(wait=True, cancel_futures=True)


async def _file_here(
    engine: AsyncEngine, clock: Clock, paths: Sequence[Path], summary: BulkSummary,
    on_message: Callable[[BulkSummary], None] | None,
) -> None:
    async with engine.connect() as conn:
        for path in paths:
            now = clock.now()
            readings = decode_electricity(await asyncio.to_thread(path.read_bytes))
            cuts = range(0, len(readings), READINGS_PER_BATCH_MAX)
            chunks = [readings[start : start + READINGS_PER_BATCH_MAX] for start in cuts]
            batches = [prepare_batch(chunk, now) for chunk in chunks]
            await _file(conn, batches, now, chunks, summary)
            if on_message is not None:
                on_message(summary)


async def _file(
    conn: AsyncConnection, batches: list[PreparedBatch], now: dt.datetime,
    readings: list[list[Incoming]] | None, summary: BulkSummary,
) -> None:
    """One message: its batches in one transaction."""
    async with conn.begin():
        for index, batch in enumerate(batches):
            decisions = await file_readings(conn, batch, now, None if readings is None else readings[index])
            summary.count(batch, decisions)
    summary.messages += 1
