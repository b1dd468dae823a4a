"""``proud billing run --period 2026-01 [--dso …]`` and ``proud billing run-status RUN``: mass billing.

``run`` plans the run (``gateway.billing.runs``: one ``billing.order_due`` per contract due, in batches),
then follows it with a progress bar until every order is done — billed, outsorted, waiting for its
reading or cancelled — and prints the summary. The bills are made by the daemons' billing workers (as
many processes as there are, sharing ``billing.work``'s partitions); this command only orders and
watches, so stopping it (Ctrl-C, a kill) stops nothing: the run goes on, ``run-status`` shows it, and
``run`` again resumes planning where it stopped and bills nothing twice. When the run is finished, the
advance schedules follow the new settlements (``--no-advances`` leaves that to ``proud billing advances
regenerate --after-settlement``).
"""

from __future__ import annotations

import asyncio
import getpass
import time
from pathlib import Path
from typing import Annotated, Final

import msgspec
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.billing.advances.mass import regenerate
from gateway.billing.advances.schedules import Options
from gateway.billing.run_progress import RunProgress, run_progress
from gateway.billing.runs import PlanSummary, plan_run
from gateway.cli import EXIT_FAILED, ConfigOption, JsonOption, cli_settings, fail, guarded, with_engine
from gateway.clock import SystemClock
from gateway.config import Settings
from gateway.errors import InvalidField

#: How often the progress bar asks the database.
POLL_INTERVAL_S: Final = 1.0
#: How long ``run`` follows a run by default before it leaves it to ``run-status`` (exit 1).
WAIT_TIMEOUT_S_DEFAULT: Final = 24 * 3600.0
WAIT_TIMEOUT_S_MAX: Final = 7 * 24 * 3600.0
PRICES_SUBDIRECTORY: Final = "prices"


def run_command(
    ctx: typer.Context,
    period: Annotated[str, typer.Option("--period", metavar="YYYY-MM", help="Bill up to this month's end.")],
    dso: Annotated[str | None, typer.Option("--dso", help="Only OPMs of this DSO.")] = None,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Follow the run until it is done.")] = True,
    timeout_s: Annotated[float, typer.Option(
        "--timeout-s", min=1.0, max=WAIT_TIMEOUT_S_MAX, help="Stop following after this many seconds.",
    )] = WAIT_TIMEOUT_S_DEFAULT,
    advances: Annotated[bool, typer.Option(
        "--advances/--no-advances", help="Regenerate advance schedules when the run is done.",
    )] = True,
    config: ConfigOption = None,
) -> None:
    """Bill every contract due at the end of --period; last line: run=… orders=… billed=… outsorted=…"""
    with guarded():
        settings = cli_settings(ctx, config)
        try:
            progress = asyncio.run(with_engine(settings, lambda engine: _run(
                engine, settings, period=period, dso=dso, wait=wait, timeout_s=timeout_s, advances=advances,
            )))
        except InvalidField as exc:
            fail(f"{exc.message} (value {exc.value!r})")
    if wait and progress.stalled:
        fail(f"run {progress.run} is stuck: {progress.stuck} orders wait on dead letters")
    if wait and not progress.finished:
        typer.echo(f"error: run {progress.run} is not done after {timeout_s:g} s; it goes on in the daemon "
                   f"(proud billing run-status {progress.run})", err=True)
        raise typer.Exit(EXIT_FAILED)


