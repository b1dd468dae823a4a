"""What every database benchmark does around its run: settings, logging, the schema migrated, the collector
tuned as ``proud run`` does, and the figures printed with the final line last."""

from __future__ import annotations

import os
import platform
import sys
from typing import Final, Protocol

import typer

import gateway
from gateway.config import load_settings
from gateway.gc_tuning import tune_gc
from gateway.logs import configure
from gateway.store.migrate import upgrade_sync

#: Where ``make services`` runs PostgreSQL; used when neither the option nor the settings name a database.
LOCAL_PG_URL: Final = "postgresql+asyncpg://proud:proud@127.0.0.1:5432/proud_test"


class BenchFigures(Protocol):
    def figures(self) -> str: ...

    def line(self) -> str: ...


def prepared_database(database_url: str | None) -> str:
    """The benchmark's database URL (option, else ``PROUD_DATABASE_URL``, else ``LOCAL_PG_URL``), migrated."""
    settings = load_settings()
    configure(settings.log_level, settings.log_format)
    url = database_url or settings.database_url or LOCAL_PG_URL
    upgrade_sync(url)
    tune_gc()  # as ``proud run`` does
    return url


def print_figures(url: str, result: BenchFigures) -> None:
    """Machine, database kind, the figures, and the result's final line (what scripts read) last."""
    # The interpreter's build matters as much as its version (scripts/python.sh): the venv's link says which.
    interpreter = os.path.realpath(sys.executable)
    typer.echo(f"machine: {platform.machine()} cpus={os.cpu_count()} python={platform.python_version()} "
               f"({interpreter}) compiled={gateway.COMPILED}")
    typer.echo(f"database: {url.split('://', 1)[0]}")
    typer.echo(result.figures())
    typer.echo(result.line())
