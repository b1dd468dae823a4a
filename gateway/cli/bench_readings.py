"""``proud bench readings``: register readings filed per second through the reading store's batch path."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Final

import typer

from gateway.bench.readings import READINGS_MAX, ReadingsBenchResult, run_readings_bench
from gateway.cli import guarded
from gateway.cli.bench_common import prepared_database, print_figures
from gateway.readings.bulk import WORKERS_MAX, BulkSummary
from gateway.store.db import create_engine

#: About 15 s at the measured rate on two cores with PostgreSQL (docs/readings.md).
READINGS_DEFAULT: Final = 1_000_000
#: Seconds between progress lines.
PROGRESS_EVERY_S: Final = 2.0


def bench_readings(
    readings: Annotated[int, typer.Option(
        min=1, max=READINGS_MAX, help="register readings to file (VT/NT and single-rate, monthly)"
    )] = READINGS_DEFAULT,
    database_url: Annotated[str | None, typer.Option(
        help="default: PROUD_DATABASE_URL, else the local PostgreSQL of `make services`"
    )] = None,
    workers: Annotated[int | None, typer.Option(
        min=1, max=WORKERS_MAX, help="processes decoding and preparing (PostgreSQL); default: one per core"
    )] = None,
) -> None:
    """Generated CDSDATA files → parse, XSD, decode, file, events; prints readings_per_s last."""
    with guarded():
        url = prepared_database(database_url)
        print_figures(url, asyncio.run(_run(url, readings, workers)))


class _Progress:
    def __init__(self) -> None:
        self._shown = 0.0

    def __call__(self, summary: BulkSummary) -> None:
        now = time.perf_counter()
        if now - max(self._shown, summary.started) < PROGRESS_EVERY_S:
            return
        self._shown = now
        elapsed = now - summary.started
        typer.echo(
            f"progress: {summary.messages} messages, {summary.registers} register readings, "
            f"{elapsed:.1f} s, {summary.registers / elapsed:.0f}/s"
        )


async def _run(url: str, readings: int, workers: int | None) -> ReadingsBenchResult:
    engine = create_engine(url)
    try:
        typer.echo(f"generating {readings} register readings …")
        return await run_readings_bench(engine, registers=readings, workers=workers, on_message=_Progress())
    finally:
        await engine.dispose()
