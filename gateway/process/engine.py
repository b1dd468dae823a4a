"""Evaluation of one message against one process instance: pure apart from the actions it calls.

``evaluate`` takes the machine, the instance as loaded (or None), the message and the injected clock time,
calendar, actions and decisions, and returns an ``Outcome``: the new state and data, the history entries,
the timers to arm and cancel, the messages to emit and a ``disposition``. It writes nothing; the handler
(``gateway.process.handler``) persists the outcome in the consumer's transaction, which is what makes
everything one message causes happen exactly once.

Semantics (``docs/rules.md``): a message for a key without an instance creates one only if its type is in
``start_on``; the instance enters ``initial`` and the message is then evaluated like any other. The first
transition whose ``on`` matches and whose guard holds fires: exit steps, the state's timers cancelled, the
transition's steps, the new state's entry steps and timers. A transition without a target runs its steps
only. Final states and unmatched messages change nothing (``restart`` machines: a start message restarts an
ended run). A timer message counts only if its timer row was fired for the current entry into the current
state (``FiredTimer``); otherwise it is stale.
"""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

import msgspec

from gateway.bus.handler import EMITTED_PER_MESSAGE_MAX
from gateway.errors import HandlerRejected
from gateway.process.actions import Action, ActionRegistry
from gateway.process.calendar import PRAGUE, WorkingCalendar
from gateway.process.definition import ActionCall, Assignment, Decision, Machine, State, Step, Transition
from gateway.process.expressions import Decisions, ExpressionError, Expressions, to_zen
from gateway.process.restart import restarts
from gateway.process.timing import TimerValueError, due_at
from schemas.envelope import Envelope, Payload, new_envelope
from schemas.process import TimerFired

#: Message type of a fired timer; a machine sees it as ``timer.<name>``.
TIMER_MESSAGE_TYPE = TimerFired.message_type

Disposition = Literal[
    "created", "restarted", "transitioned", "internal",
    "ignored_no_match", "ignored_final", "ignored_no_instance", "ignored_stale_timer",
]
CHANGING: frozenset[Disposition] = frozenset({"created", "restarted", "transitioned", "internal"})


@dataclass(frozen=True, slots=True)
class InstanceState:
    """A process instance as stored. ``seq`` counts its history entries; ``entered_seq`` is the entry that
    entered ``state``, and the timers armed by that entry carry it, which is how stale timers are told."""

    id: int | None
    key: str
    version: str
    state: str
    data: Mapping[str, Any]
    seq: int = 0
    entered_seq: int = 0
    transitions: int = 0


@dataclass(frozen=True, slots=True)
class FiredTimer:
    """The timer row a ``process.timer`` message names, as the handler found it."""

    id: int
    instance_id: int
    name: str
    state_entry: int
    status: str  # pending | fired | cancelled


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    seq: int
    from_state: str | None
    to_state: str
    where: str | None  # file:line of the transition; None for creation
    message_id: uuid.UUID
    message_type: str
    at: dt.datetime
    disposition: Disposition


@dataclass(frozen=True, slots=True)
class TimerToArm:
    name: str
    due_at: dt.datetime
    state_entry: int


