"""``proud import masterdata``: customers, accounts, OPMs and contracts from JSONL or CSV, streamed.

The file is read one row at a time and written in batches of at most ``BATCH_ROWS_MAX`` rows, one
transaction per batch. Inside a batch, each customer, account or contract row runs in a savepoint, so a
refused row is rolled back alone; runs of OPM rows take the bulk path (``bulk``), validated first and then
written with multi-row statements. Rows are applied in file order, so a row may reference any record created
by an earlier row. A large JSONL file into PostgreSQL is checked in worker processes instead
(``importer_parallel``), with the same outcome.

Idempotent on natural keys (customer number, VS, OPM code, contract number): a record that exists and is
equal is left alone (no write, no audit row, no event); one that differs is updated through the services.
Every refused row becomes a ``RowError`` with its line, field, value and reason; the import goes on.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.clock import Clock
from gateway.errors import ProudError
from gateway.masterdata import bulk
from gateway.masterdata.importer_apply import (
    Outcome,
    apply_account,
    apply_contract,
    apply_customer,
    apply_opm,
    apply_opm_change,
)
from gateway.masterdata.importer_csv import read_csv
from gateway.masterdata.importer_rows import (
    KINDS,
    Format,
    Kind,
    ReadPosition,
    Row,
    RowError,
    alias_field,
    check_kind,
    read_jsonl,
)
from schemas.masterdata.opm import OpmIn

#: Rows per transaction: the default, and the most ``--batch`` accepts (the OPM bulk statement's size).
BATCH_ROWS_DEFAULT: Final = 2000
BATCH_ROWS_MAX: Final = bulk.OPM_BATCH_MAX
#: Batches read and checked ahead of the one being written (each up to ``BATCH_ROWS_MAX`` rows in memory).
BATCHES_AHEAD_MAX: Final = 2
#: Rows the reader checks before it lets the writer run again.
_YIELD_ROWS: Final = 25
#: Errors a summary keeps to show; all of them go to ``on_error`` (``--errors-out``).
ERRORS_KEPT_MAX: Final = 50
#: The "kind" errors of rows are counted under when the row's kind could not be read.
UNKNOWN_KIND: Final = "unknown"
#: File extensions and the format they mean when ``--format`` is not given.
FORMAT_BY_SUFFIX: Final[dict[str, Format]] = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv"}

Apply = Callable[[AsyncConnection, str, dt.datetime, Row], Awaitable[Outcome]]
APPLY_BY_KIND: Final[dict[str, Apply]] = {
    "customer": apply_customer, "account": apply_account, "contract": apply_contract, "opm": apply_opm,
}
# Row-level refusals from the database (a value too long for its column, a key taken concurrently): the row
# fails, the batch goes on. Lost connections and the like are not among them and stop the import.
ROW_DB_ERRORS: Final = (sa.exc.IntegrityError, sa.exc.DataError)


@dataclass(slots=True)
class KindCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0


@dataclass(slots=True)
class ImportSummary:
    """Counts per kind, the first ``ERRORS_KEPT_MAX`` errors and the total."""

    dry_run: bool = False
    counts: dict[str, KindCounts] = field(default_factory=lambda: {kind: KindCounts() for kind in KINDS})
    errors: list[RowError] = field(default_factory=list)
    rows: int = 0
    elapsed_s: float = 0.0

    @property
    def failed(self) -> int:
        return sum(counts.failed for counts in self.counts.values())

    @property
    def ok(self) -> bool:
        return self.failed == 0

    def total(self, outcome: str) -> int:
        return sum(getattr(counts, outcome) for counts in self.counts.values())

    def count(self, kind: str, outcome: Outcome, rows: int = 1) -> None:
        counts = self.counts[kind]
        setattr(counts, outcome, getattr(counts, outcome) + rows)

    def fail(self, error: RowError) -> None:
        kind = error.kind if error.kind in self.counts else UNKNOWN_KIND
        self.counts.setdefault(kind, KindCounts()).failed += 1
        if len(self.errors) < ERRORS_KEPT_MAX:
            self.errors.append(error)


@dataclass(slots=True)
class ImportRun:
    """One import: where it reports, and who it writes as."""

    actor: str
    summary: ImportSummary
    on_error: Callable[[RowError], None] | None

    def fail(self, error: RowError) -> None:
        self.summary.fail(error)
        if self.on_error is not None:
            self.on_error(error)


def detect_format(path: Path, given: Format | None) -> Format:
    if given is not None:
        return given
    found = FORMAT_BY_SUFFIX.get(path.suffix.lower())
    if found is None:
        known = ", ".join(FORMAT_BY_SUFFIX)
        raise ValueError(f"cannot tell the format of {path.name} from its extension ({known}); give --format")
    return found


def read_rows(
    path: Path, fmt: Format, kind: Kind | None, position: ReadPosition | None = None
) -> Iterator[Row | RowError]:
    """The rows of an import file, streamed. With JSONL, ``kind`` only checks the lines' own kinds."""
    if fmt == "csv":
        yield from read_csv(path, kind, position)
        return
    for row in read_jsonl(path, position):
        yield check_kind(row, kind)


