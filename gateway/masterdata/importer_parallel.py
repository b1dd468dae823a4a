"""A large JSONL import into PostgreSQL on two cores: checking in a worker process, writing in this one.

In one process the import is bound by Python: decoding, the OPM checks and encoding the COPY rows cost
more CPU per row than PostgreSQL spends storing it, and only the writes overlap with them. Here a worker
process (``importer_prepare.prepare_batch``; two of them, batches alternating) does all of that, and this
process reads the raw lines, hands them over a batch at a time, and streams the prepared bytes to
PostgreSQL in file order, so that the workers and the database work on both cores at once.

The outcome is the same as ``importer.import_rows``': the same batches, transactions and order, the same
rows and audit records (new OPMs as ``bulk`` writes them; codes that exist and repeated codes, and every
other kind of row, through the services as there). Audit ids are drawn from ``md_change``'s sequence ahead,
one per line of a batch, on a connection of their own: unused ones leave gaps, as rolled-back ones do.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.clock import Clock
from gateway.masterdata import bulk, bulk_audit
from gateway.masterdata.bulk_copy import copy_binary
from gateway.masterdata.importer import (
    APPLY_BY_KIND,
    BATCHES_AHEAD_MAX,
    ROW_DB_ERRORS,
    ImportRun,
    apply_existing,
    apply_one,
)
from gateway.masterdata.importer_apply import apply_opm
from gateway.masterdata.importer_prepare import RUN_TABLES, OpmRun, PreparedBatch, prepare_batch
from gateway.masterdata.importer_rows import Kind, ReadPosition, Row, decode_json_line, jsonl_lines
from gateway.store.db import is_postgres

#: Files from this size on are prepared in worker processes: a smaller one is done before a worker would
#: have started (about half a second) and paid for itself.
WORKER_FILE_BYTES_MIN: Final = 16 << 20
#: Worker processes. One worker alone is slower than PostgreSQL at storing what it prepares; with two, the
#: operating system spreads the workers, this process and the database over the cores there are.
WORKERS_MAX: Final = 2


def worth_a_worker(engine: AsyncEngine, path: Path, fmt: str, worker: bool | None) -> bool:
    """Whether ``import_file`` prepares in a worker: JSONL into PostgreSQL, large or asked for."""
    if fmt != "jsonl" or not is_postgres(engine):
        return False
    return worker if worker is not None else path.stat().st_size >= WORKER_FILE_BYTES_MIN


@dataclass(frozen=True, slots=True)
class _Job:
    now: dt.datetime
    lines: list[bytes | None]
    line_numbers: list[int]
    prepared: asyncio.Future[PreparedBatch]


_Queue = asyncio.Queue[_Job | Exception | None]


async def import_jsonl(
    engine: AsyncEngine, clock: Clock, path: Path, run: ImportRun, *, kind: Kind | None, batch_rows: int,
    dry_run: bool, on_batch: Callable[[int], None] | None, position: ReadPosition | None,
) -> None:
    """Import the JSONL file ``path`` into ``run``'s summary, preparing its batches in worker processes."""
    started = time.perf_counter()
    # spawn: a fork of this process would copy its event loop and threads into the worker.
    workers = min(WORKERS_MAX, os.cpu_count() or 1)
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
    # Batches in the workers' hands (besides the one being written): enough to keep every worker busy.
    queue: _Queue = asyncio.Queue(maxsize=max(BATCHES_AHEAD_MAX, workers))
    try:
        # Audit ids are drawn in autocommit, so that this connection holds no transaction open meanwhile.
        async with engine.connect() as ids_conn:
            ids_conn = await ids_conn.execution_options(isolation_level="AUTOCOMMIT")
            lines = jsonl_lines(path, position)
            reader = _produce(lines, batch_rows, kind, run.actor, clock, pool, ids_conn, queue)
            producer = asyncio.create_task(reader, name="import-reader")
            try:
                await _consume(engine, run, queue, dry_run, on_batch)
            finally:
                producer.cancel()
                await asyncio.gather(producer, return_exceptions=True)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    run.summary.elapsed_s = time.perf_counter() - started


