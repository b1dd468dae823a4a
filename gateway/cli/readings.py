"""``proud readings import FILE.csv``: readings entered by hand, in a batch (``gateway.billing.readings.
csv_import``). Prints the counts, the first refused rows (line, column, value, reason) and a last line
``rows=… new=… duplicates=… corrections=… replaced_estimates=… failed=…``. Exit code 0 when every row was
stored, 1 when some were refused (the others are stored), 2 for a file that cannot be read as readings."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from gateway.billing.readings.csv_import import ImportSummary, import_readings, read_file
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
from gateway.errors import InvalidField

readings_app = typer.Typer(help="Meter readings entered by hand.", no_args_is_help=True)


@readings_app.command("import")
def import_command(
    ctx: typer.Context,
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="CSV with a header")
    ],
    config: ConfigOption = None,
) -> None:
    """Store the readings of FILE (columns opm, date, [meter, kind, reason,] vt, nt, single)."""
    with guarded():
        settings = cli_settings(ctx, config)
        try:
            text = read_file(file)
            summary = asyncio.run(with_engine(
                settings, lambda engine: import_readings(engine, SystemClock(), text)
            ))
        except InvalidField as exc:
            fail(f"{file}: {exc.field} {exc.value!r} {exc.reason}", EXIT_USAGE)
    print_summary(summary)
    if summary.failed:
        raise typer.Exit(EXIT_FAILED)


def print_summary(summary: ImportSummary) -> None:
    out = console()
    if summary.errors:
        shown = len(summary.errors)
        more = summary.failed > shown
        out.print(f"refused rows (first {shown} of {summary.failed}):" if more else "refused rows:")
        for error in summary.errors:
            column = error.field or "row"
            out.print(f"  line {error.line}: {column} {error.value!r}: {error.reason}")
    out.print(
        f"rows={summary.rows} new={summary.new} duplicates={summary.duplicates} "
        f"corrections={summary.corrections} replaced_estimates={summary.replaced_estimates} "
        f"failed={summary.failed}"
    )