@dataclass(slots=True)
class Outcome:
    disposition: Disposition
    instance: InstanceState | None  # the new instance state; unchanged (or None) when ignored
    history: list[HistoryEntry] = field(default_factory=list)
    arm: list[TimerToArm] = field(default_factory=list)
    cancel: list[str] = field(default_factory=list)  # names of the exited state's timers
    emitted: list[tuple[str, Envelope]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.disposition in CHANGING


class StepContext:
    """What an action sees: the instance data to change (in place) and a way to emit messages."""

    __slots__ = ("_emitted", "calendar", "data", "key", "machine", "message", "now", "state")

    def __init__(
        self, *, machine: Machine, key: str, state: str, data: dict[str, Any], message: Envelope,
        now: dt.datetime, calendar: WorkingCalendar, emitted: list[tuple[str, Envelope]],
    ) -> None:
        self.machine, self.key, self.state, self.data = machine, key, state, data
        self.message, self.now, self.calendar = message, now, calendar
        self._emitted = emitted

    @property
    def payload(self) -> Payload:
        return self.message.payload

    def emit(self, topic: str, body: Payload, *, key: str | None = None) -> None:
        """Queue a message caused by the one being handled; it reaches the outbox with the state change."""
        if len(self._emitted) >= EMITTED_PER_MESSAGE_MAX:
            limit = EMITTED_PER_MESSAGE_MAX
            raise HandlerRejected(f"machine {self.machine.name}: more than {limit} messages for one message")
        envelope = new_envelope(body, key=key or self.key, now=self.now, cause=self.message)
        self._emitted.append((topic, envelope))


Actions = ActionRegistry | Mapping[str, Action]


def message_type_for(message: Envelope) -> str:
    """The type a machine matches on: ``timer.<name>`` for timer messages, else the envelope type."""
    if isinstance(message.payload, TimerFired):
        return f"timer.{message.payload.name}"
    return message.type


def is_current_timer(timer: FiredTimer | None, instance: InstanceState | None, name: str) -> bool:
    return (
        timer is not None and instance is not None and timer.status == "fired" and timer.name == name
        and timer.instance_id == instance.id and timer.state_entry == instance.entered_seq
    )


async def evaluate(
    machine: Machine,
    instance: InstanceState | None,
    message: Envelope,
    *,
    now: dt.datetime,
    calendar: WorkingCalendar,
    actions: Actions,
    decisions: Decisions | None,
    expressions: Expressions | None = None,
    timer: FiredTimer | None = None,
    ended_elsewhere: bool = False,
) -> Outcome:
    """Apply ``message`` to ``instance`` (None: none for the key). Author errors raise ``HandlerRejected``.
    ``ended_elsewhere``: the instance ended on an older version and ``message`` restarts it on this one."""
    kind = message_type_for(message)
    timer_name = kind.removeprefix("timer.")
    if message.type == TIMER_MESSAGE_TYPE and not is_current_timer(timer, instance, timer_name):
        return Outcome("ignored_stale_timer", instance)
    run = _Run(machine, message, now, calendar, actions, decisions, expressions or _EXPRESSIONS)
    created = instance is None
    start: Disposition = "created"
    if instance is None:
        if kind not in machine.start_on:
            return Outcome("ignored_no_instance", None)
        instance = await run.create(message.key)
    elif ended_elsewhere or restarts(machine, instance.state, kind):
        # An OPM sees many switches over the years: a start message for an ended instance begins a new run.
        assert machine.restart and kind in machine.start_on
        await run.restart(instance)
        created, start = True, "restarted"  # from here on like a new instance
    else:
        run.load(instance)
    state = run.current()
    if state.final:
        return run.outcome(start) if created else Outcome("ignored_final", instance)
    transition = run.select(state, kind)
    if transition is None:
        return run.outcome(start) if created else Outcome("ignored_no_match", instance)
    await run.fire(state, transition)
    if created:
        return run.outcome(start)
    return run.outcome("internal" if transition.target is None else "transitioned")


_EXPRESSIONS = Expressions()


class _Run:
    """The mutable working copy of one evaluation."""

    def __init__(
        self, machine: Machine, message: Envelope, now: dt.datetime, calendar: WorkingCalendar,
        actions: Actions, decisions: Decisions | None, expressions: Expressions,
    ) -> None:
        self.machine, self.message, self.now, self.calendar = machine, message, now, calendar
        self.actions, self.decisions, self.expressions = actions, decisions, expressions
        # Decimals stay exact (``to_zen`` converts them for evaluation only); dates become ISO strings, the
        # form instance data stores them in.
        self.payload = msgspec.to_builtins(message.payload, builtin_types=(Decimal,))
        self.instance = InstanceState(None, message.key, machine.version, machine.initial, {})
        self.data: dict[str, Any] = {}
        self.history: list[HistoryEntry] = []
        self.arm: list[TimerToArm] = []
        self.cancel: list[str] = []
        self.emitted: list[tuple[str, Envelope]] = []
        self._context: dict[str, Any] | None = None

    def load(self, instance: InstanceState) -> None:
        if instance.state not in self.machine.states:
            raise HandlerRejected(
                f"{self.machine.where}: machine {self.machine.name} version {self.machine.version} has no "
                f"state {instance.state!r} (instance {instance.key!r} on version {instance.version})"
            )
        self.instance = instance
        self.data = copy_data(instance.data)

    def current(self) -> State:
        return self.machine.state(self.instance.state)

    async def create(self, key: str) -> InstanceState:
        self.instance = InstanceState(None, key, self.machine.version, self.machine.initial, {})
        self.data = copy_data(self.machine.data)
        self._record(None, self.machine.initial, None, "created", enters=True)
        await self._enter(self.machine.state(self.machine.initial))
        return self.instance

    async def restart(self, ended: InstanceState) -> None:
        """A new run on the stored instance: this version's initial state and data; its history goes on."""
        assert ended.id is not None
        i = ended
        self.instance = InstanceState(i.id, i.key, self.machine.version, i.state, {}, i.seq, i.entered_seq, 0)
        self.data = copy_data(self.machine.data)
        self._record(i.state, self.machine.initial, None, "restarted", enters=True)
        await self._enter(self.machine.state(self.machine.initial))

    def select(self, state: State, kind: str) -> Transition | None:
        for transition in state.transitions:
            if transition.on != kind:
                continue
            if transition.guard is None:
                return transition
            try:
                holds = self.expressions.guard(transition.guard, to_zen(self.context()))
            except ExpressionError as exc:
                raise self._rejected(transition.where, f"guard: {exc}") from None
            if holds:
                return transition
        return None

    async def fire(self, state: State, transition: Transition) -> None:
        if transition.target is None:
            await self._steps(transition.steps)
            self._record(state.name, state.name, str(transition.where), "internal", enters=False)
            return
        if transition.target not in self.machine.states:
            raise self._rejected(transition.where, f"unknown target state {transition.target!r}")
        await self._steps(state.on_exit)
        self.cancel.extend(t.name for t in state.timers)
        self.arm = [t for t in self.arm if t.state_entry != self.instance.entered_seq]
        await self._steps(transition.steps)
        self._record(state.name, transition.target, str(transition.where), "transitioned", enters=True)
        await self._enter(self.machine.state(transition.target))

    def outcome(self, disposition: Disposition) -> Outcome:
        i = self.instance
        instance = InstanceState(
            i.id, i.key, i.version, i.state, self.data, i.seq, i.entered_seq, i.transitions
        )
        return Outcome(disposition, instance, self.history, self.arm, self.cancel, self.emitted)

    def _record(
        self, source: str | None, target: str, where: str | None, disposition: Disposition, *, enters: bool
    ) -> None:
        seq = self.instance.seq + 1
        self.history.append(HistoryEntry(
            seq, source, target, where, self.message.id, self.message.type, self.now, disposition
        ))
        i = self.instance  # constructed directly: ``dataclasses.replace`` is slow on a hot path
        self.instance = InstanceState(
            i.id, i.key, i.version, target, i.data, seq, seq if enters else i.entered_seq,
            i.transitions + (0 if disposition in ("created", "restarted") else 1),
        )

    async def _enter(self, state: State) -> None:
        await self._steps(state.on_entry)
        # ``after`` timers count from now and read no context.
        context = self.context() if any(spec.mode != "after" for spec in state.timers) else {}
        for spec in state.timers:
            try:
                due = due_at(spec, self.now, context, self.calendar)
            except (TimerValueError, ValueError) as exc:
                raise self._rejected(spec.where, f"timer {spec.name!r}: {exc}") from None
            self.arm.append(TimerToArm(spec.name, due, self.instance.entered_seq))

    async def _steps(self, steps: tuple[Step, ...]) -> None:
        for step in steps:
            if isinstance(step, Assignment):
                self._assign(step)
            elif isinstance(step, Decision):
                self._decide(step)
            else:
                await self._act(step)

    def _assign(self, step: Assignment) -> None:
        try:
            # A copy: a bare path may name a part of the context (``payload``), which data must not share.
            value = _copy_value(self.expressions.value(step.expression, self.context()))
        except ExpressionError as exc:
            raise self._rejected(step.where, f"set {step.target}: {exc}") from None
        _put(self.data, step.target, value)

    def _decide(self, step: Decision) -> None:
        if self.decisions is None:
            raise self._rejected(step.where, f"decision {step.table!r}: no decisions directory configured")
        try:
            result = self.decisions.evaluate(step.table, to_zen(self.context()))
        except ExpressionError as exc:
            raise self._rejected(step.where, str(exc)) from None
        _put(self.data, step.into, result)

    async def _act(self, step: ActionCall) -> None:
        if step.name not in self.actions:
            raise self._rejected(step.where, f"unknown action {step.name!r}")
        action = self.actions.get(step.name)
        assert action is not None
        ctx = StepContext(
            machine=self.machine, key=self.instance.key, state=self.instance.state, data=self.data,
            message=self.message, now=self.now, calendar=self.calendar, emitted=self.emitted,
        )
        await action(ctx, step.params)

    def context(self) -> dict[str, Any]:
        """The context of expressions, decisions and ``at`` timers. Built once per run and brought up to date
        on each call (state, key and data are the only parts a run changes); its readers never change it, and
        a ``set`` copies what it takes from it (``_assign``)."""
        context = self._context
        if context is None:
            message, now = self.message, self.now
            context = self._context = {
                "payload": self.payload,
                "message": {
                    "type": message_type_for(message), "key": message.key, "id": str(message.id),
                    "occurred_at": message.occurred_at.isoformat(),
                },
                "data": self.data,
                "state": self.instance.state,
                "key": self.instance.key,
                "now": now.isoformat(),
                "today": now.astimezone(PRAGUE).date().isoformat(),
            }
            return context
        context["data"] = self.data
        context["state"] = self.instance.state
        context["key"] = self.instance.key
        return context

    def _rejected(self, where: object, text: str) -> HandlerRejected:
        return HandlerRejected(f"{where}: machine {self.machine.name}: {text}")


def copy_data(data: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of instance data: JSON values (dicts, lists, scalars and ``Decimal``) copied by type,
    anything else by ``copy.deepcopy``."""
    return {k: _copy_value(v) for k, v in data.items()}


def _copy_value(value: Any) -> Any:
    kind = type(value)
    if kind is str or kind is int or kind is Decimal or kind is bool or value is None or kind is float:
        return value
    if kind is dict:
        return {k: _copy_value(v) for k, v in value.items()}
    if kind is list:
        return [_copy_value(v) for v in value]
    return copy.deepcopy(value)


def _put(data: dict[str, Any], path: str, value: Any) -> None:
    """Store ``value`` at a dotted path below ``data`` (``escalation.level``), making missing parents."""
    parts = path.split(".")
    target = data
    for part in parts[:-1]:
        child = target.get(part)
        if not isinstance(child, dict):
            child = target[part] = {}
        target = child
    target[parts[-1]] = value
