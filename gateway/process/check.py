"""``proud rules check``: everything wrong with a rule set, each problem at its file and line.

The loader reports what is wrong inside one file's shape (YAML syntax, unknown or missing keys, bad
durations, cut-off times and ``at`` fields, broken decision files). The checks here judge what the pieces
refer to: other states, timers, actions, decision tables, message types, other files. Each check class is
one function that yields its problems; ``check`` runs them all.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable, Collection, Iterator

import zen

import schemas
from gateway.process.definition import ActionCall, Assignment, Decision, Machine, Problem, State, Step
from gateway.process.loader import RuleSet
from gateway.process.reader import hint
from schemas.envelope import registered_types
from schemas.process import TimerFired

#: Longest machine name: it is stored with every instance and printed in every listing.
MACHINE_NAME_CHARS_MAX = 64

MACHINE_NAME = re.compile(r"[a-z][a-z0-9_]*")
TIMER_PREFIX = "timer."


def check(
    ruleset: RuleSet,
    *,
    actions: Collection[str],
    message_types: Collection[str],
    topics: Collection[str] | None = None,
) -> list[Problem]:
    """Load problems and the checks below, by file and line. ``topics``: also check ``topics:`` entries."""
    found = list(ruleset.problems)
    for rule in MACHINE_CHECKS:
        found.extend(rule(ruleset))
    found.extend(check_actions(ruleset, actions))
    found.extend(check_message_types(ruleset, message_types))
    if topics is not None:
        found.extend(check_topics(ruleset, topics))
    unique = list(dict.fromkeys(found))
    return sorted(unique, key=lambda problem: (problem.where.file, problem.where.line))


def registered_message_types() -> frozenset[str]:
    """The message types of every payload module in ``schemas`` (importing a module registers its structs)."""
    for module in pkgutil.iter_modules(schemas.__path__):
        importlib.import_module(f"{schemas.__name__}.{module.name}")
    return frozenset(message_type for message_type, _version in registered_types())


def _transitions(machine: Machine) -> Iterator[tuple[State, int, str]]:
    """(state, index, source-map path) of every transition."""
    for state in machine.states.values():
        for index in range(len(state.transitions)):
            yield state, index, f"states.{state.name}.transitions[{index}]"


def _steps(state: State) -> Iterator[Step]:
    yield from state.on_entry
    yield from state.on_exit
    for transition in state.transitions:
        yield from transition.steps


def check_duplicate_machines(ruleset: RuleSet) -> Iterator[Problem]:
    for machine in ruleset.loaded:
        first = ruleset.machines[machine.name]
        if first is not machine:
            yield Problem(machine.where, f"machine {machine.name!r} is already defined in {first.where}")


def check_machine_names(ruleset: RuleSet) -> Iterator[Problem]:
    for machine in ruleset.loaded:
        name = machine.name
        if not MACHINE_NAME.fullmatch(name) or len(name) > MACHINE_NAME_CHARS_MAX:
            yield Problem(
                machine.where,
                f"bad machine name {name!r}: use lower-case letters, digits and _, starting with a letter, "
                f"at most {MACHINE_NAME_CHARS_MAX} characters",
            )


def check_initial_state(ruleset: RuleSet) -> Iterator[Problem]:
    for machine in ruleset.loaded:
        if machine.initial not in machine.states:
            yield Problem(
                ruleset.where(machine, "initial"),
                f"initial state {machine.initial!r} is not a state{hint(machine.initial, machine.states)}",
            )


def check_targets(ruleset: RuleSet) -> Iterator[Problem]:
    for machine in ruleset.loaded:
        for state, index, path in _transitions(machine):
            target = state.transitions[index].target
            if target is not None and target not in machine.states:
                yield Problem(
                    ruleset.where(machine, f"{path}.target"),
                    f"transition target {target!r} in state {state.name!r} is not a state"
                    f"{hint(target, machine.states)}",
                )


def check_actions(ruleset: RuleSet, actions: Collection[str]) -> Iterator[Problem]:
    for machine in ruleset.loaded:
        for state in machine.states.values():
            for step in _steps(state):
                if isinstance(step, ActionCall) and step.name not in actions:
                    yield Problem(
                        step.where,
                        f"unknown action {step.name!r}: not in the action registry{hint(step.name, actions)}",
                    )


def check_decision_tables(ruleset: RuleSet) -> Iterator[Problem]:
    for machine in ruleset.loaded:
        for state in machine.states.values():
            for step in _steps(state):
                if isinstance(step, Decision) and step.table not in ruleset.decisions:
                    yield Problem(
                        step.where,
                        f"unknown decision table {step.table!r}: no valid decisions/{step.table}.json"
                        f"{hint(step.table, ruleset.decisions)}",
                    )


def check_message_types(ruleset: RuleSet, message_types: Collection[str]) -> Iterator[Problem]:
    """``on`` and ``start_on`` name registered payload types; ``timer.*`` is ``check_timer_transitions``'."""
    for machine in ruleset.loaded:
        for index, name in enumerate(machine.start_on):
            if name.startswith(TIMER_PREFIX):
                reason = ": a timer belongs to an instance and cannot start one"
            elif name not in message_types:
                reason = f" (no payload struct is registered for it){hint(name, message_types)}"
            else:
                continue
            message = f"unknown message type {name!r} in start_on{reason}"
            yield Problem(ruleset.where(machine, f"start_on[{index}]"), message)
        for state, index, path in _transitions(machine):
            on = state.transitions[index].on
            if on == TimerFired.message_type:
                yield Problem(
                    ruleset.where(machine, f"{path}.on"),
                    f"{on!r} never matches: a machine receives its timers as 'timer.<name>'",
                )
            elif not on.startswith(TIMER_PREFIX) and on not in message_types:
                yield Problem(
                    ruleset.where(machine, f"{path}.on"),
                    f"unknown message type {on!r} in state {state.name!r} "
                    f"(no payload struct is registered for it){hint(on, message_types)}",
                )


