"""``proud bench``: measured figures, printed; never asserted in tests (targets live in README)."""

from __future__ import annotations

import asyncio
import enum
import os
import platform
from typing import Annotated

import typer

from gateway.bench.bus import BenchResult, run_bench, summary
from gateway.bench.importer import ImportBenchResult, run_import_bench
from gateway.bench.producer import ProducerSide
from gateway.bus.base import Bus
from gateway.bus.kafka import KafkaBus
from gateway.bus.sqllog import SqlLogBus
from gateway.cli import guarded
from gateway.cli.bench_billing import bench_billing
from gateway.cli.bench_common import LOCAL_PG_URL, prepared_database, print_figures
from gateway.clock import SystemClock
from gateway.config import load_settings
from gateway.masterdata.fake import BLOCK_RECORDS_MAX
from gateway.masterdata.importer import BATCH_ROWS_MAX
from gateway.store.db import create_engine
from gateway.store.migrate import upgrade_sync

bench_app = typer.Typer(help="Benchmarks: print throughput and latency figures.", no_args_is_help=True)

#: Where ``make services`` runs PostgreSQL and Kafka; used when settings name neither.
LOCAL_KAFKA = "127.0.0.1:9092"
EVENTS_MAX = 10_000_000


class Backend(enum.StrEnum):
    kafka = "kafka"
    sql = "sql"


@bench_app.command("bus")
def bench_bus(
    backend: Annotated[Backend, typer.Option(help="kafka: Kafka + PostgreSQL; sql: the SQL-log bus")] = (
        Backend.kafka
    ),
    events: Annotated[int, typer.Option(min=1, max=EVENTS_MAX, help="events to push end to end")] = 200_000,
    database_url: Annotated[str | None, typer.Option(
        help="store (and SQL-log) database; default: PROUD_DATABASE_URL, else the local PostgreSQL "
        "for kafka and the embedded SQLite file for sql"
    )] = None,
    bootstrap: Annotated[
        str | None, typer.Option(help="Kafka bootstrap; default PROUD_KAFKA_BOOTSTRAP or local")
    ] = None,
    partitions: Annotated[int, typer.Option(min=1, max=64, help="partitions of the bench topic")] = 6,
    producer_process: Annotated[bool, typer.Option(
        help="run the producer and the outbox relay in a second process (as deployed), so that the "
        "consumer has a core of its own (measured faster on both PostgreSQL and SQLite)"
    )] = True,
) -> None:
    """Outbox → bus → consumer → inbox + state row; prints events_per_s, p50_ms, p99_ms."""
    settings = load_settings()
    if backend is Backend.kafka:
        url = database_url or settings.database_url or LOCAL_PG_URL
    else:
        url = database_url or settings.effective_database_url
    kafka = bootstrap or settings.kafka_bootstrap or LOCAL_KAFKA
    with guarded():
        upgrade_sync(url)
        side = ProducerSide(url, backend.value, kafka) if producer_process else None
        result = asyncio.run(_run(backend, url, kafka, events, partitions, side))
    typer.echo(f"machine: {platform.machine()} cpus={os.cpu_count()} python={platform.python_version()}")
    typer.echo(f"database: {url.split('://', 1)[0]} processes: {2 if producer_process else 1}")
    typer.echo(summary(result))
    typer.echo(result.line())


async def _run(
    backend: Backend, url: str, bootstrap: str, events: int, partitions: int, side: ProducerSide | None = None
) -> BenchResult:
    engine = create_engine(url)
    bus: Bus = KafkaBus(bootstrap) if backend is Backend.kafka else SqlLogBus(engine, clock=SystemClock())
    try:
        await bus.start()
        return await run_bench(engine, bus, events=events, partitions=partitions, producer=side)
    finally:
        await bus.stop()
        await engine.dispose()


@bench_app.command("import")
def bench_import(
    opm: Annotated[int, typer.Option(min=1, max=BLOCK_RECORDS_MAX, help="OPM records to import")] = 100_000,
    database_url: Annotated[str | None, typer.Option(
        help="default: PROUD_DATABASE_URL, else the local PostgreSQL of `make services`"
    )] = None,
    batch: Annotated[int, typer.Option(min=1, max=BATCH_ROWS_MAX, help="rows per transaction")] = (
        BATCH_ROWS_MAX
    ),
) -> None:
    """Fake OPMs through ``proud import masterdata``'s path; prints opm_per_s."""
    with guarded():
        url = prepared_database(database_url)
        print_figures(url, asyncio.run(_run_import(url, opm, batch)))


async def _run_import(url: str, opm: int, batch: int) -> ImportBenchResult:
    engine = create_engine(url)
    try:
        return await run_import_bench(engine, opm=opm, batch_rows=batch)
    finally:
        await engine.dispose()


bench_app.command("billing")(bench_billing)
