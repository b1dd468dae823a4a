"""``proud billing order|orders|outsorted|release|cancel|resend|mark-sent``: billing orders from the command
line, the same operations as ``/api/billing/orders`` (``gateway.billing.ordering``), on the database of the
settings.

Each change is queued on ``billing.orders`` through the outbox; the daemon's relay publishes it and the
``billing_order`` machine takes it. The actor recorded is ``cli:<login name>``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import getpass
from collections.abc import Awaitable, Callable
from typing import Annotated, Final, TypeVar

import msgspec
import typer
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.billing import documents_clerk, ordering
from gateway.cli import ConfigOption, JsonOption, cli_settings, console, guarded, with_engine
from gateway.clock import SystemClock
from schemas.billing.orders import OrderDue

T = TypeVar("T")

#: The state ``proud billing outsorted`` lists.
OUTSORTED: Final = "outsorted"
OrderArgument = Annotated[str, typer.Argument(metavar="ORDER", help="The order key <contract>@<period_to>.")]
NoteOption = Annotated[str, typer.Option("--note", help="Why (kept with the order).")]
LimitOption = Annotated[
    int, typer.Option("--limit", min=1, max=ordering.ORDERS_LISTED_MAX, help="At most N orders.")
]


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


def _run(ctx: typer.Context, config: ConfigOption, use: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    """``use`` in one committed transaction on the configured database."""
    settings = cli_settings(ctx, config)

    async def transaction(engine: AsyncEngine) -> T:
        async with engine.begin() as conn:
            return await use(conn)

    return asyncio.run(with_engine(settings, transaction))


def order_command(
    ctx: typer.Context,
    contract: Annotated[str, typer.Option("--contract", help="The contract number.")],
    period_to: Annotated[dt.datetime, typer.Option("--period-to", formats=["%Y-%m-%d"], help="Last day.")],
    period_from: Annotated[
        dt.datetime | None,
        typer.Option(
            "--period-from", formats=["%Y-%m-%d"], help="First day (default: the day after the last order).",
        ),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Order the bill of a contract up to --period-to (reason manual); prints the order key."""
    now = SystemClock().now()

    async def use(conn: AsyncConnection) -> OrderDue:
        due = await ordering.order_due(
            conn, contract=contract, period_to=period_to.date(), reason="manual",
            period_from=period_from.date() if period_from else None,
        )
        await ordering.queue(conn, due.order, due, now)
        return due

    with guarded():
        due = _run(ctx, config, use)
    period = f"{due.period_from} to {due.period_to}"
    typer.echo(f"ordered {due.order}: {period} (OPM {due.opm}, account {due.account})")


def orders_command(
    ctx: typer.Context,
    state: Annotated[str | None, typer.Option("--state", help="Only orders in this state.")] = None,
    limit: LimitOption = ordering.ORDERS_LISTED_DEFAULT,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """List billing orders (all states, or --state), the longest untouched first."""
    _list(ctx, state, limit, as_json, config)


def outsorted_command(
    ctx: typer.Context,
    limit: LimitOption = ordering.ORDERS_LISTED_DEFAULT,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """List the outsorted billing orders with their findings, for a clerk to fix and release."""
    _list(ctx, OUTSORTED, limit, as_json, config)


def _list(ctx: typer.Context, state: str | None, limit: int, as_json: bool, config: ConfigOption) -> None:
    async def use(conn: AsyncConnection) -> list[ordering.OrderView]:
        return await ordering.orders_in(conn, state, limit)

    with guarded():
        orders = _run(ctx, config, use)
    if as_json:
        typer.echo(msgspec.json.format(msgspec.json.encode({"orders": orders}), indent=2))
        return
    out = console()
    for order in orders:
        released = f" released {','.join(order.released)}" if order.released else ""
        period = f"{order.period_from}..{order.period_to}"
        out.print(f"{order.order} {order.state} OPM {order.opm} {period}{released}")
        for finding in order.findings:
            out.print(f"  {finding.code}: {finding.text}")
        if order.waiting_for:
            out.print(f"  waiting: {order.waiting_for}")
    out.print(f"orders={len(orders)}")


def release_command(
    ctx: typer.Context,
    order: OrderArgument,
    code: Annotated[
        list[str] | None, typer.Option("--code", help="A check code to bill without (repeatable).")
    ] = None,
    note: NoteOption = "",
    config: ConfigOption = None,
) -> None:
    """Release an outsorted (or waiting) order: bill it again without the checks named by --code."""
    now, codes = SystemClock().now(), tuple(dict.fromkeys(code or ()))

    async def use(conn: AsyncConnection) -> object:
        return await ordering.release(conn, order, codes, actor=_actor(), note=note, now=now)

    with guarded():
        message_id = _run(ctx, config, use)
    typer.echo(f"released {order} ({', '.join(codes) or 'no codes'}): message {message_id}")


def cancel_command(
    ctx: typer.Context, order: OrderArgument, note: NoteOption = "", config: ConfigOption = None
) -> None:
    """Cancel an order that is not billed: no bill is made for it."""
    now = SystemClock().now()

    async def use(conn: AsyncConnection) -> object:
        return await ordering.cancel(conn, order, actor=_actor(), note=note, now=now)

    with guarded():
        message_id = _run(ctx, config, use)
    typer.echo(f"cancelled {order}: message {message_id}")


def resend_command(
    ctx: typer.Context, order: OrderArgument, note: NoteOption = "", config: ConfigOption = None
) -> None:
    """Deliver the invoice of an order whose sending failed again (fix the address first)."""
    now = SystemClock().now()

    async def use(conn: AsyncConnection) -> object:
        return await documents_clerk.resend(conn, order, actor=_actor(), note=note, now=now)

    with guarded():
        message_id = _run(ctx, config, use)
    typer.echo(f"resending {order}: message {message_id}")


def mark_sent_command(ctx: typer.Context, order: OrderArgument, config: ConfigOption = None) -> None:
    """Record that the invoice of an order whose sending failed was delivered by hand (channel manual)."""
    now = SystemClock().now()

    async def use(conn: AsyncConnection) -> object:
        return await documents_clerk.mark_sent(conn, order, now=now)

    with guarded():
        message_id = _run(ctx, config, use)
    typer.echo(f"marked {order} sent by hand: message {message_id}")


def register(app: typer.Typer) -> None:
    """Add the commands to ``proud billing``."""
    app.command("order")(order_command)
    app.command("orders")(orders_command)
    app.command("outsorted")(outsorted_command)
    app.command("release")(release_command)
    app.command("cancel")(cancel_command)
    app.command("resend")(resend_command)
    app.command("mark-sent")(mark_sent_command)