def check_timer_transitions(ruleset: RuleSet) -> Iterator[Problem]:
    for machine in ruleset.loaded:
        for state, index, path in _transitions(machine):
            on = state.transitions[index].on
            timers = [timer.name for timer in state.timers]
            name = on.removeprefix(TIMER_PREFIX)
            if on.startswith(TIMER_PREFIX) and name not in timers:
                yield Problem(
                    ruleset.where(machine, f"{path}.on"),
                    f"state {state.name!r} arms no timer {name!r}, so {on!r} never comes to it"
                    f"{hint(name, timers)}",
                )


def check_duplicate_timers(ruleset: RuleSet) -> Iterator[Problem]:
    for machine in ruleset.loaded:
        for state in machine.states.values():
            first: dict[str, int] = {}
            for timer in state.timers:
                if timer.name in first:
                    yield Problem(
                        timer.where,
                        f"timer {timer.name!r} is defined twice in state {state.name!r} "
                        f"(first at line {first[timer.name]})",
                    )
                first.setdefault(timer.name, timer.where.line)


def _expression_problem(expression: str) -> str | None:
    try:
        failure = zen.validate_expression(expression)
    except Exception as exc:  # zen raises RuntimeError for input it cannot even lex
        return str(exc).split("\n", 1)[0]
    if failure is None:
        return None
    return f"{failure.get('type', 'error')}: {failure.get('source', '')}"


def check_expressions(ruleset: RuleSet) -> Iterator[Problem]:
    for machine in ruleset.loaded:
        for state, index, path in _transitions(machine):
            guard = state.transitions[index].guard
            problem = _expression_problem(guard) if guard is not None else None
            if problem is not None:
                where = ruleset.where(machine, f"{path}.guard")
                yield Problem(where, f"bad guard expression {guard!r}: {problem}")
        for state in machine.states.values():
            for step in _steps(state):
                if not isinstance(step, Assignment):
                    continue
                problem = _expression_problem(step.expression)
                if problem is not None:
                    message = f"bad expression {step.expression!r} for {step.target!r}: {problem}"
                    yield Problem(step.where, message)


