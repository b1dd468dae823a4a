"""``check``: one broken machine file per check class, and the exact ``file:line: severity: message`` lines.

Each case is a whole small file, so that the line numbers in the expectations can be counted by eye; each
expects the full list of problems, so that a check that also reports noise (a follow-on of the first
problem) fails too.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.process.check import check
from gateway.process.loader import load_rules
from tests.process.rules_support import ACTIONS, MESSAGE_TYPES, TOPICS, write_machine

CASES: dict[str, tuple[str, list[str]]] = {
    "yaml_syntax": ("""\
machine: demo
initial: open
states: open: {}
""", ["{f}:3: error: YAML syntax error: mapping values are not allowed here"]),
    "unknown_top_key": ("""\
machine: demo
descripton: typo
start_on: [invoice.overdue]
initial: open
states:
  open: {transitions: [{on: payment.received, target: paid}]}
  paid: {final: true}
""", ["{f}:2: error: unknown key 'descripton' in the machine; did you mean 'description'?"]),
    "unknown_state_key": ("""\
machine: demo
start_on: [invoice.overdue]
initial: open
states:
  open:
    on_enter: []
    transitions: [{on: payment.received, target: paid}]
  paid: {final: true}
""", ["{f}:6: error: unknown key 'on_enter' in states.open; did you mean 'on_entry'?"]),
    "unknown_transition_key": ("""\
machine: demo
start_on: [invoice.overdue]
initial: open
states:
  open:
    transitions:
      - on: payment.received
        target: paid
        when: later
  paid: {final: true}
""", ["{f}:9: error: unknown key 'when' in transition states.open.transitions[0]"]),
    "unknown_timer_key": ("""\
machine: demo
start_on: [invoice.overdue]
initial: open
states:
  open:
    timers:
      - name: later
        after: 3 days
        repeat: true
    transitions: [{on: timer.later, target: paid}]
  paid: {final: true}
""", ["{f}:9: error: unknown key 'repeat' in timer states.open.timers[0]"]),
    "missing_required_key": ("""\
machine: demo
start_on: [invoice.overdue]
states:
  open: {final: true}
""", ["{f}:1: error: the machine is missing required key 'initial'"]),
    "duplicate_yaml_key": ("""\
machine: demo
start_on: [invoice.overdue]
initial: open
states:
  open: {transitions: [{on: payment.received, target: paid}]}
  paid: {final: true}
  open: {final: true}
""", ["{f}:7: error: duplicate key 'open' in states"]),
    "bad_machine_name": ("""\
machine: Dunning-2
start_on: [invoice.overdue]
initial: done
states:
  done: {final: true}
""", ["{f}:1: error: bad machine name 'Dunning-2': use lower-case letters, digits and _, starting with a "
      "letter, at most 64 characters"]),
    "unknown_initial_state": ("""\
machine: demo
start_on: [invoice.overdue]
initial: opn
states:
  open: {transitions: [{on: payment.received, target: paid}]}
  paid: {final: true}
""", ["{f}:3: error: initial state 'opn' is not a state; did you mean 'open'?"]),
    "unknown_target": ("""\
machine: demo
start_on: [invoice.overdue]
initial: open
states:
  open:
    transitions:
      - on: payment.received
        target: payd
  paid: {final: true}
""", ["{f}:8: error: transition target 'payd' in state 'open' is not a state; did you mean 'paid'?",
      "{f}:9: error: state 'paid' cannot be reached from initial state 'open'"]),
    "unknown_action": ("""\
machine: demo
start_on: [invoice.overdue]
initial: open
states:
  open:
    on_entry:
      - send_remindr: {level: 1}
    transitions: [{on: payment.received, target: paid}]
  paid: {final: true}
""", ["{f}:7: error: unknown action 'send_remindr': not in the action registry; "
      "did you mean 'send_reminder'?"]),
    "unknown_decision_table": ("""\
machine: demo
start_on: [invoice.overdue]
initial: open
states:
  open:
    transitions:
      - on: payment.received
        target: paid
        actions:
          - decide: {table: reminder_level, into: escalation}
  paid: {final: true}
""", ["{f}:10: error: unknown decision table 'reminder_level': no valid decisions/reminder_level.json"]),
    "unknown_message_type": ("""\
machine: demo
start_on: [invoice.overdue, contract.signed]
initial: open
states:
  open:
    transitions:
      - on: payment.recieved
        target: paid
  paid: {final: true}
