"""``proud import masterdata FILE`` and ``proud demo-data``: master data into the database through the import.

Both print a summary to stdout (created / updated / unchanged / failed per kind, then the first errors) and
end with one ``key=value`` line; the progress bar goes to stderr. Exit code 0 when every row was imported,
1 when some failed (the others are stored), 2 for bad usage.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import decimal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Annotated, Any, Final

import msgspec
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.cli import (
    EXIT_FAILED,
    EXIT_USAGE,
    ConfigOption,
    cli_settings,
    console,
    fail,
    guarded,
    with_engine,
)
from gateway.clock import SystemClock
from gateway.masterdata import fake
from gateway.masterdata.importer import (
    BATCH_ROWS_DEFAULT,
    BATCH_ROWS_MAX,
    ERRORS_KEPT_MAX,
    ImportSummary,
    detect_format,
    import_file,
)
from gateway.masterdata.importer_rows import Format, Kind, ReadPosition, RowError

import_app = typer.Typer(help="Import data from files.", no_args_is_help=True)

#: Customers ``proud demo-data`` generates at most in one run (one key block).
DEMO_CUSTOMERS_MAX: Final = fake.BLOCK_RECORDS_MAX


def _json_value(value: Any) -> Any:
    # Error values are whatever the row held: dates and Decimals are written as their text.
    if isinstance(value, dt.date | decimal.Decimal):
        return str(value)
    return repr(value)


_error_encoder: Final = msgspec.json.Encoder(enc_hook=_json_value)


def error_json(error: RowError) -> bytes:
    return _error_encoder.encode({
        "line": error.line, "kind": error.kind, "key": error.key, "field": error.field,
        "value": error.value, "reason": error.reason,
    })


@contextmanager
def _errors_sink(path: Path | None) -> Iterator[Callable[[RowError], None] | None]:
    if path is None:
        yield None
        return
    with path.open("wb") as stream:
        yield lambda error: _write_error(stream, error)


def _write_error(stream: IO[bytes], error: RowError) -> None:
    stream.write(error_json(error) + b"\n")


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=Console(stderr=True), transient=True,
    )


def print_summary(summary: ImportSummary, out: Console) -> None:
    table = Table("kind", "created", "updated", "unchanged", "failed", title="dry run: nothing stored"
                  if summary.dry_run else None)
    for kind, counts in summary.counts.items():
        figures = (counts.created, counts.updated, counts.unchanged, counts.failed)
        table.add_row(kind, *(str(figure) for figure in figures))
    out.print(table)
    if summary.errors:
        shown = len(summary.errors)
        out.print(f"errors (first {shown} of {summary.failed}):" if summary.failed > shown else "errors:")
        for error in summary.errors:
            out.print(f"  {error.message()}")
    out.print(
        f"rows={summary.rows} created={summary.total('created')} updated={summary.total('updated')} "
        f"unchanged={summary.total('unchanged')} failed={summary.failed} elapsed_s={summary.elapsed_s:.2f}"
    )


@import_app.command("masterdata")
def import_masterdata(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="JSONL or CSV")],
    kind: Annotated[Kind | None, typer.Option(help="kind of every row (CSV without a kind column)")] = None,
    fmt: Annotated[Format | None, typer.Option(
        "--format", help="default: from the extension (.jsonl, .ndjson, .csv)")] = None,
    batch: Annotated[int, typer.Option(min=1, max=BATCH_ROWS_MAX, help="rows per transaction")] = (
        BATCH_ROWS_DEFAULT
    ),
    dry_run: Annotated[bool, typer.Option(help="check and write everything, then roll back")] = False,
    errors_out: Annotated[Path | None, typer.Option(
        dir_okay=False, help=f"every error as JSONL (the screen shows the first {ERRORS_KEPT_MAX})")] = None,
    config: ConfigOption = None,
) -> None:
    """Create or update customers, accounts, OPMs and contracts; idempotent on their natural keys."""
    try:
        detect_format(file, fmt)
    except ValueError as exc:
        fail(str(exc), EXIT_USAGE)
    with guarded():
        settings = cli_settings(ctx, config)
        size = file.stat().st_size
        with _errors_sink(errors_out) as on_error:
            summary = asyncio.run(with_engine(
                settings, lambda engine: _import(engine, file, size, fmt, kind, batch, dry_run, on_error)
            ))
    print_summary(summary, console())
    if not summary.ok:
        raise typer.Exit(EXIT_FAILED)


async def _import(
    engine: AsyncEngine, file: Path, size: int, fmt: Format | None, kind: Kind | None, batch: int,
    dry_run: bool, on_error: Callable[[RowError], None] | None,
) -> ImportSummary:
    position = ReadPosition()
    with _progress() as progress:
        task = progress.add_task(f"import {file.name}", total=size)
        return await import_file(
            engine, SystemClock(), file, fmt=fmt, kind=kind, batch_rows=batch, dry_run=dry_run,
            on_error=on_error, on_batch=lambda _rows: progress.update(task, completed=position.bytes),
            position=position,
        )


def demo_data(
    ctx: typer.Context,
    customers: Annotated[int, typer.Option(min=1, max=DEMO_CUSTOMERS_MAX, help="customers to create")] = 100,
    seed: Annotated[int, typer.Option(min=0, help="same seed, same data (a re-run changes nothing)")] = (
        fake.DEMO_SEED
    ),
    config: ConfigOption = None,
) -> None:
    """Generate realistic Czech customers with accounts, OPMs and contracts, and import them."""
    with guarded():
        settings = cli_settings(ctx, config)
        summary = asyncio.run(with_engine(settings, lambda engine: _demo(engine, customers, seed)))
    print_summary(summary, console())
    if not summary.ok:
        raise typer.Exit(EXIT_FAILED)


async def _demo(engine: AsyncEngine, customers: int, seed: int) -> ImportSummary:
    with _progress() as progress:
        # The rows per customer vary (one or two OPMs and contracts): no total, a count of rows imported.
        task = progress.add_task(f"demo data: {customers} customers, rows imported", total=None)
        return await fake.seed_masterdata(
            engine, SystemClock(), customers, seed=seed, on_batch=lambda rows: progress.advance(task, rows)
        )
