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
from gateway.gc_tuning import tune_gc
from gateway.readings.bulk_decode import decode_electricity, readings_at_most
from gateway.readings.classify import Decision
from gateway.readings.prepare import NewRows, PreparedBatch, prepare_batch
from gateway.readings.store import READINGS_PER_BATCH_MAX, copy_new, draw_ids, file_readings
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

    def count_new(self, rows: NewRows) -> None:
        self.readings += len(rows.ids)
        self.registers += rows.register_count


def prepare_message(data: bytes, now: dt.datetime, ids: Sequence[int]) -> list[NewRows | PreparedBatch]:
    """A worker's part: the message's readings decoded and prepared, in batches the store takes. With ids
    enough for all of them, a batch whose meters and periods do not repeat comes as its rows written as new
    readings (``NewRows``); otherwise as a ``PreparedBatch`` for the store to decide."""
    readings = decode_electricity(data)
    enough = len(readings) <= len(ids)
    prepared: list[NewRows | PreparedBatch] = []
    for start in range(0, len(readings), READINGS_PER_BATCH_MAX):
        batch = prepare_batch(readings[start : start + READINGS_PER_BATCH_MAX], now)
        new = enough and batch.unique_keys()
        prepared.append(batch.new_rows(ids[start : start + len(batch)]) if new else batch)
    return prepared


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


@dataclass(frozen=True, slots=True)
class _Job:
    data: bytes
    now: dt.datetime
    prepared: asyncio.Future[list[NewRows | PreparedBatch]]


async def _file_in_workers(
    engine: AsyncEngine, clock: Clock, paths: Sequence[Path], workers: int, summary: BulkSummary,
    on_message: Callable[[BulkSummary], None] | None,
) -> None:
    # spawn: a fork would copy this process's event loop and threads into the worker. The workers allocate
    # a few objects per value they read: the collector is tuned as in the daemon (it took a fifth of them).
    pool = ProcessPoolExecutor(
        max_workers=workers, mp_context=multiprocessing.get_context("spawn"), initializer=tune_gc
    )
    queue: asyncio.Queue[_Job | None] = asyncio.Queue(maxsize=MESSAGES_AHEAD_MAX)
    try:
        # Ids are drawn in autocommit, so that this connection holds no transaction open meanwhile.
        async with engine.connect() as ids_conn:
            ids_conn = await ids_conn.execution_options(isolation_level="AUTOCOMMIT")
            reader = _produce(paths, clock, pool, ids_conn, queue)
            producer = asyncio.create_task(reader, name="readings-bulk-reader")
            try:
                async with engine.connect() as conn:
                    while (job := await queue.get()) is not None:
                        await _file_job(conn, job, summary)
                        if on_message is not None:
                            on_message(summary)
                await producer
            finally:
                producer.cancel()
                await asyncio.gather(producer, return_exceptions=True)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


async def _produce(
    paths: Sequence[Path], clock: Clock, pool: ProcessPoolExecutor, ids_conn: AsyncConnection,
    queue: asyncio.Queue[_Job | None],
) -> None:
    """Read the files and hand them to the workers with their ids, ahead of the writer."""
    loop = asyncio.get_running_loop()
    for path in paths:
        now = clock.now()
        data = await asyncio.to_thread(path.read_bytes)
        # Drawn before decoding, so that the worker writes the rows whole; more than needed leaves gaps.
        upper = readings_at_most(data)
        ids = await draw_ids(ids_conn, upper) if upper else []
        await queue.put(_Job(data, now, loop.run_in_executor(pool, prepare_message, data, now, ids)))
    await queue.put(None)


async def _file_job(conn: AsyncConnection, job: _Job, summary: BulkSummary) -> None:
    """One message, in one transaction: new rows at once; batches the store must decide, decided."""
    prepared = await job.prepared
    here: list[NewRows | PreparedBatch] | None = None
    async with conn.begin():
        for index, item in enumerate(prepared):
            if isinstance(item, NewRows):
                if await copy_new(conn, item):
                    summary.count_new(item)
                    continue
                # A meter and period of the batch has a reading in force: prepared again (here, rarely)
                # for the store to decide.
                here = here or prepare_message(job.data, job.now, ())
                item = here[index]
                assert isinstance(item, PreparedBatch)
            summary.count(item, await file_readings(conn, item, job.now))
    summary.messages += 1


async def _file_here(
    engine: AsyncEngine, clock: Clock, paths: Sequence[Path], summary: BulkSummary,
    on_message: Callable[[BulkSummary], None] | None,
) -> None:
    async with engine.connect() as conn:
        for path in paths:
            now = clock.now()
            readings = decode_electricity(await asyncio.to_thread(path.read_bytes))
            async with conn.begin():
                for start in range(0, len(readings), READINGS_PER_BATCH_MAX):
                    chunk = readings[start : start + READINGS_PER_BATCH_MAX]
                    batch = prepare_batch(chunk, now)
                    summary.count(batch, await file_readings(conn, batch, now, chunk))
            summary.messages += 1
            if on_message is not None:
                on_message(summary)
