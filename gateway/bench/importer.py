"""``proud bench import``: OPM records per second through the real import path.

N fake OPMs (``fake.fake_opms``: electricity and gas, with technical data and a meter) are written to a
temporary JSONL file; the timed part is ``import_file`` on it, exactly as ``proud import masterdata`` runs:
decoding, the OPM service's checks, the bulk inserts, and an audit row and an outbox event per OPM. The codes
come from a key block no OPM in the database uses yet, so every record is new. The last line printed is

    opm_per_s=<n>
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.clock import SystemClock
from gateway.errors import Conflict
from gateway.masterdata import fake
from gateway.masterdata import tables as t
from gateway.masterdata.importer import BATCH_ROWS_MAX, ImportSummary, import_file
from gateway.masterdata.importer_rows import encode_record

#: Lines buffered before a write while generating the file.
_WRITE_LINES: Final = 10_000


@dataclass(frozen=True, slots=True)
class ImportBenchResult:
    opm: int
    seed: int
    file_bytes: int
    generate_s: float
    summary: ImportSummary

    @property
    def opm_per_s(self) -> float:
        return self.opm / self.summary.elapsed_s

    def figures(self) -> str:
        counts = self.summary.counts["opm"]
        return (
            f"opm={self.opm} seed={self.seed} file_mb={self.file_bytes / 1e6:.1f} "
            f"generate_s={self.generate_s:.1f} import_s={self.summary.elapsed_s:.2f} "
            f"created={counts.created} unchanged={counts.unchanged} failed={self.summary.failed}"
        )

    def line(self) -> str:
        return f"opm_per_s={self.opm_per_s:.0f}"


async def free_seed(engine: AsyncEngine) -> int:
    """A seed whose key block holds no OPM yet, so that the benchmark measures inserts."""
    async with engine.connect() as conn:
        for block in range(fake.KEY_BLOCKS):
            used = await conn.scalar(sa.select(sa.literal(1)).where(sa.or_(
                t.opm.c.code.like(f"{fake.EAN_PREFIX}{block:02d}%"),
                t.opm.c.code.like(f"{fake.EIC_PREFIX}{block:02d}%"),
            )).limit(1))
            if used is None:
                return block
    raise Conflict(f"all {fake.KEY_BLOCKS} key blocks of fake OPMs are used; bench on an empty database")


def write_opm_file(path: Path, seed: int, count: int) -> int:
    """``count`` fake OPMs of ``seed`` as JSONL; returns the file's size."""
    size = 0
    with path.open("wb") as stream:
        lines: list[bytes] = []
        for record in fake.fake_opms(seed, count):
            lines.append(encode_record(record))
            if len(lines) == _WRITE_LINES:
                size += stream.write(b"".join(lines))
                lines.clear()
        size += stream.write(b"".join(lines))
    return size


async def run_import_bench(
    engine: AsyncEngine, *, opm: int, seed: int | None = None, batch_rows: int = BATCH_ROWS_MAX
) -> ImportBenchResult:
    assert 0 < opm <= fake.BLOCK_RECORDS_MAX, opm
    seed = await free_seed(engine) if seed is None else seed
    with tempfile.TemporaryDirectory(prefix="proud-bench-import-") as directory:
        path = Path(directory) / f"bench-opm-{seed}.jsonl"
        started = time.perf_counter()
        size = write_opm_file(path, seed, opm)
        generate_s = time.perf_counter() - started
        summary = await import_file(engine, SystemClock(), path, batch_rows=batch_rows)
    return ImportBenchResult(opm, seed, size, generate_s, summary)
