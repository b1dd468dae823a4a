"""The loader: durations, cut-off times, step forms, YAML 1.1 surprises, limits, and parsing a kept source."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from gateway.process.build import parse_cutoff, parse_duration
from gateway.process.definition import ActionCall, Assignment, Decision, TimerSpec, Where
from gateway.process.loader import RULE_FILE_BYTES_MAX, RuleFileError, load_rules, parse_machine
from gateway.process.reader import RULE_NODES_MAX
from tests.process.rules_support import REPO_RULES, write_machine

HEAD = "machine: demo\nstart_on: [invoice.overdue]\ninitial: open\nstates:\n"


@pytest.mark.parametrize(("text", "expected"), [
    ("10 working days", (10, "working_days")),
    ("1 working day", (1, "working_days")),
    ("36 hours", (36, "hours")),
    ("1 hour", (1, "hours")),
    ("90 minutes", (90, "minutes")),
    ("3 days", (3, "days")),
    ("1 day", (1, "days")),
    ("  5   working   days ", (5, "working_days")),
    ("3000 days", (3000, "days")),
])
def test_durations(text: str, expected: tuple[int, str]) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", [
    "10 weeks", "0 days", "-1 days", "1.5 hours", "ten days", "3001 days", "2001 working days",
    "10workingdays", "", "days", "3 Days", "3 days later",
])
def test_bad_durations(text: str) -> None:
    assert parse_duration(text) is None


@pytest.mark.parametrize(("text", "expected"), [
    ("10:00", dt.time(10, 0)), ("9:05", dt.time(9, 5)), ("00:00", dt.time(0, 0)), ("23:59", dt.time(23, 59)),
])
def test_cutoffs(text: str, expected: dt.time) -> None:
    assert parse_cutoff(text) == expected


@pytest.mark.parametrize("text", ["24:00", "10:60", "10", "10:0", "1000", "aa:bb", "10:00:00", ""])
def test_bad_cutoffs(text: str) -> None:
    assert parse_cutoff(text) is None


def test_step_forms(tmp_path: Path) -> None:
    path = write_machine(tmp_path, HEAD + """\
  open:
    on_entry:
      - notify_crm
      - send_reminder: {level: 1, channels: [email, sms]}
      - send_reminder:
      - set: {amount_due: "payload.amount", escalation.level: "1 + 1"}
      - decide: {table: reminder_level, into: escalation}
    transitions: [{on: payment.received, target: paid}]
  paid: {final: true}
""")
    ruleset = load_rules(tmp_path)
    assert ruleset.problems == ()

    def where(line: int) -> Where:
        return Where(str(path), line)

    assert ruleset.machines["demo"].states["open"].on_entry == (
        ActionCall("notify_crm", {}, where(7)),
        ActionCall("send_reminder", {"level": 1, "channels": ["email", "sms"]}, where(8)),
        ActionCall("send_reminder", {}, where(9)),
        Assignment("amount_due", "payload.amount", where(10)),
        Assignment("escalation.level", "1 + 1", where(10)),
        Decision("reminder_level", "escalation", where(11)),
    )


def test_bad_step_forms(tmp_path: Path) -> None:
    path = write_machine(tmp_path, HEAD + """\
  open:
    on_entry:
      - {send_reminder: {level: 1}, set: {a: "1"}}
      - send_reminder: 2
      - set: {"bad path": "1", data.x: "2"}
      - decide: {table: reminder_level}
    transitions: [{on: payment.received, target: paid}]
  paid: {final: true}
""")
    assert [str(problem) for problem in load_rules(tmp_path).problems] == [
        f"{path}:7: error: step states.open.on_entry[0] must be one of: NAME, NAME: {{params}}, "
        "set: {path: expression}, decide: {table: .., into: ..}",
        f"{path}:8: error: parameters of action 'send_reminder' must be a mapping, "
        "e.g. send_reminder: {level: 1}",
        f"{path}:9: error: bad data path 'bad path': use names joined by dots, e.g. escalation.level",
        f"{path}:9: warning: data path 'data.x' starts with 'data': paths are below data",
        f"{path}:10: error: states.open.on_entry[3].decide is missing required key 'into'",
    ]


def test_yaml_1_1_words_stay_text(tmp_path: Path) -> None:
    # `on` is a YAML 1.1 boolean and an unquoted 10:00 the number 600; the loader keeps what was written.
    write_machine(tmp_path, HEAD + """\
  open:
    timers:
      - {name: deadline, at: payload.final_date, working_days_before: 2, cutoff: 10:00}
    transitions:
      - on: timer.deadline
        target: paid
  paid:
    final: yes
