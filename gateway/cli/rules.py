"""``proud rules``: check the rule files (state machines and decision tables) before they run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gateway.bus.topics import TOPICS
from gateway.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, fail, guarded
from gateway.process.actions import ACTIONS
from gateway.process.check import check, registered_message_types
from gateway.process.loader import load_rules

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
