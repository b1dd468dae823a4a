"""Scenario tests of rule files: stories of messages and passing time, with expectations along the way.

``run_scenarios(rules_root)`` runs every scenario of ``rules_root/tests/*.yaml`` (format: ``docs/rules.md``,
"Scenario tests") against the machines and decisions of ``rules_root``, in memory (``MemoryRuntime``):
the real engine, the real action registry and decision tables, the Czech working calendar and a manual
clock. A failing ``expect`` reports its file:line and every check that differed, expected against actual;
the scenario stops there, because what follows would only repeat the difference.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gateway.clock import ManualClock
from gateway.errors import MessageError
from gateway.ids import uuid7
from gateway.process.actions import ACTIONS
from gateway.process.calendar import WorkingCalendar
from gateway.process.check import registered_message_types
from gateway.process.definition import Machine, Problem, TimerSpec, Where
from gateway.process.engine import Actions, InstanceState
from gateway.process.expressions import Decisions
from gateway.process.loader import RuleSet, load_rules
from gateway.process.reader import hint
from gateway.process.scenario_expect import expect_differences
from gateway.process.scenario_file import (
    AdvanceStep,
    ExpectStep,
    MessageStep,
    Scenario,
    read_scenarios,
    scenario_files,
)
from gateway.process.simulation import REJECTED, MemoryRuntime, SimulationError
from gateway.process.store import FIRED, PENDING
from gateway.process.timing import TimerValueError, due_at
from schemas.envelope import Envelope, decode, new_envelope, registered_types
from schemas.process import TimerFired

#: Where the scenario files of a rules directory live.
TESTS_DIRECTORY = "tests"


@dataclass(frozen=True, slots=True)
class ScenarioResult:
    file: str
    name: str
    where: Where
    failures: tuple[str, ...] = ()  # each "file:line: what differed"; none when the scenario passed

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def reason(self) -> str:
        return "\n".join(self.failures)


class _StepFailed(Exception):
    """A step failed; ``text`` is one ``file:line: ...`` line per difference."""

    def __init__(self, where: Where, *texts: str) -> None:
        self.text = "\n".join(f"{where}: {text}" for text in texts)
        super().__init__(self.text)


@dataclass(slots=True)
class Suite:
    """The scenarios of a rules directory, ready to run, and a failed result per unreadable file."""

    ruleset: RuleSet
    scenarios: list[Scenario]
    broken: list[ScenarioResult]
    calendar: WorkingCalendar = field(default_factory=WorkingCalendar)
    actions: Actions = ACTIONS
    decisions: Decisions | None = None

    async def run(self, scenario: Scenario) -> ScenarioResult:
        try:
            machine = self._machine(scenario)
            runtime = MemoryRuntime(
                machine, ManualClock(scenario.start), self.calendar, self.actions, self.decisions
            )
            if scenario.given is not None:
                _given(runtime, scenario)
            await _steps(runtime, scenario)
        except _StepFailed as exc:
            return ScenarioResult(scenario.file, scenario.name, scenario.where, tuple(exc.text.split("\n")))
        return ScenarioResult(scenario.file, scenario.name, scenario.where)

    def _machine(self, scenario: Scenario) -> Machine:
        machine = self.ruleset.machines.get(scenario.machine)
        if machine is None:
            known = sorted(self.ruleset.machines)
            raise _StepFailed(scenario.where, (
                f"no machine {scenario.machine!r} in {self.ruleset.root / 'machines'}"
                f"{hint(scenario.machine, known)} (known: {', '.join(known) or 'none'})"
            ))
        errors = [
            p for p in self.ruleset.problems if p.severity == "error" and p.where.file == machine.where.file
        ]
        if errors:
            raise _StepFailed(scenario.where, (
                f"machine {machine.name} has errors, run `proud rules check` first: {errors[0]}"
            ))
        return machine


def load_suite(rules_root: Path) -> Suite:
    ruleset = load_rules(rules_root)
    registered_message_types()  # imports every payload module, so every message type can be decoded
    scenarios: list[Scenario] = []
    broken: list[ScenarioResult] = []
    for path in scenario_files(rules_root / TESTS_DIRECTORY):
        found, problems = read_scenarios(path)
        scenarios.extend(found)
        broken.extend(_broken(problems))
    decisions = Decisions(rules_root / "decisions")
    return Suite(ruleset, scenarios, broken, decisions=decisions)


async def run_scenarios(rules_root: Path) -> list[ScenarioResult]:
    """Every scenario's result, in file order; files with problems give one failed result each."""
    suite = load_suite(rules_root)
    return [await suite.run(scenario) for scenario in suite.scenarios] + suite.broken


def _broken(problems: Sequence[Problem]) -> list[ScenarioResult]:
    by_file: dict[str, list[Problem]] = defaultdict(list)
    for problem in problems:
        if problem.severity == "error":
            by_file[problem.where.file].append(problem)
    return [
        ScenarioResult(file, "(scenario file)", found[0].where, tuple(str(p) for p in found))
        for file, found in by_file.items()
    ]


