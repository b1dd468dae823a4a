"""``proud distributor report --month YYYY-MM``: each of our OPMs' metered data for a month, to CS OTE.

Prints a summary (OPMs, messages, skipped with their reasons) and ends with one ``key=value`` line. Exit code
0 when every message passed its XSD (OPMs skipped for want of readings, or reported before, are expected),
1 when some did not (the others are queued), 2 for bad usage or settings (no ``distributor_ean``, a month
that has not ended).
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Final

import msgspec
import typer
from rich.console import Console

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
from gateway.distributor.identity import distributor_identity, require_source
from gateway.distributor.report import MESSAGES_PER_BATCH_MAX, ReportSummary, run_report
from gateway.errors import ConfigError, InvalidField
from gateway.month import Month

distributor_app = typer.Typer(
    help="The distributor (DSO) role: periodic reporting to CS OTE.", no_args_is_help=True
)


@distributor_app.command("report")
def report_command(
    ctx: typer.Context,
    month: Annotated[str, typer.Option(metavar="YYYY-MM", help="The month to report (ended).")],
    database_url: Annotated[str | None, typer.Option(
        help="The database; default: the setting database_url (PROUD_DATABASE_URL), else the embedded one."
    )] = None,
    dry_run: Annotated[bool, typer.Option(help="Build and validate every message; queue none.")] = False,
    config: ConfigOption = None,
) -> None:
    """Queue one CDSDATA (electricity) or CDSGASPOF (gas) per OPM we distribute, once per OPM and month."""
    with guarded():
        settings = cli_settings(ctx, config)
        if database_url is not None:
            settings = msgspec.structs.replace(settings, database_url=database_url)
        identity = distributor_identity(settings)
        if identity is None:
            raise ConfigError("distributor_ean", None, "is not set: this install is no distributor")
        require_source(settings, "market_source_readings")
        try:
            period = Month.parse(month)
            summary = asyncio.run(with_engine(
                settings, lambda engine: run_report(engine, SystemClock(), identity, period, dry_run=dry_run)
            ))
        except InvalidField as exc:  # the month: not YYYY-MM, or not ended yet
            fail(f"--month {exc.value}: {exc.reason}", EXIT_USAGE)
    print_summary(summary, console())
    if not summary.ok:
        raise typer.Exit(EXIT_FAILED)


#: Note kinds of OPMs that were sent nevertheless, as the summary words them.
_SENT_WITH: Final = {"gaps": "sent with gaps", "provisional": "sent with provisional values"}


def print_summary(summary: ReportSummary, out: Console) -> None:
    verb = "would queue" if summary.dry_run else "queued"
    out.print(f"distributor report {summary.period}{' (dry run: nothing queued)' if summary.dry_run else ''}")
    out.print(f"  OPMs: {summary.opms}, messages {verb}: {summary.messages} "
              f"(in batches of at most {MESSAGES_PER_BATCH_MAX})")
    for kind, count in sorted(summary.counts.items()):
        out.print(f"  {_SENT_WITH.get(kind) or 'skipped, ' + kind}: {count}")
    if summary.notes:
        shown = len(summary.notes)
        total = sum(summary.counts.values())
        out.print(f"notes (first {shown} of {total}):" if total > shown else "notes:")
        for note in summary.notes:
            out.print(f"  {note.opm} {note.kind}: {note.text}")
    out.print(
        f"period={summary.period} opms={summary.opms} messages={summary.messages} "
        f"skipped={summary.skipped} invalid={summary.counts['invalid']} "
        f"dry_run={str(summary.dry_run).lower()}"
    )
