"""The pure evaluation engine: every disposition, entry/exit order, timers, actions, decisions, errors.

Machines are built directly from the ``definition`` model; ``reminder_machine`` mirrors the example in
``docs/rules.md`` and is shared with the database tests.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from gateway.process.actions import ACTIONS
from gateway.process.calendar import PRAGUE, WorkingCalendar
from gateway.process.definition import (
    ActionCall,
    Assignment,
    Decision,
    Machine,
    State,
    Step,
    TimerSpec,
    Transition,
    Where,
)
from gateway.process.engine import FiredTimer, InstanceState, Outcome, evaluate
from gateway.process.expressions import Decisions
from schemas.envelope import Envelope, new_envelope
from schemas.process import InvoiceOverdue, PaymentReceived, ReminderRequested, TimerFired
from tests.process.test_expressions import write_decisions

NOW = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC)  # Monday, 09:00 in Prague
CAL = WorkingCalendar()
FILE = "rules/machines/reminder.yaml"


def w(line: int) -> Where:
    return Where(FILE, line)


def state(
    name: str,
    *,
    line: int,
    final: bool = False,
    entry: tuple[Step, ...] = (),
    exit_: tuple[Step, ...] = (),
    timers: tuple[TimerSpec, ...] = (),
    transitions: tuple[Transition, ...] = (),
) -> State:
    return State(name, final, entry, exit_, timers, transitions, w(line))


def _open_state() -> State:
    return state(
        "open",
        line=10,
        entry=(
            Assignment("amount_due", "payload.amount", w(12)),
            Assignment("final_date", "payload.final_date", w(13)),
        ),
        exit_=(Assignment("left_open", "true", w(14)),),
        timers=(TimerSpec("first_reminder", "after", 10, "working_days", where=w(16)),),
        transitions=(
            Transition("payment.received", "paid", "payload.amount >= data.amount_due", (), w(20)),
            Transition(
                "timer.first_reminder",
                "reminded",
                None,
                (ActionCall("send_reminder", {"level": 1}, w(25)),),
                w(23),
            ),
            Transition(
                "payment.received",
                None,
                "payload.amount > 0",
                (  # a partial payment
                    Assignment("partial_payments", "(data.partial_payments ?? 0) + 1", w(28)),
                    Assignment("amount_due", "data.amount_due - payload.amount", w(29)),
                ),
                w(27),
            ),
        ),
    )


def _reminded_state() -> State:
    return state(
        "reminded",
        line=31,
        timers=(
            TimerSpec(
                "final_notice",
                "at",
                field="data.final_date",
                working_days_before=2,
                cutoff=dt.time(10, 0),
                where=w(33),
            ),
        ),
        transitions=(
            Transition("payment.received", "paid", None, (), w(38)),
            Transition(
                "timer.final_notice",
                "escalated",
                None,
                (
                    Decision("reminder_level", "escalation", w(42)),
                    ActionCall("send_reminder", {"level": 2}, w(43)),
                ),
                w(40),
            ),
        ),
    )


def reminder_machine(
    version: str = "v1", migrations: Mapping[str, Mapping[str, str]] | None = None
) -> Machine:
    return Machine(
        name="reminder",
        version=version,
        description="test",
        key="contract account",
        topics=("payments.events",),
        start_on=("invoice.overdue",),
        initial="open",
        data={"reminders_sent": 0},
        states={
            "open": _open_state(),
            "reminded": _reminded_state(),
            "paid": state("paid", line=45, final=True),
            "escalated": state("escalated", line=47, final=True),
        },
        migrations=migrations or {},
        where=w(1),
    )


def overdue(key: str = "CA-1", amount: str = "1200.49", final: dt.date = dt.date(2027, 1, 20)) -> Envelope:
    return new_envelope(
        InvoiceOverdue(invoice="INV-1", amount=Decimal(amount), final_date=final), key=key, now=NOW
    )


def payment(amount: str, key: str = "CA-1") -> Envelope:
    return new_envelope(PaymentReceived(amount=Decimal(amount)), key=key, now=NOW)


def timer_message(name: str, timer_id: int, key: str = "CA-1", machine: str = "reminder") -> Envelope:
    body = TimerFired(machine=machine, name=name, timer_id=timer_id, due_at=NOW, instance_key=key)
    return new_envelope(body, key=key, now=NOW)


@pytest.fixture
def decisions(tmp_path: Path) -> Decisions:
    return Decisions(write_decisions(tmp_path / "decisions"))


async def run(
    machine: Machine,
    instance: InstanceState | None,
    message: Envelope,
    *,
    now: dt.datetime = NOW,
    decisions: Decisions | None = None,
    timer: FiredTimer | None = None,
    actions: Any = ACTIONS,
) -> Outcome:
    return await evaluate(
        machine, instance, message, now=now, calendar=CAL, actions=actions, decisions=decisions, timer=timer
    )


def with_id(outcome: Outcome, instance_id: int = 7) -> InstanceState:
    assert outcome.instance is not None
    return InstanceState(
        instance_id,
        outcome.instance.key,
        outcome.instance.version,
        outcome.instance.state,
        outcome.instance.data,
        outcome.instance.seq,
        outcome.instance.entered_seq,
        outcome.instance.transitions,
    )


async def test_start_on_message_creates_the_instance_and_runs_entry_steps_and_timers() -> None:
    message = overdue()
    outcome = await run(reminder_machine(), None, message)
    assert outcome.disposition == "created" and outcome.changed
    instance = outcome.instance
    assert instance is not None and instance.state == "open" and instance.version == "v1"
    assert instance.data == {
        "reminders_sent": 0,
        "amount_due": Decimal("1200.49"),
        "final_date": "2027-01-20",
    }
    assert (instance.seq, instance.entered_seq, instance.transitions) == (1, 1, 0)
    [entry] = outcome.history
    assert (entry.from_state, entry.to_state, entry.disposition, entry.where) == (
        None,
        "open",
        "created",
        None,
    )
    assert entry.message_id == message.id and entry.message_type == "invoice.overdue" and entry.at == NOW
    [timer] = outcome.arm
    # 10 working days after Monday 30 November, 09:00 Prague: Monday 14 December, 09:00 Prague.
    assert timer.name == "first_reminder" and timer.state_entry == 1
    assert timer.due_at == dt.datetime(2026, 12, 14, 9, 0, tzinfo=PRAGUE)
    assert outcome.cancel == [] and outcome.emitted == []


async def test_message_without_instance_and_not_in_start_on_is_ignored() -> None:
    outcome = await run(reminder_machine(), None, payment("10.00"))
    assert outcome.disposition == "ignored_no_instance" and not outcome.changed and outcome.instance is None


async def test_message_matching_no_transition_is_ignored() -> None:
    machine = reminder_machine()
    instance = with_id(await run(machine, None, overdue(amount="1200.49")))
    again = await run(machine, instance, overdue())  # a start_on type, but open has no transition for it
    assert again.disposition == "ignored_no_match" and again.instance is instance and not again.history
    refund = await run(machine, instance, payment("-5.00"))  # both guards fail
    assert refund.disposition == "ignored_no_match" and not refund.changed


async def test_guard_compares_decimal_amounts_exactly() -> None:
    machine = reminder_machine()
    instance = with_id(await run(machine, None, overdue(amount="1200.49")))
    short = await run(machine, instance, payment("1200.48"))
    assert short.disposition == "internal"  # the partial-payment transition, not "paid"
    paid = await run(machine, instance, payment("1200.50"))
    assert paid.disposition == "transitioned" and paid.instance is not None and paid.instance.state == "paid"
    assert paid.cancel == ["first_reminder"] and paid.arm == []
    assert paid.instance.data["left_open"] is True  # exit steps ran
    [entry] = paid.history
    assert (entry.seq, entry.from_state, entry.to_state, entry.where) == (2, "open", "paid", f"{FILE}:20")
    assert (paid.instance.entered_seq, paid.instance.transitions) == (2, 1)


async def test_transition_without_target_runs_steps_only_and_keeps_timers() -> None:
    machine = reminder_machine()
    instance = with_id(await run(machine, None, overdue(amount="100.10")))
    outcome = await run(machine, instance, payment("0.15"))
    assert outcome.disposition == "internal" and outcome.instance is not None
    assert outcome.instance.state == "open" and outcome.arm == [] and outcome.cancel == []
    assert outcome.instance.data["partial_payments"] == 1
    assert outcome.instance.data["amount_due"] == Decimal("99.95")
    assert "left_open" not in outcome.instance.data  # no exit
    assert (outcome.instance.seq, outcome.instance.entered_seq, outcome.instance.transitions) == (2, 1, 1)
    assert outcome.history[0].disposition == "internal" and outcome.history[0].from_state == "open"
    assert instance.data["amount_due"] == Decimal("100.10")  # the input instance is not mutated


async def test_final_state_ignores_messages() -> None:
    machine = reminder_machine()
    instance = with_id(await run(machine, None, overdue()))
    paid = with_id(await run(machine, instance, payment("5000")))
    outcome = await run(machine, paid, payment("1"))
    assert outcome.disposition == "ignored_final" and not outcome.history and outcome.instance is paid


async def test_restart_begins_a_new_run_on_an_ended_instance() -> None:
    machine = dataclasses.replace(reminder_machine(), restart=True)
    paid = with_id(await run(machine, with_id(await run(machine, None, overdue())), payment("5000")))
    assert paid.state == "paid" and paid.seq == 2
    outcome = await run(machine, paid, overdue(amount="10.00"))
    assert outcome.disposition == "restarted" and outcome.instance is not None
    restarted = outcome.instance
    assert (restarted.id, restarted.state, restarted.seq, restarted.entered_seq) == (7, "open", 3, 3)
    assert restarted.transitions == 0 and restarted.data["amount_due"] == Decimal("10.00")
    assert [(h.from_state, h.to_state, h.disposition) for h in outcome.history] == [
        ("paid", "open", "restarted")
    ]
    assert [t.name for t in outcome.arm] == ["first_reminder"] and outcome.arm[0].state_entry == 3
    # Only a start message restarts; anything else still finds the run ended.
    assert (await run(machine, paid, payment("1"))).disposition == "ignored_final"
    # Without ``restart`` the ended instance keeps ignoring even start messages.
    assert (await run(reminder_machine(), paid, overdue())).disposition == "ignored_final"


async def test_current_timer_fires_transition_with_action_and_arms_cutoff_timer() -> None:
    machine = reminder_machine()
    instance = with_id(await run(machine, None, overdue()))
    fired = FiredTimer(id=3, instance_id=7, name="first_reminder", state_entry=1, status="fired")
    message = timer_message("first_reminder", 3)
    outcome = await run(machine, instance, message, now=NOW + dt.timedelta(days=14), timer=fired)
    assert outcome.disposition == "transitioned" and outcome.instance is not None
    assert outcome.instance.state == "reminded" and outcome.instance.data["reminders_sent"] == 1
    [(topic, envelope)] = outcome.emitted
    assert topic == "process.events" and envelope.key == "CA-1" and envelope.causation_id == message.id
    assert envelope.payload == ReminderRequested(level=1, amount_due=Decimal("1200.49"))
    [timer] = outcome.arm
    # "by 10:00 of the 2nd working day before" Wednesday 20 January 2027: Monday 18 January, 10:00 Prague.
    assert timer.name == "final_notice" and timer.state_entry == 2
    assert timer.due_at == dt.datetime(2027, 1, 18, 10, 0, tzinfo=PRAGUE)
    assert outcome.history[0].message_type == "process.timer"


@pytest.mark.parametrize(
    "fired",
    [
        None,  # no timer row
        FiredTimer(3, 7, "first_reminder", state_entry=1, status="pending"),
        FiredTimer(3, 7, "first_reminder", state_entry=1, status="cancelled"),
        FiredTimer(3, 7, "first_reminder", state_entry=0, status="fired"),  # an earlier entry
        FiredTimer(3, 8, "first_reminder", state_entry=1, status="fired"),  # another instance
    ],
)
async def test_stale_or_unknown_timer_is_ignored(fired: FiredTimer | None) -> None:
    machine = reminder_machine()
    instance = with_id(await run(machine, None, overdue()))
    outcome = await run(machine, instance, timer_message("first_reminder", 3), timer=fired)
    assert (
        outcome.disposition == "ignored_stale_timer" and not outcome.changed and outcome.instance is instance
    )


async def test_timer_message_without_instance_is_stale() -> None:
    outcome = await run(reminder_machine(), None, timer_message("first_reminder", 3))
    assert outcome.disposition == "ignored_stale_timer"


async def test_decision_result_is_stored_exactly(decisions: Decisions) -> None:
    machine = reminder_machine()
    created = with_id(await run(machine, None, overdue()))
    fired = FiredTimer(3, 7, "first_reminder", 1, "fired")
    reminded = with_id(await run(machine, created, timer_message("first_reminder", 3), timer=fired))
    fired = FiredTimer(4, 7, "final_notice", 2, "fired")
    outcome = await run(machine, reminded, timer_message("final_notice", 4), timer=fired, decisions=decisions)
    assert outcome.instance is not None and outcome.instance.state == "escalated"
    assert outcome.instance.data["escalation"] == {"level": "high", "fee": Decimal("150.5")}
    assert outcome.instance.data["reminders_sent"] == 2 and len(outcome.emitted) == 1
    assert outcome.cancel == ["final_notice"]


def with_open(machine: Machine, **changes: Any) -> Machine:
    """The machine with its "open" state changed (``dataclasses.replace`` keywords of ``State``)."""
    states = {**machine.states, "open": dataclasses.replace(machine.states["open"], **changes)}
    return dataclasses.replace(machine, states=states)


async def test_start_message_can_also_fire_a_transition_of_the_initial_state() -> None:
    instant = Transition("invoice.overdue", "paid", "payload.amount <= 0", (), w(60))
    machine = with_open(reminder_machine(), on_exit=(), transitions=(instant,))
    outcome = await run(machine, None, overdue(amount="0.00"))
    assert outcome.disposition == "created" and outcome.instance is not None
    assert outcome.instance.state == "paid" and [h.disposition for h in outcome.history] == [
        "created",
        "transitioned",
    ]
    assert outcome.arm == []  # the initial state's timer was armed and dropped again on its exit