Item = Row | RowError | bulk.Checked


@dataclass(frozen=True, slots=True)
class _Batch:
    now: dt.datetime
    items: list[Item]


def _prepare(row: Row | RowError, actor: str, now: dt.datetime) -> Item:
    return bulk.check_row(row, actor, now) if isinstance(row, Row) and row.kind == "opm" else row


_Queue = asyncio.Queue[_Batch | Exception | None]


async def _produce(
    rows: Iterator[Row | RowError], batch_rows: int, actor: str, clock: Clock, queue: _Queue
) -> None:
    """Read, decode and check batches ahead of the writer (CPU work done while the database works).

    Hands control back every ``_YIELD_ROWS`` rows, so that the writer keeps feeding the database meanwhile.
    A failure to read is handed to the writer, which raises it; ``None`` ends the stream.
    """
    try:
        while True:
            now = clock.now()
            items: list[Item] = []
            for row in itertools.islice(rows, batch_rows):
                items.append(_prepare(row, actor, now))
                if len(items) % _YIELD_ROWS == 0:
                    await asyncio.sleep(0)
            if not items:
                break
            await queue.put(_Batch(now, items))
    except Exception as exc:
        await queue.put(exc)
        return
    await queue.put(None)


async def import_rows(
    engine: AsyncEngine, clock: Clock, rows: Iterable[Row | RowError], *, actor: str,
    batch_rows: int = BATCH_ROWS_DEFAULT, dry_run: bool = False,
    on_error: Callable[[RowError], None] | None = None, on_batch: Callable[[int], None] | None = None,
) -> ImportSummary:
    """Import ``rows`` in batches; with ``dry_run`` everything is checked and written, then rolled back."""
    assert 1 <= batch_rows <= BATCH_ROWS_MAX, batch_rows
    assert actor.startswith("import:"), actor
    run = ImportRun(actor, ImportSummary(dry_run=dry_run), on_error)
    started = time.perf_counter()
    queue: _Queue = asyncio.Queue(maxsize=BATCHES_AHEAD_MAX)
    reader = _produce(iter(rows), batch_rows, actor, clock, queue)
    producer = asyncio.create_task(reader, name="import-reader")
    try:
        async with engine.connect() as conn:
            # A dry run keeps one transaction open over all batches, so rows may still refer to earlier ones.
            outer = await conn.begin() if dry_run else None
            while (batch := await queue.get()) is not None:
                if isinstance(batch, Exception):
                    raise batch
                async with conn.begin_nested() if dry_run else conn.begin():
                    await _batch(conn, run, batch)
                run.summary.rows += len(batch.items)
                if on_batch is not None:
                    on_batch(len(batch.items))
            if outer is not None:
                await outer.rollback()
    finally:
        # The reader touches no database: stopping it anywhere is safe.
        producer.cancel()
        await asyncio.gather(producer, return_exceptions=True)
    run.summary.elapsed_s = time.perf_counter() - started
    return run.summary


async def _batch(conn: AsyncConnection, run: ImportRun, batch: _Batch) -> None:
    rows: list[Row | bulk.Checked] = []
    for item in batch.items:
        if isinstance(item, RowError):
            run.fail(item)
        else:
            rows.append(item)
    # Consecutive rows of one kind form a run; runs are applied in file order.
    for kind, same_kind in itertools.groupby(rows, key=_kind):
        group = list(same_kind)
        if kind == "opm":
            await _opm_run(conn, run, batch.now, [item for item in group if isinstance(item, bulk.Checked)])
            continue
        for row in group:
            assert isinstance(row, Row)
            await apply_one(conn, run, batch.now, row, APPLY_BY_KIND[kind])


def _kind(item: Row | bulk.Checked) -> str:
    return item.row.kind if isinstance(item, bulk.Checked) else item.kind


async def apply_one(conn: AsyncConnection, run: ImportRun, now: dt.datetime, row: Row, apply: Apply) -> None:
    """Apply one row in a savepoint: refused, it is rolled back alone and reported."""
    try:
        async with conn.begin_nested():
            outcome = await apply(conn, run.actor, now, row)
    except ProudError as exc:
        if exc.retryable:
            raise
        run.fail(_row_error(row, exc))
        return
    except ROW_DB_ERRORS as exc:
        run.fail(RowError(row.line, row.kind, row.key, "", None, f"refused by the database: {exc.orig}"))
        return
    run.summary.count(row.kind, outcome)