def check_reachable(ruleset: RuleSet) -> Iterator[Problem]:
    for machine in ruleset.loaded:
        if machine.initial not in machine.states:
            continue  # check_initial_state says why
        # Instances can also arrive by migration, so migration targets are entry points as well.
        todo = [machine.initial, *(new for moves in machine.migrations.values() for new in moves.values())]
        seen: set[str] = set()
        while todo:
            name = todo.pop()
            if name in seen or name not in machine.states:
                continue
            seen.add(name)
            todo.extend(t.target for t in machine.states[name].transitions if t.target is not None)
        for state in machine.states.values():
            if state.name not in seen:
                message = f"state {state.name!r} cannot be reached from initial state {machine.initial!r}"
                yield Problem(state.where, message)


def check_final_states(ruleset: RuleSet) -> Iterator[Problem]:
    for machine in ruleset.loaded:
        for state in (state for state in machine.states.values() if state.final):
            path = f"states.{state.name}"
            if state.transitions:
                yield Problem(ruleset.where(machine, f"{path}.transitions"),
                              f"final state {state.name!r} has transitions: a final state ignores messages")
            if state.timers:
                yield Problem(ruleset.where(machine, f"{path}.timers"),
                              f"final state {state.name!r} has timers: no message reaches a final state")
            if state.on_exit:
                yield Problem(ruleset.where(machine, f"{path}.on_exit"),
                              f"final state {state.name!r} has on_exit steps: a final state is never left")


def check_dead_ends(ruleset: RuleSet) -> Iterator[Problem]:
    for machine in ruleset.loaded:
        for state in machine.states.values():
            exits = [t for t in state.transitions if t.target is not None and t.target != state.name]
            if not state.final and not exits:
                yield Problem(
                    state.where,
                    f"state {state.name!r} is not final and has no transition to another state: "
                    "its instances stay there for ever",
                    "warning",
                )


def check_shadowed_transitions(ruleset: RuleSet) -> Iterator[Problem]:
    """A transition after an unguarded one on the same message type never fires."""
    for machine in ruleset.loaded:
        for state in machine.states.values():
            unguarded: dict[str, int] = {}
            for transition in state.transitions:
                if transition.on in unguarded:
                    yield Problem(
                        transition.where,
                        f"transition on {transition.on!r} never fires: the one at line "
                        f"{unguarded[transition.on]} has no guard and takes every {transition.on!r} first",
                        "warning",
                    )
                elif transition.guard is None:
                    unguarded[transition.on] = transition.where.line


def check_migrations(ruleset: RuleSet) -> Iterator[Problem]:
    for machine in ruleset.loaded:
        for version, moves in machine.migrations.items():
            for old, new in moves.items():
                if new not in machine.states:
                    yield Problem(
                        ruleset.where(machine, f"migrations.{version}.{old}"),
                        f"migration from version {version} moves state {old!r} to {new!r}, "
                        f"which is not a state of this version{hint(new, machine.states)}",
                    )


def check_start_on(ruleset: RuleSet) -> Iterator[Problem]:
    for machine in ruleset.loaded:
        if not machine.start_on:
            yield Problem(
                ruleset.where(machine, "start_on"),
                "start_on is missing or empty: no message could ever create an instance of this machine",
            )


def check_topics(ruleset: RuleSet, topics: Collection[str]) -> Iterator[Problem]:
    for machine in ruleset.loaded:
        for index, topic in enumerate(machine.topics):
            if topic not in topics:
                yield Problem(ruleset.where(machine, f"topics[{index}]"),
                              f"unknown topic {topic!r}: not in the topic registry{hint(topic, topics)}")


MACHINE_CHECKS: tuple[Callable[[RuleSet], Iterator[Problem]], ...] = (
    check_duplicate_machines,
    check_machine_names,
    check_initial_state,
    check_targets,
    check_decision_tables,
    check_timer_transitions,
    check_duplicate_timers,
    check_expressions,
    check_reachable,
    check_final_states,
    check_dead_ends,
    check_shadowed_transitions,
    check_migrations,
    check_start_on,
)
