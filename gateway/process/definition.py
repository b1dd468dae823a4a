"""The in-memory model of a state-machine file, as the loader builds it and the engine runs it.

Every element remembers where it came from (``Where``: file and line), so ``proud rules check`` and
run-time errors can point a rule author at the exact line. The model is immutable once loaded; a changed
file is a new ``Machine`` with a new ``version`` (a digest of the file's canonical content), and running
instances keep the version they started on unless a migration mapping moves them.

The YAML format is documented in ``docs/rules.md``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True, slots=True)
class Where:
    file: str
    line: int  # 1-based

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True, slots=True)
class ActionCall:
    """A named Python command from the action registry, with literal parameters from the YAML."""

    name: str
    params: Mapping[str, Any]
    where: Where


@dataclass(frozen=True, slots=True)
class Assignment:
    """``set: {field: <zen expression>}``: store an expression's value at ``data.field``."""

    target: str  # a dotted path below ``data``
    expression: str
    where: Where


@dataclass(frozen=True, slots=True)
class Decision:
    """``decide: {table: NAME, into: FIELD}``: evaluate ``rules/decisions/NAME.json`` with the context, store
    its result object in ``data.FIELD``."""

    table: str
    into: str
    where: Where


Step = ActionCall | Assignment | Decision


@dataclass(frozen=True, slots=True)
class TimerSpec:
    """A timer armed on entry to its state and cancelled on exit.

    ``after``: a duration from entry — ``kind`` "hours"/"minutes"/"days" (calendar) or "working_days".
    ``at``: a date or date-time read from the context at entry (``field``, e.g. ``payload.switch_date``),
    optionally moved ``working_days_before`` working days earlier, at ``cutoff`` local time (Europe/Prague),
    e.g. "by 10:00 of the 10th working day before the switch date".
    When it fires, the machine receives a message of type ``timer.<name>``.
    """

    name: str
    mode: Literal["after", "at"]
    amount: int = 0
    unit: Literal["minutes", "hours", "days", "working_days"] | None = None
    field: str | None = None
    working_days_before: int = 0
    cutoff: dt.time | None = None
    where: Where = Where("?", 0)

    @property
    def message_type(self) -> str:
        return f"timer.{self.name}"


@dataclass(frozen=True, slots=True)
class Transition:
    on: str  # a message type (registered payload type) or ``timer.<name>``
    target: str | None  # None: stay in the state, run the steps only (no exit/entry)
    guard: str | None  # zen expression over the context; the first transition whose guard holds wins
    steps: tuple[Step, ...]
    where: Where


@dataclass(frozen=True, slots=True)
class State:
    name: str
    final: bool
    on_entry: tuple[Step, ...]
    on_exit: tuple[Step, ...]
    timers: tuple[TimerSpec, ...]
    transitions: tuple[Transition, ...]
    where: Where


@dataclass(frozen=True, slots=True)
class Machine:
    name: str
    version: str  # digest of the canonical content: equal files, equal versions
    description: str
    key: str  # what the instance key means, e.g. "contract account"
    topics: tuple[str, ...]  # topics whose messages it consumes
    start_on: tuple[str, ...]  # message types that create an instance when none exists for the key
    initial: str
    data: Mapping[str, Any]  # initial instance data
    states: Mapping[str, State]
    # old version -> {old state: new state}
    migrations: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    where: Where = Where("?", 0)
    #: A ``start_on`` message for a key whose instance is final starts a new run on it (history goes on).
    restart: bool = False

    def state(self, name: str) -> State:
        return self.states[name]


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding of ``proud rules check``."""

    where: Where
    message: str
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        return f"{self.where}: {self.severity}: {self.message}"