def _row_error(row: Row, exc: ProudError) -> RowError:
    """The service's error as a row error; a CSV row names the column the field came from."""
    field_name = alias_field(getattr(exc, "field", ""), row.aliases)
    return RowError(row.line, row.kind, row.key, field_name, getattr(exc, "value", None),
                    getattr(exc, "reason", exc.message))


async def _opm_run(
    conn: AsyncConnection, run: ImportRun, now: dt.datetime, checked: list[bulk.Checked]
) -> None:
    """Bulk path: existing codes found in one query, new OPMs inserted with multi-row statements."""
    firsts: dict[str, bulk.Checked] = {}
    repeats: list[Row] = []  # a code seen earlier in the run: compared with what that row stored
    for item in checked:
        if item.data.code in firsts:
            repeats.append(item.row)
        else:
            firsts[item.data.code] = item
    existing = await bulk.existing_codes(conn, list(firsts))
    new = [item for code, item in firsts.items() if code not in existing]
    if new:
        await _insert_new(conn, run, now, new)
    stored = [firsts[code] for code in sorted(existing, key=lambda c: firsts[c].row.line)]
    await apply_existing(conn, run, now, [(item.row, item.data) for item in stored])
    for row in repeats:
        await apply_one(conn, run, now, row, apply_opm)


async def apply_existing(conn: AsyncConnection, run: ImportRun, now: dt.datetime,
                         rows: list[tuple[Row, OpmIn]]) -> None:
    """OPM rows (checked, in file order) whose codes exist: left alone when equal to the stored OPM,
    otherwise brought in line through the services."""
    if not rows:
        return
    stored = await bulk.load_stored(conn, sorted(data.code for _, data in rows))
    for row, data in rows:
        found = bulk.differences(data, stored[data.code])
        if not found:
            run.summary.count("opm", "unchanged")
            continue
        await apply_one(conn, run, now, row, _change(data, stored[data.code], found))


def _change(data: OpmIn, stored: bulk.Stored, found: list[str]) -> Apply:
    async def apply(conn: AsyncConnection, actor: str, now: dt.datetime, _row: Row) -> Outcome:
        return await apply_opm_change(conn, actor, now, data, stored, found)
    return apply


async def _insert_new(
    conn: AsyncConnection, run: ImportRun, now: dt.datetime, new: list[bulk.Checked]
) -> None:
    try:
        async with conn.begin_nested():
            await bulk.insert_new(conn, run.actor, now, new)
    except ROW_DB_ERRORS:
        # Some row the checks passed was refused by the database (a code created meanwhile by another
        # writer, a value too long for its column): row by row through the service, to name it.
        for item in new:
            await apply_one(conn, run, now, item.row, apply_opm)
        return
    run.summary.count("opm", "created", len(new))


async def import_file(
    engine: AsyncEngine, clock: Clock, path: Path, *, fmt: Format | None = None, kind: Kind | None = None,
    batch_rows: int = BATCH_ROWS_DEFAULT, dry_run: bool = False,
    on_error: Callable[[RowError], None] | None = None, on_batch: Callable[[int], None] | None = None,
    position: ReadPosition | None = None, worker: bool | None = None,
) -> ImportSummary:
    """Import one file as ``import:<file name>``; ``position`` follows the bytes read (progress).

    ``worker``: check the rows in a worker process while this one writes (``importer_parallel``; JSONL into
    PostgreSQL only). By default a file of ``WORKER_FILE_BYTES_MIN`` or more is.
    """
    fmt = detect_format(path, fmt)
    # importer_parallel builds on this module, so it can only be imported once this one is.
    from gateway.masterdata import importer_parallel

    actor = f"import:{path.name}"
    if importer_parallel.worth_a_worker(engine, path, fmt, worker):
        assert 1 <= batch_rows <= BATCH_ROWS_MAX, batch_rows
        run = ImportRun(actor, ImportSummary(dry_run=dry_run), on_error)
        await importer_parallel.import_jsonl(
            engine, clock, path, run, kind=kind, batch_rows=batch_rows, dry_run=dry_run, on_batch=on_batch,
            position=position,
        )
        return run.summary
    rows = read_rows(path, fmt, kind, position)
    return await import_rows(
        engine, clock, rows, actor=actor, batch_rows=batch_rows, dry_run=dry_run, on_error=on_error,
        on_batch=on_batch,
    )
