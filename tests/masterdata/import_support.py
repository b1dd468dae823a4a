"""What the import tests share: files written from fake data, row counts, and the database parameter."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.clock import ManualClock
from gateway.masterdata import fake
from gateway.masterdata.importer_csv import csv_cells
from gateway.masterdata.importer_rows import Record, encode_record

NOW = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
TABLES = (
    "md_customer", "md_account", "md_opm", "md_address", "md_opm_technical", "md_meter", "md_contract",
    "md_contract_terms", "md_supply", "md_change", "outbox",
)
DATABASES = ("sqlite_url", "pg_url")


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