""")
    ruleset = load_rules(tmp_path)
    assert ruleset.problems == ()
    open_state = ruleset.machines["demo"].states["open"]
    assert open_state.transitions[0].on == "timer.deadline"
    assert open_state.timers == (TimerSpec(
        name="deadline", mode="at", field="payload.final_date", working_days_before=2, cutoff=dt.time(10, 0),
        where=open_state.timers[0].where,
    ),)
    assert ruleset.machines["demo"].states["paid"].final is True


def test_after_timer_and_data(tmp_path: Path) -> None:
    data = "data: {sent: 0, since: 2026-01-31, note: null, ok: true}\n"
    write_machine(tmp_path, HEAD.replace("states:\n", data + "states:\n") + """\
  open:
    timers: [{name: first_reminder, after: 10 working days}]
    transitions: [{on: timer.first_reminder, target: paid}]
  paid: {final: true}
""")
    machine = load_rules(tmp_path).machines["demo"]
    assert machine.data == {"sent": 0, "since": "2026-01-31", "note": None, "ok": True}
    timer = machine.states["open"].timers[0]
    assert (timer.mode, timer.amount, timer.unit, timer.message_type) == (
        "after", 10, "working_days", "timer.first_reminder"
    )


def test_timer_needs_after_or_at_and_only_at_takes_cutoff(tmp_path: Path) -> None:
    path = write_machine(tmp_path, HEAD + """\
  open:
    timers:
      - {name: both, after: 3 days, at: data.due}
      - {name: early, after: 3 days, cutoff: "10:00"}
    transitions: [{on: timer.both, target: paid}, {on: timer.early, target: paid}]
  paid: {final: true}
""")
    ruleset = load_rules(tmp_path)
    assert [str(problem) for problem in ruleset.problems] == [
        f"{path}:7: error: timer 'both' needs one of `after` (a duration) or `at` (a date field)",
        f"{path}:8: error: timer 'early': `cutoff` applies only to `at` timers",
    ]
    assert [timer.name for timer in ruleset.machines["demo"].states["open"].timers] == ["both", "early"]


@pytest.mark.parametrize("missing", ["machine", "initial", "states"])
def test_missing_required_key_builds_no_machine(tmp_path: Path, missing: str) -> None:
    lines = [line for line in (HEAD + "  open: {final: true}\n").splitlines() if not line.startswith(missing)]
    if missing == "states":
        lines = lines[:3]
    path = write_machine(tmp_path, "\n".join(lines) + "\n")
    ruleset = load_rules(tmp_path)
    assert [str(p) for p in ruleset.problems] == [
        f"{path}:1: error: the machine is missing required key {missing!r}"
    ]
    assert ruleset.loaded == ()


def test_oversized_and_non_utf8_files_are_refused(tmp_path: Path) -> None:
    big = write_machine(tmp_path, "# " + "x" * RULE_FILE_BYTES_MAX + "\n", "big.yaml")
    latin = tmp_path / "machines" / "latin.yaml"
    latin.write_bytes(b"machine: demo\ndescription: Upom\xednka\n")
    assert [str(p) for p in load_rules(tmp_path).problems] == [
        f"{big}:1: error: file is larger than {RULE_FILE_BYTES_MAX} bytes",
        f"{latin}:2: error: not UTF-8 text (byte 31)",
    ]


def test_alias_expansion_is_bounded(tmp_path: Path) -> None:
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, 6)]
    path = write_machine(tmp_path, HEAD.replace("states:\n", "data:\n" + "".join(f"  {x}\n" for x in levels)))
    problems = [str(p) for p in load_rules(tmp_path).problems]
    assert len(problems) == 1
    assert problems[0].startswith(f"{path}:")
    assert problems[0].endswith(f"the file expands to more than {RULE_NODES_MAX} YAML nodes")


def test_empty_file(tmp_path: Path) -> None:
    path = write_machine(tmp_path, "# nothing yet\n")
    assert [str(p) for p in load_rules(tmp_path).problems] == [
        f"{path}:1: error: the file is empty; a machine needs machine, initial and states"
    ]


def test_parse_machine_matches_the_loaded_version() -> None:
    ruleset = load_rules(REPO_RULES)
    source = ruleset.sources["reminder"]
    parsed = parse_machine(source, "reminder@old")
    assert parsed.version == ruleset.machines["reminder"].version
    assert parsed.states["open"].where == Where("reminder@old", 12)
    with pytest.raises(RuleFileError) as caught:
        parse_machine(source.replace("after: 10 working days", "after: 10 weeks"), "reminder@old")
    assert str(caught.value).startswith("reminder@old:19: error: bad duration '10 weeks'")


def test_demo_machine_model() -> None:
    machine = load_rules(REPO_RULES).machines["reminder"]
    assert (machine.initial, machine.start_on, machine.topics) == (
        "open", ("invoice.overdue",), ("payments.events",)
    )
    assert set(machine.states) == {"open", "reminded", "paid", "escalated"}
    final_notice = machine.states["reminded"].timers[0]
    assert (final_notice.mode, final_notice.field, final_notice.working_days_before, final_notice.cutoff) == (
        "at", "data.final_date", 2, dt.time(10, 0)
    )
    assert [t.target for t in machine.states["reminded"].transitions] == ["paid", "escalated"]
