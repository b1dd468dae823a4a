"""``proud dlq``: list, show and replay dead letters (messages a consumer group could not process)."""

from __future__ import annotations

import asyncio
import enum
import json
import uuid
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table

from gateway import limits
from gateway.bus import dlq
from gateway.cli import ConfigOption, JsonOption, cli_settings, console, guarded, with_engine
from gateway.clock import SystemClock
from gateway.http.views import DLQ_LIST_LIMIT_DEFAULT, dlq_listing, parse_status, replay_note

dlq_app = typer.Typer(help="Dead letters: list, show and replay.", no_args_is_help=True)


class Status(enum.StrEnum):
    OPEN = "open"
    REPLAYED = "replayed"
    ALL = "all"


LetterId = Annotated[uuid.UUID, typer.Argument(metavar="ID", help="Dead-letter id (a UUID).")]


@dlq_app.command("list")
def list_command(
    ctx: typer.Context,
    status: Annotated[Status, typer.Option(help="Which dead letters.")] = Status.OPEN,
    topic: Annotated[str | None, typer.Option(help="Only this topic.")] = None,
    group: Annotated[str | None, typer.Option(help="Only this consumer group.")] = None,
    limit: Annotated[
        int, typer.Option(min=1, max=limits.DLQ_LIST_MAX, help="Newest N at most.")
    ] = DLQ_LIST_LIMIT_DEFAULT,
    json_output: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Dead letters, newest first, and the open count per topic and group."""
    with guarded():
        settings = cli_settings(ctx, config)
        view = asyncio.run(with_engine(settings, lambda engine: dlq_listing(
            engine, status=parse_status(status.value), topic=topic, group=group, limit=limit,
        )))
    if json_output:
        typer.echo(json.dumps(view, indent=2))
    else:
        _print_list(view)


def _print_list(view: dict[str, Any]) -> None:
    # Borderless, and group and time under the record, so that the table stays readable at 80 columns.
    table = Table(title=f"Dead letters ({view['count']} shown, newest first)", box=box.SIMPLE_HEAD)
    table.add_column("ID", no_wrap=True, min_width=36)  # what `show` and `replay` take: never wrapped
    table.add_column("Record / group / last error", overflow="fold")
    table.add_column("Status")
    table.add_column("Reason", overflow="fold", ratio=1)
    for letter in view["dead_letters"]:
        where = f"{letter['topic']}[{letter['partition']}]@{letter['offset']}"
        when = letter["last_error_at"][:19].replace("T", " ")
        table.add_row(letter["id"], f"{where}\n{letter['group']}\n{when}", letter["status"], letter["reason"])
    out = console()
    out.print(table)
    for entry in view["open"]:
        out.print(f"open: {entry['count']} on {entry['topic']} for {entry['group']}")
    out.print(f"open in total: {view['open_total']}")


@dlq_app.command("show")
def show_command(
    ctx: typer.Context, letter_id: LetterId, json_output: JsonOption = False, config: ConfigOption = None
) -> None:
    """One dead letter with its errors, value and headers."""
    with guarded():
        settings = cli_settings(ctx, config)
        letter = asyncio.run(with_engine(settings, lambda engine: dlq.get(engine, letter_id)))
    detail = letter.detail()
    if json_output:
        typer.echo(json.dumps(detail, indent=2))
        return
    table = Table(title=f"Dead letter {letter.id}", show_header=False)
    table.add_column("Field", style="bold", no_wrap=True)
    table.add_column("Value", overflow="fold")
    for name, value in detail.items():
        shown = "\n".join(f"{k}: {v}" for k, v in value.items()) if isinstance(value, dict) else value
        table.add_row(name, "-" if shown is None else str(shown))
    console().print(table)


@dlq_app.command("replay")
def replay_command(ctx: typer.Context, letter_id: LetterId, config: ConfigOption = None) -> None:
    """Queue a dead letter's record for its topic again, for the failed group only. Once per letter."""
    with guarded():
        settings = cli_settings(ctx, config)
        clock = SystemClock()
        letter = asyncio.run(with_engine(settings, lambda engine: dlq.replay(engine, letter_id, clock)))
    typer.echo(replay_note(letter))
    typer.echo(
        f"source: {letter.topic}[{letter.partition}]@{letter.offset}; reason: {letter.reason}\n"
        "This command publishes nothing itself: the running daemon (`proud run`) relays the record "
        "from the outbox to the bus."
    )
