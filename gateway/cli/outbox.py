"""``proud outbox``: the rows the relay parked over ``message_bytes_max``, and their release."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from gateway.bus import outbox_parked
from gateway.cli import ConfigOption, JsonOption, cli_settings, console, guarded, with_engine

outbox_app = typer.Typer(help="Outbox rows parked over message_bytes_max: list and release.",
                         no_args_is_help=True)


@outbox_app.command("parked")
def parked_command(ctx: typer.Context, json_output: JsonOption = False, config: ConfigOption = None) -> None:
    """Parked rows, oldest first: the relay did not publish them because they are over message_bytes_max."""
    with guarded():
        settings = cli_settings(ctx, config)
        rows, total = asyncio.run(with_engine(settings, outbox_parked.listing))
    if json_output:
        typer.echo(json.dumps({"parked": [p.summary() for p in rows], "total": total}, indent=2))
        return
    table = Table(title=f"Parked outbox rows ({len(rows)} of {total}, oldest first)", box=box.SIMPLE_HEAD)
    for name in ("Seq", "Topic / key", "Bytes", "Parked at", "Reason"):
        table.add_column(name, overflow="fold")
    for p in rows:
        parked_at = p.parked_at.isoformat()[:19].replace("T", " ")
        table.add_row(str(p.seq), f"{p.topic}\n{p.key}", str(p.size_bytes), parked_at, p.reason)
    console().print(table)


@outbox_app.command("release")
def release_command(
    ctx: typer.Context,
    seqs: Annotated[list[int] | None, typer.Argument(metavar="SEQ", help="Parked rows to release.")] = None,
    release_all: Annotated[bool, typer.Option("--all", help="Release the oldest parked rows.")] = False,
    config: ConfigOption = None,
) -> None:
    """Queue parked rows at the end of the outbox again, once message_bytes_max allows them (all or none)."""
    with guarded():
        if bool(seqs) == release_all:
            raise typer.BadParameter(f"SEQ {seqs or '(none)'} with --all={release_all}: name parked rows by "
                                     "seq, or give --all, not both")
        if seqs and len(seqs) > outbox_parked.PARKED_BATCH_MAX:
            raise typer.BadParameter(
                f"SEQ: {len(seqs)} given, at most {outbox_parked.PARKED_BATCH_MAX} at a time"
            )
        settings = cli_settings(ctx, config)
        released = asyncio.run(with_engine(settings, lambda engine: outbox_parked.release(
            engine, seqs or None, settings.message_bytes_max,
        )))
    for p in released:
        typer.echo(
            f"released {p.seq}: message {p.message_id} for {p.topic} (key {p.key}), {p.size_bytes} bytes"
        )
    typer.echo(
        f"{len(released)} released. This command publishes nothing itself: the running daemon (`proud run`) "
        "relays them from the outbox to the bus."
    )
