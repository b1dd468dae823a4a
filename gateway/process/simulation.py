"""An in-memory process runtime: the real engine, without database or bus, for scenario tests and replays.

``MemoryRuntime`` keeps what the store keeps (instances by key, their history, timers with their status)
in dictionaries, and does what the handler and the timer scheduler do with them: a message goes through
``evaluate`` and a changing outcome is applied (timers cancelled and armed, history appended, emitted
messages collected instead of sent). ``advance_to`` is a perfectly punctual scheduler: it fires every
pending timer that falls due up to an instant, in due order, each at its due time, as a ``process.timer``
message that the engine then sees as ``timer.<name>``, exactly like a delivered timer message.

Everything runs on an injected ``ManualClock``; nothing here reads the wall clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Literal

from gateway.clock import ManualClock
from gateway.errors import HandlerRejected
from gateway.process.calendar import WorkingCalendar
from gateway.process.definition import Machine
from gateway.process.engine import (
    Actions,
    Disposition,
    FiredTimer,
    HistoryEntry,
    InstanceState,
    Outcome,
    evaluate,
)
from gateway.process.expressions import Decisions, Expressions
from gateway.process.store import CANCELLED, FIRED, PENDING
from schemas.envelope import Envelope, new_envelope
from schemas.process import TimerFired

#: Timers one ``advance_to`` may fire: a machine whose timers re-arm themselves at once (a self-transition
#: on ``after: 1 minutes``) would otherwise loop for as long as the advanced span allows.
TIMERS_FIRED_PER_ADVANCE_MAX = 10_000

#: A message the engine refused (an author error); the real runtime dead-letters it and changes nothing.
REJECTED: Literal["rejected"] = "rejected"
Result = Disposition | Literal["rejected"]


class SimulationError(Exception):
    """The simulation cannot go on (a timer loop); the message says why."""


@dataclass(slots=True)
class MemoryTimer:
    id: int
    instance_id: int
    key: str
    name: str
    due_at: dt.datetime  # aware UTC
    state_entry: int
    status: str  # pending | fired | cancelled


@dataclass(frozen=True, slots=True)
class Delivery:
    """What one message did to the instance of its key."""

    key: str
    message: Envelope
    result: Result
    emitted: tuple[tuple[str, Envelope], ...] = ()
    error: str | None = None  # the engine's reason, for a rejected message


@dataclass(slots=True)
class MemoryRuntime:
    machine: Machine
    clock: ManualClock
    calendar: WorkingCalendar
    actions: Actions
    decisions: Decisions | None
    instances: dict[str, InstanceState] = field(default_factory=dict)
    history: dict[str, list[HistoryEntry]] = field(default_factory=dict)
    timers: list[MemoryTimer] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)  # in delivery order, fired timers included
    expressions: Expressions = field(default_factory=Expressions)
    _ids: Iterator[int] = field(default_factory=lambda: iter(range(1, 2**63)))

    def pending(self, key: str) -> list[MemoryTimer]:
        """The key's pending timers in due order (the order the scheduler fires them)."""
        found = [t for t in self.timers if t.key == key and t.status == PENDING]
        return sorted(found, key=lambda t: (t.due_at, t.id))

    def put(self, instance: InstanceState) -> InstanceState:
        """Start from a stored instance (a scenario's ``given``); returns it with its in-memory id."""
        stored = replace(instance, id=next(self._ids))
        self.instances[stored.key] = stored
        self.history.setdefault(stored.key, [])
        return stored

    def arm(self, instance: InstanceState, name: str, due_at: dt.datetime) -> None:
        assert instance.id is not None
        self.timers.append(MemoryTimer(
            next(self._ids), instance.id, instance.key, name, due_at.astimezone(dt.UTC),
            instance.entered_seq, PENDING,
        ))

    async def deliver(self, message: Envelope) -> Delivery | None:
        """Apply one message at the clock's time; None for a timer message of another machine."""
        key, timer = message.key, None
        if isinstance(message.payload, TimerFired):
            if message.payload.machine != self.machine.name:
                return None
            key = message.payload.instance_key
            timer = self._fired(message.payload.timer_id)
        before = self.instances.get(key)
        try:
            outcome = await evaluate(
                self.machine, before, message, now=self.clock.now(), calendar=self.calendar,
                actions=self.actions, decisions=self.decisions, expressions=self.expressions, timer=timer,
            )
        except HandlerRejected as exc:
            delivery = Delivery(key, message, REJECTED, error=exc.message)
        else:
            if outcome.changed:
                self._apply(key, before, outcome)
            delivery = Delivery(key, message, outcome.disposition, tuple(outcome.emitted))
        self.deliveries.append(delivery)
        return delivery

    async def advance_to(self, until: dt.datetime) -> list[Delivery]:
        """Fire the timers due up to ``until`` in due order, each at its due time; then the clock is there."""
        delivered: list[Delivery] = []
        for _ in range(TIMERS_FIRED_PER_ADVANCE_MAX):
            due = [t for t in self.timers if t.status == PENDING and t.due_at <= until]
            if not due:
                if until > self.clock.now():
                    self.clock.set(until)
                return delivered
            timer = min(due, key=lambda t: (t.due_at, t.id))
            if timer.due_at > self.clock.now():
                self.clock.set(timer.due_at)
            timer.status = FIRED
            body = TimerFired(
                machine=self.machine.name, name=timer.name, timer_id=timer.id, due_at=timer.due_at,
                instance_key=timer.key,
            )
            message = new_envelope(body, key=timer.key, now=self.clock.now(), occurred_at=timer.due_at)
            delivery = await self.deliver(message)
            assert delivery is not None  # our own machine's timer
            delivered.append(delivery)
        raise SimulationError(
            f"more than {TIMERS_FIRED_PER_ADVANCE_MAX} timers fell due before {until.isoformat()}: "
            "do timers re-arm themselves in a loop?"
        )

    def _fired(self, timer_id: int) -> FiredTimer | None:
        for t in self.timers:
            if t.id == timer_id:
                return FiredTimer(t.id, t.instance_id, t.name, t.state_entry, t.status)
        return None

    def _apply(self, key: str, before: InstanceState | None, outcome: Outcome) -> None:
        """What ``Batch.record`` and ``store_batch.write`` do, in memory."""
        after = outcome.instance
        assert after is not None
        instance_id = before.id if before is not None and before.id is not None else next(self._ids)
        stored = replace(after, id=instance_id)
        self.instances[key] = stored
        self.history.setdefault(key, []).extend(outcome.history)
        if before is not None:
            for t in self.timers:
                if t.instance_id == instance_id and t.status == PENDING and t.name in outcome.cancel:
                    t.status = CANCELLED
        for armed in outcome.arm:
            self.timers.append(MemoryTimer(
                next(self._ids), instance_id, key, armed.name, armed.due_at.astimezone(dt.UTC),
                armed.state_entry, PENDING,
            ))
