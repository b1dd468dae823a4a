"""``proud billing``: the price calculator and the price lists (docs/billing.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Final

import msgspec
import typer

from gateway.billing.prices import PriceListInvalid, check_price_lists
from gateway.billing.quote import decode_quote, quote
from gateway.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, fail, guarded
from gateway.cli.advances import advances_app
from gateway.cli.billing_bill import register as register_bill
from gateway.cli.billing_orders import register as register_orders
from gateway.cli.billing_run import register as register_run
from gateway.errors import InvalidField

billing_app = typer.Typer(
    help="Billing: bills and mass runs, orders and their controlling, the price calculator, price lists, "
    "advances.",
    no_args_is_help=True,
)
prices_app = typer.Typer(help="Price lists (rules/prices/<id>/*.toml).", no_args_is_help=True)
billing_app.add_typer(prices_app, name="prices")
register_orders(billing_app)  # order, orders, outsorted, release, cancel: gateway/cli/billing_orders.py
register_bill(billing_app)  # bill: gateway/cli/billing_bill.py
register_run(billing_app)  # run, run-status: gateway/cli/billing_run.py
billing_app.add_typer(advances_app, name="advances")

#: Where the price lists are unless --prices says otherwise: rules/prices under the working directory.
PRICES_ROOT_DEFAULT: Final = Path("rules") / "prices"
PricesOption = Annotated[
    Path,
    typer.Option(
        "--prices", metavar="DIR", file_okay=False, help="Directory of the price lists (one per id).",
    ),
]


@billing_app.callback()
def billing() -> None:
    """Billing: the price calculator (quote) and the price lists (prices check)."""


@billing_app.command("quote")
def quote_command(
    file: Annotated[Path, typer.Argument(metavar="FILE.json", dir_okay=False, help="The quote request.")],
    prices: PricesOption = PRICES_ROOT_DEFAULT,
) -> None:
    """Print the settlement of the request in FILE.json as JSON (amounts and quantities as decimal strings).

    `price_list` in the request may be a list id under --prices or a path to a list's directory. An invalid
    request exits 1 with `error: <field>: <reason> (value ...)`.
    """
    with guarded():
        body = file.read_bytes()
        try:
            settlement = quote(decode_quote(body), prices, paths_allowed=True)
        except InvalidField as exc:
            fail(f"{exc.message} (value {exc.value!r})" if exc.value is not None else exc.message)
        except PriceListInvalid as exc:
            for problem in exc.problems:
                typer.echo(str(problem), err=True)
            fail(exc.message)
    typer.echo(msgspec.json.format(msgspec.json.encode(settlement), indent=2))


@prices_app.command("check")
def check_command(prices: PricesOption = PRICES_ROOT_DEFAULT) -> None:
    """Validate every price list: one `file: field: problem (value ...)` line per problem; exit 1 if any."""
    if not prices.is_dir():
        fail(f"price-list directory {prices} does not exist", EXIT_USAGE)
    with guarded():
        ids, problems = check_price_lists(prices)
    for problem in problems:
        typer.echo(str(problem))
    typer.echo(f"{len(ids)} price list(s): {len(problems)} problem(s)")
    raise typer.Exit(EXIT_FAILED if problems else EXIT_OK)
