"""What the import tests share: files written from fake data, row counts, and the database parameter."""

from __future__ import annotations

import asyncio
import concurrent.futures
import csv
import datetime as dt
from collections.abc import Iterable
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.clock import ManualClock
from gateway.masterdata import fake, importer_parallel
from gateway.masterdata.importer_csv import csv_cells
from gateway.masterdata.importer_rows import Record, encode_record
from gateway.store.db import create_engine
from gateway.store.migrate import upgrade_sync

NOW = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
TABLES = (
    "md_customer", "md_account", "md_opm", "md_address", "md_opm_technical", "md_meter", "md_contract",
    "md_contract_terms", "md_supply", "md_change", "outbox",
)
DATABASES = ("sqlite_url", "pg_url")
#: PostgreSQL with every JSONL file, however small, checked in worker processes (``importer_parallel``).
PG_WITH_WORKERS = "pg_url_workers"
IMPORT_DATABASES = (*DATABASES, PG_WITH_WORKERS)


@pytest.fixture(scope="session")
def pg_workers_url(pg_url: str) -> str:
    """A database of its own next to ``pg_url``'s, emptied and migrated once per session: the tests run a
    second time with workers there, on the same fake-data keys as on ``pg_url``."""
    base, name = pg_url.rsplit("/", 1)
    url = f"{base}/{name}_workers"

    async def reset() -> None:
        engine = create_engine(pg_url)
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}_workers" WITH (FORCE)'))
            await conn.execute(sa.text(f'CREATE DATABASE "{name}_workers"'))
        await engine.dispose()

    # A thread of its own: this fixture may be set up from inside a running event loop.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, reset()).result()
    upgrade_sync(url)
    return url


def import_database(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The URL of ``request.param`` (one of ``IMPORT_DATABASES``); with workers, every JSONL import of the
    test is prepared in worker processes, as a large file is."""
    if request.param == PG_WITH_WORKERS:
        monkeypatch.setattr(importer_parallel, "WORKER_FILE_BYTES_MIN", 0)
        url: str = request.getfixturevalue("pg_workers_url")
    else:
        url = request.getfixturevalue(request.param)
    return url


def clock() -> ManualClock:
    return ManualClock(NOW)


def write_jsonl(path: Path, records: Iterable[Record | bytes]) -> Path:
    """Records as import lines; bytes are written as they are (broken lines for the error tests)."""
    with path.open("wb") as stream:
        for record in records:
            stream.write(record if isinstance(record, bytes) else encode_record(record))
    return path


def write_csv(path: Path, records: Iterable[Record], *, kind_column: str | None = None) -> Path:
    rows = [csv_cells(record) for record in records]
    if kind_column is not None:
        rows = [{"kind": kind_column, **row} for row in rows]
    columns = list(dict.fromkeys(column for row in rows for column in row))
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def fake_data(seed: int, customers: int) -> list[Record]:
    return list(fake.fake_records(seed, customers))


async def counts(engine: AsyncEngine) -> dict[str, int]:
    """Rows per master-data table, the audit trail and the outbox."""
    async with engine.connect() as conn:
        return {
            table: int(await conn.scalar(sa.text(f"SELECT count(*) FROM {table}")) or 0) for table in TABLES
        }


def grew(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {table: after[table] - before[table] for table in TABLES if after[table] != before[table]}