def _given(runtime: MemoryRuntime, scenario: Scenario) -> None:
    """Start from a stored instance: the state's timers are armed as on entry; entry steps do not run."""
    given = scenario.given
    assert given is not None
    machine = runtime.machine
    state = machine.states.get(given.state)
    if state is None:
        known = ", ".join(machine.states)
        raise _StepFailed(given.where, f"given: no state {given.state!r} in machine {machine.name} ({known})")
    data = {**machine.data, **given.data}
    instance = runtime.put(InstanceState(None, scenario.key, machine.version, given.state, data, 1, 1))
    now = runtime.clock.now()
    context: dict[str, object] = {
        "data": data, "state": given.state, "key": scenario.key, "payload": {}, "message": {},
        "now": now.isoformat(), "today": runtime.calendar.local_date(now).isoformat(),
    }
    for spec in state.timers:
        runtime.arm(instance, spec.name, _due(spec, now, context, runtime.calendar, given.where))


def _due(
    spec: TimerSpec, now: dt.datetime, context: dict[str, object], calendar: WorkingCalendar, where: Where
) -> dt.datetime:
    try:
        return due_at(spec, now, context, calendar)
    except (TimerValueError, ValueError) as exc:
        raise _StepFailed(where, f"given: cannot arm timer {spec.name!r}: {exc}") from None


async def _steps(runtime: MemoryRuntime, scenario: Scenario) -> None:
    seen = 0  # deliveries before this index were covered by an earlier expect's `emitted`
    for step in scenario.steps:
        before = len(runtime.deliveries)
        try:
            if isinstance(step, MessageStep):
                await runtime.deliver(_envelope(runtime, scenario, step))
            elif isinstance(step, AdvanceStep):
                await runtime.advance_to(_until(runtime, step))
            else:
                _expect(runtime, scenario, step, seen)
                seen = len(runtime.deliveries)
        except SimulationError as exc:
            raise _StepFailed(step.where, str(exc)) from None
        for delivery in runtime.deliveries[before:]:
            if delivery.result == REJECTED:
                what = delivery.message.type if delivery.message.type != TimerFired.message_type else (
                    f"timer {delivery.message.payload.name}"  # type: ignore[attr-defined]  # a TimerFired
                )
                raise _StepFailed(step.where, f"the engine rejected {what}: {delivery.error}")


def _expect(runtime: MemoryRuntime, scenario: Scenario, step: ExpectStep, seen: int) -> None:
    differences = expect_differences(runtime, scenario.key, step.checks, seen)
    if differences:
        raise _StepFailed(step.where, *differences)


def _until(runtime: MemoryRuntime, step: AdvanceStep) -> dt.datetime:
    now = runtime.clock.now()
    if step.to is not None:
        if step.to < now:
            text = f"advance_to {step.to.isoformat()} is before the clock ({now.isoformat()})"
            raise _StepFailed(step.where, text)
        return step.to
    spec = TimerSpec("advance", "after", step.amount, step.unit)
    return due_at(spec, now, {}, runtime.calendar)  # the same arithmetic as an `after` timer


def _envelope(runtime: MemoryRuntime, scenario: Scenario, step: MessageStep) -> Envelope:
    key = step.key or scenario.key
    now = runtime.clock.now()
    if step.type.startswith("timer."):
        return _timer_message(runtime, key, step)
    versions = sorted(version for (kind, version) in registered_types() if kind == step.type)
    if not versions:
        known = sorted({kind for kind, _version in registered_types()})
        raise _StepFailed(step.where, f"unknown message type {step.type!r}{hint(step.type, known)}")
    message_id = uuid7(int(now.timestamp() * 1000))
    # Through the wire codec, so that a payload the real runtime would dead-letter fails here as well.
    wire = {
        "id": str(message_id), "type": step.type, "schema_version": step.version or versions[-1], "key": key,
        "occurred_at": now.isoformat(), "recorded_at": now.isoformat(), "correlation_id": str(message_id),
        "causation_id": None, "payload": dict(step.payload),
    }
    try:
        # Decimals travel as strings, as the envelope encoder writes them.
        return decode(json.dumps(wire, ensure_ascii=False, default=str).encode("utf-8"))
    except MessageError as exc:
        raise _StepFailed(step.where, f"message {step.type}: {exc.message}") from None


def _timer_message(runtime: MemoryRuntime, key: str, step: MessageStep) -> Envelope:
    """The message of the key's latest timer of that name, fired now if it is still pending (a cancelled
    timer's message arrives late, as after a race with a transition, and the engine calls it stale)."""
    name = step.type.removeprefix("timer.")
    armed = [t for t in runtime.timers if t.key == key and t.name == name]
    if not armed:
        raise _StepFailed(step.where, f"no timer {name!r} was armed for key {key!r}, so none can fire")
    timer = armed[-1]
    if timer.status == PENDING:
        timer.status = FIRED
    body = TimerFired(
        machine=runtime.machine.name, name=name, timer_id=timer.id, due_at=timer.due_at, instance_key=key
    )
    return new_envelope(body, key=key, now=runtime.clock.now(), occurred_at=timer.due_at)
