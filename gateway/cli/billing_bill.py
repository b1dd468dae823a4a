"""``proud billing bill``: bill one contract for a period on the database of the settings, the same operation
as ``POST /api/billing/bill`` (``gateway.billing.bill.bill_contract``).

Exit 0 when an invoice is issued (or was issued before for the period), 1 when the bill is outsorted: a
script can tell the two apart; ``--json`` prints the outcome as the API answers it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Annotated, Final

import msgspec
import typer
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.billing.bill import INDIVIDUAL_BILLING_WORKER, bill_contract
from gateway.billing.bill_documents import supplier_of
from gateway.cli import EXIT_FAILED, ConfigOption, JsonOption, cli_settings, guarded, with_engine
from gateway.clock import SystemClock
from gateway.masterdata.filestore import LocalFileStore
from schemas.billing.bill import Billed, BillOutcome

#: The price lists under the rules directory (``rules_dir`` setting), as for the daemon.
PRICES_SUBDIRECTORY: Final = "prices"


def bill_command(
    ctx: typer.Context,
    contract: Annotated[str, typer.Option("--contract", help="The contract number.")],
    period_from: Annotated[
        dt.datetime, typer.Option("--from", formats=["%Y-%m-%d"], help="First day of the period.")
    ],
    period_to: Annotated[
        dt.datetime, typer.Option("--to", formats=["%Y-%m-%d"], help="Last day of the period.")
    ],
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Bill a contract for --from … --to: prints the invoice's number, total and balance, or the findings
    it was outsorted for (exit 1)."""
    settings = cli_settings(ctx, config)
    now = SystemClock().now()
    files = LocalFileStore(settings.effective_documents_dir)
    prices = Path(settings.rules_dir) / PRICES_SUBDIRECTORY

    async def use(engine: AsyncEngine) -> BillOutcome:
        async with engine.begin() as conn:
            return await bill_contract(
                conn, contract=contract, period_from=period_from.date(), period_to=period_to.date(), now=now,
                worker=INDIVIDUAL_BILLING_WORKER, files=files, prices=prices, supplier=supplier_of(settings),
            )

    with guarded():
        outcome = asyncio.run(with_engine(settings, use))
    if as_json:
        typer.echo(msgspec.json.encode(outcome).decode())
    elif isinstance(outcome, Billed):
        invoice = outcome.invoice
        again = " (issued before)" if outcome.repeated else ""
        amounts = f"total {invoice.total} CZK, balance {invoice.balance} CZK, due {invoice.due_date}"
        typer.echo(f"invoice {invoice.number}{again}: {amounts}")
    else:
        for finding in outcome.findings:
            typer.echo(f"outsorted ({outcome.stage}-check) {finding.code}: {finding.text}")
    if not isinstance(outcome, Billed):
        raise typer.Exit(EXIT_FAILED)


def register(app: typer.Typer) -> None:
    """Add ``bill`` to ``proud billing``."""
    app.command("bill")(bill_command)
