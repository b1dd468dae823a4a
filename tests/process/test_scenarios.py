"""Scenario tests: every scenario in ``rules/tests/`` is a test of its own; the runner's own behaviour
(failure texts naming the failing ``expect`` line, unreadable files, the CLI) is tested on files made here."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gateway.process.scenario_file import Scenario
from gateway.process.scenarios import ScenarioResult, load_suite, run_scenarios
from tests.process.rules_support import REPO_RULES
from tests.process.test_rules_cli import invoke

_SUITE = load_suite(REPO_RULES)


def _id(scenario: Scenario) -> str:
    return f"{Path(scenario.file).stem}: {scenario.name}"


def test_repository_scenario_files_are_readable() -> None:
    assert [result.reason for result in _SUITE.broken] == []
    assert len(_SUITE.scenarios) >= 4


@pytest.mark.parametrize("scenario", _SUITE.scenarios, ids=_id)
async def test_rule_scenario(scenario: Scenario) -> None:
    result = await _SUITE.run(scenario)
    assert result.passed, f"{scenario.file}: {scenario.name}\n{result.reason}"


HEAD = """\
machine: reminder
key: CA-1
start: "2026-03-02T09:00:00+01:00"
scenarios:
  - name: broken on purpose
    steps:
      - message: {type: invoice.overdue, payload: {invoice: FV-1, amount: 1200.50, final_date: 2026-03-31}}
"""


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    root = tmp_path / "rules"
    # The reminder demo only: the texts below list the known machines.
    for part, name in (("machines", "reminder.yaml"), ("decisions", "reminder_level.json")):
        (root / part).mkdir(parents=True)
        shutil.copy(REPO_RULES / part / name, root / part / name)
    (root / "tests").mkdir()
    return root


async def _run(rules: Path, steps: str, name: str = "case.yaml") -> ScenarioResult:
    (rules / "tests" / name).write_text(HEAD + steps, encoding="utf-8")
    (result,) = await run_scenarios(rules)
    assert not result.passed
    return result


async def test_wrong_state_names_the_expect_line_and_both_states(rules: Path) -> None:
    result = await _run(rules, "      - expect: {state: paid}\n")
    assert result.failures == (f"{rules}/tests/case.yaml:8: state: expected paid, got open",)


async def test_missing_emitted_message_lists_expected_and_actual(rules: Path) -> None:
    steps = (
        "      - advance: 10 working days\n"
        "      - expect:\n"
        "          state: reminded\n"
        "          emitted: [process.reminder_requested, process.reminder_requested]\n"
    )
    result = await _run(rules, steps)
    assert result.reason == (
        f"{rules}/tests/case.yaml:9: emitted: expected [process.reminder_requested, "
        "process.reminder_requested], got [process.reminder_requested]"
    )


async def test_unexpected_timer_and_wrong_payload_are_all_reported(rules: Path) -> None:
    steps = (
        "      - expect:\n"
        "          timers: []\n"
        "          data: {amount_due: \"1200.51\", missing: 1}\n"
    )
    result = await _run(rules, steps)
    where = f"{rules}/tests/case.yaml:8"
    assert result.failures == (
        f'{where}: data.amount_due: expected "1200.51", got "1200.50"',
        f"{where}: data.missing: expected 1, got nothing (no such field)",
        f"{where}: timers: expected [], got [first_reminder at 2026-03-16T09:00:00+01:00]",
    )


async def test_wrong_due_time_and_payload_field(rules: Path) -> None:
    steps = (
        "      - expect:\n"
        "          timers: [{name: first_reminder, due: \"2026-03-13T09:00:00+01:00\"}]\n"
        "      - advance: 10 working days\n"
        "      - expect:\n"
        "          emitted: [{type: process.reminder_requested, payload: {level: 2}}]\n"
    )
    result = await _run(rules, steps)
    assert result.reason == (
        f"{rules}/tests/case.yaml:8: timers: first_reminder: expected due 2026-03-13T09:00:00+01:00, "
        "got 2026-03-16T09:00:00+01:00"
    )
    steps = steps.replace("2026-03-13", "2026-03-16")
    result = await _run(rules, steps)
    assert result.reason == f"{rules}/tests/case.yaml:11: emitted[0].payload.level: expected 2, got 1"


async def test_bad_message_and_unknown_machine_fail_at_their_lines(rules: Path) -> None:
    result = await _run(rules, "      - message: {type: payment.received, payload: {amount: lots}}\n")
    assert result.reason.startswith(f"{rules}/tests/case.yaml:8: message payment.received: ")
    text = (HEAD + "      - expect: {state: open}\n").replace("machine: reminder", "machine: remindr")
    (rules / "tests" / "case.yaml").write_text(text, encoding="utf-8")
    (result,) = await run_scenarios(rules)
    assert result.reason == (
        f"{rules}/tests/case.yaml:5: no machine 'remindr' in {rules}/machines; did you mean 'reminder'? "
        "(known: reminder)"
    )


async def test_unreadable_file_is_one_failed_result_with_its_problems(rules: Path) -> None:
    result = await _run(rules, "      - wait: 3 days\n      - advance: 3 weeks\n")
    assert result.name == "(scenario file)"
    assert result.failures == (
        f"{rules}/tests/case.yaml:8: error: unknown key 'wait' in a step",
        f"{rules}/tests/case.yaml:8: error: a step is one of message, advance, advance_to, expect: "
        "exactly one key",
        f"{rules}/tests/case.yaml:9: error: advance: '3 weeks' is no duration: write e.g. 36 hours, 2 days, "
        "3 working days",
    )


def test_cli_prints_pass_and_fail_and_exits_1(rules: Path) -> None:
    shutil.copy(REPO_RULES / "tests" / "reminder.yaml", rules / "tests" / "reminder.yaml")
    ok = invoke(["test", "--root", str(rules)])
    assert ok.exit_code == 0, ok.output
    reminders = sum(1 for scenario in _SUITE.scenarios if scenario.machine == "reminder")
    assert ok.output.count("PASS ") == reminders
    (rules / "tests" / "zz_case.yaml").write_text(HEAD + "      - expect: {state: paid}\n", encoding="utf-8")
    bad = invoke(["test", "--root", str(rules)])
    assert bad.exit_code == 1
    assert (
        f"FAIL {rules}/tests/zz_case.yaml: broken on purpose\n"
        f"  {rules}/tests/zz_case.yaml:8: state: expected paid, got open\n"
    ) in bad.output
    assert bad.output.endswith(f"in {rules}/tests: {reminders} passed, 1 failed\n")
