"""``proud billing advances``: regenerate advance schedules, issue the advance requests that fall due
(docs/billing.md "Advances (zálohy)")."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Annotated, Final

import msgspec
import typer

from gateway.billing.advances.documents import IssueSummary, issue_due
from gateway.billing.advances.mass import REGENERATION_BATCH_SIZE, regenerate
from gateway.billing.advances.schedules import Options
from gateway.billing.bill_documents import supplier_of
from gateway.billing.invoices.numbering import WORKER_MAX
from gateway.cli import EXIT_USAGE, ConfigOption, cli_settings, fail, guarded, with_engine
from gateway.clock import SystemClock
from gateway.errors import InvalidField
from schemas.billing.advances import RegenerationSummary
from schemas.billing.invoice import Supplier

advances_app = typer.Typer(help="Advances: schedules and advance requests.", no_args_is_help=True)

#: Where the price lists are unless --prices says otherwise (as for `proud billing quote`).
PRICES_ROOT_DEFAULT: Final = Path("rules") / "prices"
#: Skipped contracts printed at most; the summary line counts all.
SKIPPED_PRINTED_MAX: Final = 20


@advances_app.command("regenerate")
def regenerate_command(
    ctx: typer.Context,
    after_settlement: Annotated[bool, typer.Option(
        "--after-settlement", help="Record the reason 'settlement' (consumption from the last settlement).",
    )] = False,
    price_list: Annotated[str | None, typer.Option(
        "--price-list", metavar="ID|DIR",
        help="Price with this list (a price change); default: the default one.",
    )] = None,
    account: Annotated[str | None, typer.Option("--account", metavar="VS", help="Only this account.")] = None,
    prices: Annotated[Path, typer.Option("--prices", metavar="DIR", file_okay=False)] = PRICES_ROOT_DEFAULT,
    config: ConfigOption = None,
) -> None:
    """Regenerate the advance schedules of every active contract (or one account's), in batches of
    REGENERATION_BATCH_SIZE. Idempotent: unchanged schedules stay. Last line: contracts=… created=…"""
    reason = "price_change" if price_list else "settlement" if after_settlement else "manual"
    options = Options(prices_root=prices, price_list=price_list, paths_allowed=True, reason=reason)

    def progress(summary: RegenerationSummary) -> None:
        typer.echo(f"… {summary.contracts} contracts ({summary.created} new schedules)", err=True)

    with guarded():
        settings = cli_settings(ctx, config)
        try:
            summary = asyncio.run(with_engine(settings, lambda engine: regenerate(
                engine, SystemClock(), options, variable_symbol=account, progress=progress,
            )))
        except InvalidField as exc:
            fail(f"{exc.message} (value {exc.value!r})", EXIT_USAGE)
    for skipped in summary.skipped_contracts[:SKIPPED_PRINTED_MAX]:
        typer.echo(f"skipped {skipped.contract}: {skipped.field} {skipped.value!r}: {skipped.reason}")
    # typer.echo, not the rich console: the summary line must never be wrapped (scripts read it).
    typer.echo(
        f"contracts={summary.contracts} created={summary.created} unchanged={summary.unchanged} "
        f"skipped={summary.skipped} superseded_instalments={summary.superseded_instalments} "
        f"batch_size={REGENERATION_BATCH_SIZE}"
    )


@advances_app.command("issue")
def issue_command(
    ctx: typer.Context,
    due_before: Annotated[str, typer.Option("--due-before", metavar="YYYY-MM-DD",
                                            help="Issue planned instalments due before this day.")],
    worker: Annotated[int, typer.Option("--worker", min=0, max=WORKER_MAX,
                                        help="Number series of this billing worker.")] = 0,
    supplier: Annotated[Path | None, typer.Option(
        "--supplier", metavar="FILE.json", dir_okay=False,
        help="The issuer (schemas/billing/invoice.py Supplier); default: the supplier_* settings.",
    )] = None,
    config: ConfigOption = None,
) -> None:
    """Issue the advance request (ZF…, ISDOC type 4) and post the receivable of every planned instalment
    due before --due-before. Idempotent. Last line: issued=… total=…"""
    with guarded():
        try:
            day = dt.date.fromisoformat(due_before)
        except ValueError:
            fail(f"--due-before: {due_before!r} is not a date YYYY-MM-DD", EXIT_USAGE)
        settings = cli_settings(ctx, config)
        issuer = supplier_of(settings)
        if supplier is not None:
            try:
                issuer = msgspec.json.decode(supplier.read_bytes(), type=Supplier)
            except msgspec.ValidationError as exc:
                fail(f"--supplier {supplier}: {exc}", EXIT_USAGE)
        summary: IssueSummary = asyncio.run(with_engine(settings, lambda engine: issue_due(
            engine, SystemClock(), issuer, due_before=day, worker=worker,
        )))
    typer.echo(f"issued={summary.issued} total={summary.total}")