async def _produce(
    lines: Iterator[tuple[int, bytes | None]], batch_rows: int, kind: Kind | None, actor: str, clock: Clock,
    pool: ProcessPoolExecutor, ids_conn: AsyncConnection, queue: _Queue,
) -> None:
    """Read batches of lines, draw their audit ids and hand them to the worker, ahead of the writer."""
    loop = asyncio.get_running_loop()
    try:
        while batch := list(itertools.islice(lines, batch_rows)):
            now = clock.now()
            line_numbers, raw = [number for number, _ in batch], [line for _, line in batch]
            change_ids = await bulk_audit.draw_change_ids(ids_conn, len(batch))
            prepared = loop.run_in_executor(
                pool, prepare_batch, raw, line_numbers, kind, actor, now, change_ids
            )
            await queue.put(_Job(now, raw, line_numbers, prepared))
    except Exception as exc:
        await queue.put(exc)
        return
    await queue.put(None)


async def _consume(
    engine: AsyncEngine, run: ImportRun, queue: _Queue, dry_run: bool, on_batch: Callable[[int], None] | None
) -> None:
    async with engine.connect() as conn:
        # A dry run keeps one transaction open over all batches, so rows may still refer to earlier ones.
        outer = await conn.begin() if dry_run else None
        while (job := await queue.get()) is not None:
            if isinstance(job, Exception):
                raise job
            prepared = await job.prepared
            async with conn.begin_nested() if dry_run else conn.begin():
                await _batch(conn, run, job, prepared)
            run.summary.rows += len(job.lines)
            if on_batch is not None:
                on_batch(len(job.lines))
        if outer is not None:
            await outer.rollback()


async def _batch(conn: AsyncConnection, run: ImportRun, job: _Job, prepared: PreparedBatch) -> None:
    for error in prepared.errors:
        run.fail(error)
    for item in prepared.items:
        if isinstance(item, OpmRun):
            await _opm_run(conn, run, job, item)
        else:
            await apply_one(conn, run, job.now, item, APPLY_BY_KIND[item.kind])


async def _opm_run(conn: AsyncConnection, run: ImportRun, job: _Job, item: OpmRun) -> None:
    """As ``importer``'s OPM runs: new codes written at once, existing and repeated ones one by one.

    A run without repeated codes is first written whole, without asking which codes exist: new codes are
    the rule, and ``uq_md_opm_code`` refuses any that exists (the savepoint then undoes the attempt, and
    the run takes the way below).
    """
    firsts: dict[str, int] = {}
    repeats: list[int] = []  # a code seen earlier in the run: compared with what that row stored
    for index, code in enumerate(item.codes):
        if code in firsts:
            repeats.append(index)
        else:
            firsts[code] = index
    if not repeats and await _copy_run(conn, item, None):
        run.summary.count("opm", "created", len(item.codes))
        return
    existing = await bulk.existing_codes(conn, list(firsts))
    keep = [index for code, index in firsts.items() if code not in existing]
    if keep:
        await _insert_new(conn, run, job, item, keep)
    rows = [_row(job, item, firsts[code]) for code in existing]
    checked = sorted(((row, bulk.validate_opm(row.data, decoded=row.decoded)[0]) for row in rows),
                     key=lambda pair: pair[0].line)
    await apply_existing(conn, run, job.now, checked)
    for index in repeats:
        await apply_one(conn, run, job.now, _row(job, item, index), apply_opm)


async def _copy_run(conn: AsyncConnection, item: OpmRun, keep: list[int] | None) -> bool:
    """COPY the prepared rows of the OPMs at ``keep`` (all when None) into the six tables, in a savepoint;
    False when the database refused them (and nothing was written)."""
    try:
        async with conn.begin_nested():
            for table, (name, columns) in enumerate(RUN_TABLES):
                rows = item.rows(table, keep)
                if rows:  # an OPM may have no meters
                    await copy_binary(conn, name, columns, rows)
    except ROW_DB_ERRORS:
        return False
    return True


async def _insert_new(
    conn: AsyncConnection, run: ImportRun, job: _Job, item: OpmRun, keep: list[int]
) -> None:
    if await _copy_run(conn, item, keep):
        run.summary.count("opm", "created", len(keep))
        return
    # Some row the checks passed was refused by the database (a code created meanwhile by another writer, a
    # value too long for its column): row by row through the service, to name it.
    for index in keep:
        await apply_one(conn, run, job.now, _row(job, item, index), apply_opm)


def _row(job: _Job, item: OpmRun, index: int) -> Row:
    """The row at ``index`` of the run, decoded again (it decoded in the worker; here it is needed rarely)."""
    at = item.indexes[index]
    line = job.lines[at]
    assert line is not None, "a line too long to read never reaches a run"
    row = decode_json_line(job.line_numbers[at], line)
    assert isinstance(row, Row), row
    return row
