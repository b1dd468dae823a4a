"""The rule set in ``rules/`` checks clean against the real registries; ``proud rules check`` exit codes and
output; decision files; machine versions that follow meaning, not formatting."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

from gateway.bus.topics import TOPICS as TOPIC_REGISTRY
from gateway.cli.rules import rules_app
from gateway.process.actions import ACTIONS as ACTION_REGISTRY
from gateway.process.check import check, registered_message_types
from gateway.process.loader import load_rules
from tests.process.rules_support import ACTIONS, MESSAGE_TYPES, REPO_RULES, write_decision, write_machine

VALID = """\
machine: demo
start_on: [invoice.overdue]
initial: open
states:
  open:
    transitions:
      - on: payment.received
        target: paid
  paid: {final: true}
"""
WARNING_ONLY = VALID.replace("  paid: {final: true}\n", "  paid: {}\n")


def invoke(args: list[str]) -> Result:
    # The same wiring as gateway/cli/main.py: ``app.add_typer(rules_app, name="rules")``.
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """proud"""

    app.add_typer(rules_app, name="rules")
    return CliRunner().invoke(app, ["rules", *args])


def test_repository_rules_check_clean() -> None:
    ruleset = load_rules(REPO_RULES)
    topics = [spec.name for spec in TOPIC_REGISTRY.all(with_dlq=False)]
    problems = check(
        ruleset, actions=ACTION_REGISTRY.names(), message_types=registered_message_types(), topics=topics
    )
    assert problems == []
    # The reminder demo and the domain machines (switching, ...): all of them check clean.
    assert "reminder" in ruleset.machines and "reminder_level" in ruleset.decisions


def test_cli_clean_exits_0() -> None:
    result = invoke(["check", "--root", str(REPO_RULES)])
    ruleset = load_rules(REPO_RULES)
    counts = f"{len(ruleset.machines)} machine(s), {len(ruleset.decisions)} decision(s)"
    assert (result.exit_code, result.output) == (0, f"{counts}: 0 error(s), 0 warning(s)\n")


def test_cli_errors_exit_1(tmp_path: Path) -> None:
    path = write_machine(tmp_path, VALID.replace("target: paid", "target: payd"))
    result = invoke(["check", "--root", str(tmp_path)])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"{path}:8: error: transition target 'payd' in state 'open' is not a state; did you mean 'paid'?",
        f"{path}:9: error: state 'paid' cannot be reached from initial state 'open'",
        "1 machine(s), 0 decision(s): 2 error(s), 0 warning(s)",
    ]


def test_cli_warnings_alone_exit_0(tmp_path: Path) -> None:
    path = write_machine(tmp_path, WARNING_ONLY)
    result = invoke(["check", "--root", str(tmp_path)])
    assert result.exit_code == 0
    assert result.output.splitlines()[0].startswith(f"{path}:9: warning: state 'paid' is not final")
    assert result.output.splitlines()[-1] == "1 machine(s), 0 decision(s): 0 error(s), 1 warning(s)"


def test_cli_missing_root_is_usage_error(tmp_path: Path) -> None:
    result = invoke(["check", "--root", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert f"rules directory {tmp_path / 'nope'} does not exist" in result.output


def test_empty_rules_directory_is_a_problem(tmp_path: Path) -> None:
    problems = check(load_rules(tmp_path), actions=ACTIONS, message_types=MESSAGE_TYPES)
    assert [str(problem) for problem in problems] == [
        f"{tmp_path}:1: error: no machines/ or decisions/ directory in {tmp_path}"
    ]


def _version(root: Path, text: str) -> str:
    write_machine(root, text)
    return load_rules(root).machines["demo"].version


def test_version_ignores_comments_layout_and_key_order(tmp_path: Path) -> None:
    reformatted = """\
# The same machine, written differently.
initial: "open"
machine: demo      # name first or last: no matter
states:
  paid:
    final: yes
  open:
    transitions: [{target: paid, on: payment.received}]
start_on:
  - invoice.overdue
"""
    version = _version(tmp_path, VALID)
    assert len(version) == 12 and int(version, 16) >= 0
    assert _version(tmp_path, reformatted) == version


@pytest.mark.parametrize("change", [
    ("target: paid", "target: paid\n        guard: \"payload.amount > 0\""),
    ("  paid: {final: true}\n", "  paid: {final: true}\n  extra: {final: true}\n"),
    ("[invoice.overdue]", "[invoice.overdue, payment.received]"),
])
def test_version_changes_with_meaning(tmp_path: Path, change: tuple[str, str]) -> None:
    old, new = change
    assert VALID.count(old) == 1
    assert _version(tmp_path, VALID.replace(old, new)) != _version(tmp_path, VALID)


def _decision(**replace: object) -> str:
    document = json.loads((REPO_RULES / "decisions" / "reminder_level.json").read_text(encoding="utf-8"))
    document.update(replace)
    return json.dumps(document, indent=2)


@pytest.mark.parametrize(("text", "line", "message"), [
    ('{"nodes": [],\n "edges": [}', 2, "JSON syntax error: Expecting value"),
    ("[1, 2]", 1, "a decision file must hold a JSON object (a GoRules JDM graph)"),
    ('{"edges": []}', 1, "a JDM graph needs a 'nodes' list"),
    ('{"nodes": [], "edges": []}', 1, "zen-engine refuses the decision: invalidInputCount (nodeCount=0)"),
])
def test_decision_file_problems(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = write_decision(tmp_path, text)
    ruleset = load_rules(tmp_path)
    assert [str(problem) for problem in ruleset.problems] == [f"{path}:{line}: error: {message}"]
    assert ruleset.decisions == {}


def test_decision_with_cycle_is_refused(tmp_path: Path) -> None:
    document = json.loads(_decision())
    document["edges"].append({"id": "back", "sourceId": "response", "targetId": "request", "type": "edge"})
    path = write_decision(tmp_path, json.dumps(document))
    assert [str(p) for p in load_rules(tmp_path).problems] == [
        f"{path}:1: error: zen-engine refuses the decision: cyclicGraph"
    ]


def test_decision_cell_that_does_not_compile(tmp_path: Path) -> None:
    text = _decision().replace('">= 5000"', '">= ("')
    path = write_decision(tmp_path, text)
    line = text[: text.index('"medium_debt"')].count("\n") + 1
    assert [str(p) for p in load_rules(tmp_path).problems] == [
        f"{path}:{line}: error: node 'reminder_level', rule 2, cell '>= (': "
        "parserError: Unexpected token: None at (4, 4); Expected Bracket."
    ]


def test_decision_name_must_be_a_plain_name(tmp_path: Path) -> None:
    path = write_decision(tmp_path, _decision(), "Reminder-Level.json")
    assert [str(p) for p in load_rules(tmp_path).problems] == [
        f"{path}:1: error: bad decision name 'Reminder-Level': name the file [a-z][a-z0-9_]*.json"
    ]