def run_status_command(
    ctx: typer.Context,
    run: Annotated[str, typer.Argument(metavar="RUN", help="The run id: 2026-01 or 2026-01@<dso>.")],
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Where a run stands: orders by state, outsorted by check, money billed."""

    async def read(engine: AsyncEngine) -> RunProgress:
        async with engine.connect() as conn:
            return await run_progress(conn, run)

    with guarded():
        progress = asyncio.run(with_engine(cli_settings(ctx, config), read))
    if as_json:
        typer.echo(msgspec.json.encode(progress).decode())
        return
    for line in summary_lines(progress):
        typer.echo(line)


async def _run(
    engine: AsyncEngine, settings: Settings, *, period: str, dso: str | None, wait: bool, timeout_s: float,
    advances: bool,
) -> RunProgress:
    def planned(summary: PlanSummary) -> None:
        typer.echo(f"… {summary.contracts_read} contracts read, {summary.queued} orders queued", err=True)

    clock = SystemClock()
    plan = await plan_run(engine, period=period, dso=dso, now=clock.now(), actor=f"cli:{getpass.getuser()}",
                          on_batch=planned)
    typer.echo(plan_line(plan))
    for example in plan.skipped_examples:
        typer.echo(f"  skipped {example}")
    progress = await _follow(engine, plan.run, timeout_s) if wait else await _read(engine, plan.run)
    for line in summary_lines(progress):
        typer.echo(line)
    if wait and progress.finished and advances:
        options = Options(prices_root=Path(settings.rules_dir) / PRICES_SUBDIRECTORY, reason="settlement")
        regenerated = await regenerate(engine, clock, options)
        typer.echo(f"advances: contracts={regenerated.contracts} created={regenerated.created} "
                   f"unchanged={regenerated.unchanged} skipped={regenerated.skipped}")
    return progress


async def _read(engine: AsyncEngine, run: str) -> RunProgress:
    async with engine.connect() as conn:
        return await run_progress(conn, run)


async def _follow(engine: AsyncEngine, run: str, timeout_s: float) -> RunProgress:
    """Poll the run until it is finished or ``timeout_s`` passed, with a progress bar on stderr."""
    deadline = time.monotonic() + timeout_s
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, transient=True) as bar:
        task = bar.add_task(f"run {run}", total=None)
        while True:
            progress = await _read(engine, run)
            bar.update(task, total=progress.orders, completed=progress.done,
                       description=f"run {run}: {progress.billed} billed")
            if progress.finished or progress.stalled or time.monotonic() >= deadline:
                return progress
            await asyncio.sleep(POLL_INTERVAL_S)


def plan_line(plan: PlanSummary) -> str:
    return (
        f"planned run {plan.run}: {plan.queued} orders queued now; contracts read {plan.contracts_read}, "
        f"not due {plan.not_due}, already in the run {plan.already_planned}, already billed "
        f"{plan.already_billed}, order exists {plan.order_exists}, another order open {plan.open_order}"
    )


def summary_lines(progress: RunProgress) -> list[str]:
    """The run's summary as printed; the last line is ``key=value`` pairs for scripts."""
    states = progress.states
    outsorted = states.get("outsorted", 0)
    reasons = ", ".join(f"{code} {count}" for code, count in progress.outsorted_by_reason.items())
    by_state = " ".join(f"{state}={count}" for state, count in sorted(states.items()))
    lines = [
        f"orders: {progress.orders} ({by_state or 'none'})",
        f"billed: {progress.billed}; invoices {progress.invoices}, total {progress.total} CZK, "
        f"due from customers {progress.balance_due} CZK, overpaid {progress.overpaid} CZK",
        f"outsorted: {outsorted}" + (f" ({reasons})" if reasons else ""),
        f"waiting for reading: {states.get('waiting_for_reading', 0)}",
    ]
    if progress.stuck:
        lines.append(f"stuck: {progress.stuck} orders wait on a dead letter (proud dlq list: fix, replay)")
    in_flight = progress.orders - progress.done
    lines.append(
        f"run={progress.run} orders={progress.orders} done={progress.done} billed={progress.billed} "
        f"outsorted={outsorted} waiting={states.get('waiting_for_reading', 0)} "
        f"cancelled={states.get('cancelled', 0)} in_flight={in_flight} stuck={progress.stuck} "
        f"total={progress.total}"
    )
    return lines


def register(app: typer.Typer) -> None:
    """Add ``run`` and ``run-status`` to ``proud billing``."""
    app.command("run")(run_command)
    app.command("run-status")(run_status_command)
