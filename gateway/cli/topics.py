"""``proud topics``: the registered topics with their partitions, end offsets and consumer lag."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Annotated, Any, Final

import typer
from rich.table import Table

from gateway.bus import create_bus
from gateway.bus.topics import DAY_MS, TOPICS
from gateway.cli import ConfigOption, JsonOption, cli_settings, console, guarded
from gateway.clock import SystemClock
from gateway.config import Settings
from gateway.http.views import OPS_BUS_TIMEOUT_S, bounded, describe_topics
from gateway.store.db import create_engine
from gateway.store.migrate import ensure_current

HOUR_MS: Final = 3_600_000

CreateOption = Annotated[
    bool, typer.Option("--create", help="Create missing topics first; existing ones are left as they are.")
]


def topics_command(
    ctx: typer.Context, create: CreateOption = False, json_output: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """List the registered topics: partitions, end offsets and lag per consumer group."""
    with guarded():
        settings = cli_settings(ctx, config)
        view = asyncio.run(_collect(settings, create))
    if json_output:
        typer.echo(json.dumps(view, indent=2))
    else:
        _print(view)


async def _collect(settings: Settings, create: bool) -> dict[str, Any]:
    url = settings.effective_database_url
    if settings.bus_backend == "sql":
        await ensure_current(url)  # the SQL log lives in the store's tables
    engine = create_engine(url)
    bus = create_bus(settings, engine, SystemClock())
    specs = TOPICS.all()
    try:
        await bounded(bus.start(), "connecting to the bus")
        if create:
            await bounded(bus.ensure_topics(specs, settings.topic_partitions), "creating topics")
        return await describe_topics(bus, specs, settings.topic_partitions)
    finally:
        # An error while closing would hide the one that brought us here; the process ends anyway.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(bus.stop(), OPS_BUS_TIMEOUT_S)
        await engine.dispose()


def _retention(ms: int) -> str:
    if ms < 0:
        return "forever"
    if ms % DAY_MS == 0:
        return f"{ms // DAY_MS} d"
    return f"{ms / HOUR_MS:g} h"


def _print(view: dict[str, Any]) -> None:
    # Key meanings and per-partition offsets are in --json; the table keeps what fits a terminal.
    table = Table(title="Topics")
    table.add_column("Topic", no_wrap=True)
    table.add_column("Partitions", justify="right")
    table.add_column("End offsets", justify="right")
    table.add_column("Lag by group")
    table.add_column("Retention", no_wrap=True)
    for topic in view["topics"]:
        found, configured = topic["partitions_found"], topic["partitions_configured"]
        lags = "\n".join(f"{group}: {lag}" for group, lag in topic["lag"].items()) or "-"
        table.add_row(
            topic["name"],
            f"{found}" if found else f"missing ({configured})",
            str(topic["end_offset_total"]),
            lags,
            _retention(topic["retention_ms"]),
        )
    out = console()
    out.print(table)
    if any(topic["partitions_found"] == 0 for topic in view["topics"]):
        out.print("Missing topics are created by `proud topics --create` or when the daemon starts.")
    for group, lag in view["lag_by_group"].items():
        out.print(f"total lag of {group}: {lag}")
