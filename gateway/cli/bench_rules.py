"""``proud bench rules``: persisted transitions per second, and decision evaluations per second."""

from __future__ import annotations

import asyncio
import os
import platform
from pathlib import Path
from typing import Annotated

import typer

from gateway.bench.rules import RulesBenchResult, run_rules_bench
from gateway.cli import guarded
from gateway.cli.bench_common import LOCAL_PG_URL
from gateway.config import load_settings
from gateway.gc_tuning import tune_gc
from gateway.logs import configure
from gateway.store.db import create_engine
from gateway.store.migrate import upgrade_sync

INSTANCES_MAX = 10_000_000


def bench_rules(
    instances: int = typer.Option(20_000, min=1, max=INSTANCES_MAX, help="instances created, then paid"),
    decisions: int = typer.Option(200_000, min=1, max=INSTANCES_MAX, help="decision evaluations"),
    database_url: str | None = typer.Option(
        None, help="default: PROUD_DATABASE_URL, else the local PostgreSQL of `make services`"
    ),
    rules_dir: Annotated[Path | None, typer.Option(help="default: the rules_dir setting")] = None,
) -> None:
    """Persisted transitions of the demo machine, and batch decision-table evaluation."""
    settings = load_settings()
    # Logs to stderr at the configured level, as the daemon does; unconfigured, structlog would print every
    # per-message debug line to stdout and the benchmark would measure that instead.
    configure(settings.log_level, settings.log_format)
    url = database_url or settings.database_url or LOCAL_PG_URL
    tune_gc()  # as ``proud run`` does
    with guarded():
        upgrade_sync(url)
        result = asyncio.run(_run(url, rules_dir or Path(settings.rules_dir), instances, decisions))
    typer.echo(f"machine: {platform.machine()} cpus={os.cpu_count()} python={platform.python_version()}")
    typer.echo(f"database: {url.split('://', 1)[0]}")
    typer.echo(
        f"instances={result.instances} transitions={result.transitions} "
        f"transitions_s={result.transitions_s:.2f} decisions={result.decisions} "
        f"decisions_s={result.decisions_s:.2f}"
    )
    typer.echo(result.line())


async def _run(url: str, rules_dir: Path, instances: int, decisions: int) -> RulesBenchResult:
    engine = create_engine(url)
    try:
        return await run_rules_bench(engine, rules_dir, instances=instances, decisions=decisions)
    finally:
        await engine.dispose()
