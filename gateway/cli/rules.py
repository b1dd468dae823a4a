"""``proud rules``: check the rule files (state machines and decision tables) before they run."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.bus import create_bus
from gateway.bus.topics import TOPICS
from gateway.cli import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    ConfigOption,
    cli_settings,
    fail,
    guarded,
    with_engine,
)
from gateway.clock import SystemClock
from gateway.config import Settings
from gateway.process.actions import ACTIONS
from gateway.process.calendar import PRAGUE
from gateway.process.check import check, registered_message_types
from gateway.process.definition import Machine
from gateway.process.expressions import Decisions
from gateway.process.loader import load_rules
from gateway.process.replay import ReplayReport, compare, recorded_from_store, recording_lines, replay
from gateway.process.replay_input import REPLAY_MESSAGES_MAX, ReplayInput, read_jsonl, read_topic
from gateway.process.scenarios import TESTS_DIRECTORY, run_scenarios
from gateway.store.db import create_engine

rules_app = typer.Typer(help="Rule files: state machines and decision tables.", no_args_is_help=True)

RootOption = Annotated[
    Path,
    typer.Option("--root", metavar="DIR", file_okay=False, help="Rules directory (machines/, decisions/)."),
]


@rules_app.callback()
def rules() -> None:
    """Rule files: state machines (machines/*.yaml) and decision tables (decisions/*.json)."""


@rules_app.command("check")
def check_command(root: RootOption = Path("rules")) -> None:
    """Validate every rule file; print one `file:line: severity: message` line per problem.

    Exit code 1 if there is any error; warnings alone exit 0.
    """
    if not root.is_dir():
        fail(f"rules directory {root} does not exist", EXIT_USAGE)
    with guarded():
        ruleset = load_rules(root)
        problems = check(
            ruleset,
            actions=ACTIONS.names(),
            message_types=registered_message_types(),
            topics=[spec.name for spec in TOPICS.all(with_dlq=False)],
        )
    for problem in problems:
        typer.echo(str(problem))
    errors = sum(1 for problem in problems if problem.severity == "error")
    warnings = len(problems) - errors
    typer.echo(
        f"{len(ruleset.loaded)} machine(s), {len(ruleset.decisions)} decision(s): "
        f"{errors} error(s), {warnings} warning(s)"
    )
    raise typer.Exit(EXIT_FAILED if errors else EXIT_OK)


@rules_app.command("test")
def test_command(root: RootOption = Path("rules")) -> None:
    """Run the scenario tests in DIR/tests/*.yaml in memory; print PASS or FAIL (with why) per scenario.

    Exit code 1 if any scenario failed.
    """
    if not root.is_dir():
        fail(f"rules directory {root} does not exist", EXIT_USAGE)
    with guarded():
        results = asyncio.run(run_scenarios(root))
    for result in results:
        typer.echo(f"{'PASS' if result.passed else 'FAIL'} {result.file}: {result.name}")
        for line in result.failures:
            typer.echo(f"  {line}")
    failed = sum(1 for result in results if not result.passed)
    where = root / TESTS_DIRECTORY
    typer.echo(f"{len(results)} scenario(s) in {where}: {len(results) - failed} passed, {failed} failed")
    raise typer.Exit(EXIT_FAILED if failed else EXIT_OK)


@rules_app.command("replay")
def replay_command(
    ctx: typer.Context,
    machine: Annotated[str, typer.Option("--machine", metavar="NAME", help="The machine to replay.")],
    source: Annotated[str, typer.Option(
        "--from", metavar="TOPIC[:OFFSET]|FILE.jsonl",
        help="A JSONL file of envelopes, or a topic of the configured bus (from OFFSET on every partition).",
    )],
    rules: Annotated[Path, typer.Option("--rules", metavar="DIR", file_okay=False)] = Path("rules"),
    limit: Annotated[int, typer.Option("--limit", min=1, max=REPLAY_MESSAGES_MAX)] = REPLAY_MESSAGES_MAX,
    until: Annotated[str | None, typer.Option(
        "--until", metavar="ISO", help="After the last message, fire timers due by then (default: its time).",
    )] = None,
    compare_store: Annotated[bool, typer.Option(
        "--compare-store", help="Compare with the store's instances and history (read-only).",
    )] = False,
    record: Annotated[Path | None, typer.Option(
        "--record", metavar="FILE", dir_okay=False, help="Write input and outcome as JSONL, to replay later.",
    )] = None,
    config: ConfigOption = None,
) -> None:
    """Dry-run recorded messages through the current rules in memory; print per instance key what differs
    from the recorded outcome, and a summary. Writes nothing anywhere. Exit 0 even with differences."""
    with guarded():
        runnable = _replay_machine(rules, machine)
        until_at = _instant(until) if until is not None else None
        settings = cli_settings(ctx, config) if compare_store or not _is_file(source) else None
        args = _ReplayArgs(rules, source, limit, until_at, compare_store, settings)
        report = asyncio.run(_replay(runnable, args))
        if record is not None:
            record.write_text("".join(line + "\n" for line in recording_lines(
                report.input.messages, report.outcomes)), encoding="utf-8")
    for line in report.lines():
        typer.echo(line)
    raise typer.Exit(EXIT_OK)


def _replay_machine(rules: Path, name: str) -> Machine:
    if not rules.is_dir():
        fail(f"rules directory {rules} does not exist", EXIT_USAGE)
    ruleset = load_rules(rules)
    machine = ruleset.machines.get(name)
    if machine is None:
        fail(f"no machine {name!r} in {rules / 'machines'} (known: {', '.join(sorted(ruleset.machines))})")
    errors = [p for p in ruleset.problems if p.severity == "error" and p.where.file == machine.where.file]
    if errors:
        fail(f"machine {name} has errors, run `proud rules check`: {errors[0]}")
    return machine


def _is_file(source: str) -> bool:
    return source.endswith(".jsonl") or Path(source).is_file()


def _instant(text: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        fail(f"--until {text!r}: expected an ISO date-time like 2026-04-01T00:00:00+02:00", EXIT_USAGE)
    return value if value.tzinfo is not None else value.replace(tzinfo=PRAGUE)


@dataclass(frozen=True, slots=True)
class _ReplayArgs:
    rules: Path
    source: str
    limit: int
    until: dt.datetime | None
    compare_store: bool
    settings: Settings | None  # only when the bus or the store is read


async def _replay(machine: Machine, args: _ReplayArgs) -> ReplayReport:
    registered_message_types()  # every payload module imported, so that every recorded type decodes
    settings = args.settings
    if _is_file(args.source):
        found = read_jsonl(Path(args.source), args.limit)
    else:
        assert settings is not None
        found = await _read_bus(settings, args.source, args.limit)
    decisions = Decisions(args.rules / "decisions")
    outcomes = await replay(machine, found.messages, decisions=decisions, until=args.until)
    recorded = dict(found.recorded)
    if args.compare_store:
        assert settings is not None
        recorded |= await with_engine(
            settings, lambda engine: recorded_from_store(engine, machine.name, outcomes)
        )
    return ReplayReport(
        machine.name, machine.version, args.source, found, outcomes, recorded, compare(outcomes, recorded)
    )


async def _read_bus(settings: Settings, source: str, limit: int) -> ReplayInput:
    """Read a topic of the configured bus; the SQL log lives in the store's database, Kafka needs none."""
    if settings.bus_backend == "sql":
        return await with_engine(settings, lambda engine: _read_with(settings, engine, source, limit))
    engine = create_engine(settings.effective_database_url)  # never connected: Kafka is read directly
    try:
        return await _read_with(settings, engine, source, limit)
    finally:
        await engine.dispose()


async def _read_with(settings: Settings, engine: AsyncEngine, source: str, limit: int) -> ReplayInput:
    bus = create_bus(settings, engine, SystemClock())
    try:
        return await read_topic(bus, engine, settings, source, limit)
    finally:
        await bus.stop()


def _register_reload() -> None:
    # Imported late: the reload command talks HTTP to the running daemon and needs nothing else from here.
    from gateway.cli.rules_reload import reload_command

    rules_app.command("reload")(reload_command)


_register_reload()