""", ["{f}:2: error: unknown message type 'contract.signed' in start_on "
      "(no payload struct is registered for it)",
      "{f}:7: error: unknown message type 'payment.recieved' in state 'open' "
      "(no payload struct is registered for it); did you mean 'payment.received'?"]),
    "timer_not_armed": ("""\
machine: demo
start_on: [invoice.overdue]
initial: open
states:
  open:
    timers:
      - {name: first_reminder, after: 10 working days}
    transitions:
      - on: timer.first_remainder
        target: paid
  paid: {final: true}
""", ["{f}:9: error: state 'open' arms no timer 'first_remainder', so 'timer.first_remainder' never comes to "
      "it; did you mean 'first_reminder'?"]),
    "duplicate_timer": ("""\
machine: demo
start_on: [invoice.overdue]
initial: open
states:
  open:
    timers:
      - {name: later, after: 3 days}
      - {name: later, after: 4 days}
    transitions: [{on: timer.later, target: paid}]
  paid: {final: true}
""", ["{f}:8: error: timer 'later' is defined twice in state 'open' (first at line 7)"]),
    "bad_duration": ("""\
machine: demo
start_on: [invoice.overdue]
initial: open
states:
  open:
    timers:
      - {name: later, after: 2 weeks}
    transitions: [{on: timer.later, target: paid}]
  paid: {final: true}
""", ["{f}:7: error: bad duration '2 weeks' in timer 'later': use '<n> minutes', '<n> hours', '<n> days' or "
      "'<n> working days', n at least 1 and at most 3000 days"]),
    "bad_cutoff": ("""\
machine: demo
start_on: [invoice.overdue]
initial: open
states:
  open:
    timers:
      - name: deadline
        at: payload.final_date
        cutoff: 24:30
    transitions: [{on: timer.deadline, target: paid}]
  paid: {final: true}
""", ["{f}:9: error: bad cutoff '24:30' in timer 'deadline': use HH:MM, local time in Prague"]),
    "bad_at_field": ("""\
machine: demo
start_on: [invoice.overdue]
initial: open
states:
  open:
    timers:
      - name: deadline
        at: "final date"
    transitions: [{on: timer.deadline, target: paid}]
  paid: {final: true}
""", ["{f}:8: error: bad `at` field 'final date' in timer 'deadline': use a context path to a date, such as "
      "data.final_date or payload.switch_date"]),
    "bad_expression": ("""\
machine: demo
start_on: [invoice.overdue]
initial: open
states:
  open:
    on_entry:
      - set:
          amount_due: "payload.amount *"
    transitions:
      - on: payment.received
        guard: "payload.amount >= data.amount_due and"
        target: paid
  paid: {final: true}
""", ["{f}:8: error: bad expression 'payload.amount *' for 'amount_due': parserError: "
      "Unexpected end of unary expression at (16, 16)",
      "{f}:11: error: bad guard expression 'payload.amount >= data.amount_due and': parserError: "
      "Unexpected end of unary expression at (37, 37)"]),
    "unreachable_state": ("""\
machine: demo
start_on: [invoice.overdue]
initial: open
states:
  open: {transitions: [{on: payment.received, target: paid}]}
  paid: {final: true}
  forgotten: {final: true}
""", ["{f}:7: error: state 'forgotten' cannot be reached from initial state 'open'"]),
    "final_state_with_exits": ("""\
machine: demo
start_on: [invoice.overdue]
initial: open
states:
  open: {transitions: [{on: payment.received, target: paid}]}
  paid:
    final: true
    timers:
      - {name: archive, after: 90 days}
    transitions:
      - {on: timer.archive, target: open}
""", ["{f}:8: error: final state 'paid' has timers: no message reaches a final state",
      "{f}:10: error: final state 'paid' has transitions: a final state ignores messages"]),
    "dead_end_warning": ("""\
machine: demo
start_on: [invoice.overdue]
initial: open
states:
  open: {transitions: [{on: payment.received, target: waiting}]}
  waiting:
    transitions:
      - on: payment.received
""", ["{f}:6: warning: state 'waiting' is not final and has no transition to another state: its instances "
      "stay there for ever"]),
    "shadowed_transition_warning": ("""\
machine: demo
start_on: [invoice.overdue]
initial: open
states:
  open:
    transitions:
      - {on: payment.received, target: paid}
      - {on: payment.received, guard: "payload.amount > 0", target: paid}
  paid: {final: true}
""", ["{f}:8: warning: transition on 'payment.received' never fires: the one at line 7 has no guard "
      "and takes every 'payment.received' first"]),
    "migration_unknown_state": ("""\
machine: demo
start_on: [invoice.overdue]
initial: open
states:
  open: {transitions: [{on: payment.received, target: paid}]}
  paid: {final: true}
migrations:
  3f9a0c12b4e1:
    open: open
    reminded: remindet
""", ["{f}:10: error: migration from version 3f9a0c12b4e1 moves state 'reminded' to 'remindet', "
      "which is not a state of this version"]),
    "start_on_empty": ("""\
machine: demo
start_on: []
initial: open
states:
  open: {transitions: [{on: payment.received, target: paid}]}
  paid: {final: true}
""", ["{f}:2: error: start_on is missing or empty: "
      "no message could ever create an instance of this machine"]),
    "unknown_topic": ("""\
machine: demo
topics: [payment.events]
start_on: [invoice.overdue]
initial: open
states:
  open: {transitions: [{on: payment.received, target: paid}]}
  paid: {final: true}
""", ["{f}:2: error: unknown topic 'payment.events': not in the topic registry; "
      "did you mean 'payments.events'?"]),
    "python_tag_refused": ("""\
machine: demo
start_on: [invoice.overdue]
initial: open
data: !!python/object/apply:os.system [echo hacked]
states:
  open: {final: true}
""", ["{f}:4: error: unsupported YAML tag 'tag:yaml.org,2002:python/object/apply:os.system': only plain JSON "
      "values are allowed"]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_check_class(tmp_path: Path, name: str) -> None:
    text, expected = CASES[name]
    path = write_machine(tmp_path, text)
    ruleset = load_rules(tmp_path)
    problems = check(ruleset, actions=ACTIONS, message_types=MESSAGE_TYPES, topics=TOPICS)
    assert [str(problem) for problem in problems] == [line.format(f=path) for line in expected]


def test_duplicate_machine_name_across_files(tmp_path: Path) -> None:
    text = "machine: demo\nstart_on: [invoice.overdue]\ninitial: done\nstates:\n  done: {final: true}\n"
    first = write_machine(tmp_path, text, "a.yaml")
    second = write_machine(tmp_path, "# the same name again\n" + text, "b.yaml")
    ruleset = load_rules(tmp_path)
    problems = check(ruleset, actions=ACTIONS, message_types=MESSAGE_TYPES)
    assert [str(problem) for problem in problems] == [
        f"{second}:2: error: machine 'demo' is already defined in {first}:1"
    ]
    assert ruleset.machines["demo"].where.file == str(first)  # the first file (by name) wins
    assert len(ruleset.loaded) == 2


def test_timer_transitions_in_start_on_are_refused(tmp_path: Path) -> None:
    path = write_machine(tmp_path, """\
machine: demo
start_on: [timer.later]
initial: done
states:
  done: {final: true}
""")
    problems = check(load_rules(tmp_path), actions=ACTIONS, message_types=MESSAGE_TYPES)
    assert [str(problem) for problem in problems] == [
        f"{path}:2: error: unknown message type 'timer.later' in start_on: "
        "a timer belongs to an instance and cannot start one"
    ]


def test_process_timer_is_not_a_transition_type(tmp_path: Path) -> None:
    path = write_machine(tmp_path, """\
machine: demo
start_on: [invoice.overdue]
initial: open
states:
  open: {transitions: [{on: process.timer, target: done}]}
  done: {final: true}
""")
    problems = check(load_rules(tmp_path), actions=ACTIONS, message_types={*MESSAGE_TYPES, "process.timer"})
    assert [str(problem) for problem in problems] == [
        f"{path}:5: error: 'process.timer' never matches: a machine receives its timers as 'timer.<name>'"
    ]


def test_dropped_transition_keeps_later_lines_right(tmp_path: Path) -> None:
    # The first transition is dropped (no `on`); the second's target must still point at its own line.
    path = write_machine(tmp_path, """\
machine: demo
start_on: [invoice.overdue]
initial: open
states:
  open:
    transitions:
      - target: paid
      - on: payment.received
        target: nowhere
  paid: {final: true}
""")
    problems = check(load_rules(tmp_path), actions=ACTIONS, message_types=MESSAGE_TYPES)
    assert [str(problem) for problem in problems] == [
        f"{path}:7: error: transition states.open.transitions[0] is missing required key 'on'",
        f"{path}:9: error: transition target 'nowhere' in state 'open' is not a state",
        f"{path}:10: error: state 'paid' cannot be reached from initial state 'open'",
    ]
