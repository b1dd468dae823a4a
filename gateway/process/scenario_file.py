"""Reading scenario test files (``rules/tests/*.yaml``) into ``Scenario`` objects, every step with its line.

The format is documented in ``docs/rules.md`` ("Scenario tests"). Like the machine loader, reading never
raises on what an author wrote: problems are collected with file and line (``Reader``), and a scenario
with a problem is left out, so that one typo does not hide the other scenarios' results.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from gateway.process.build import Unit, parse_duration
from gateway.process.calendar import PRAGUE
from gateway.process.definition import Problem, Where
from gateway.process.reader import Reader, join, read_text

#: Largest scenario file read; they are written by hand like the machine files.
SCENARIO_FILE_BYTES_MAX = 1_048_576
#: Scenario files one ``rules/tests`` directory may hold.
SCENARIO_FILES_MAX = 1_000
#: Steps one scenario may have: a scenario is a story a reader follows, not a load test.
SCENARIO_STEPS_MAX = 1_000

FILE_KEYS = ("machine", "start", "key", "scenarios")
SCENARIO_KEYS = ("name", "start", "key", "given", "steps")
GIVEN_KEYS = ("state", "data")
MESSAGE_KEYS = ("type", "payload", "key", "version")
EXPECT_KEYS = ("key", "state", "data", "history", "emitted", "timers", "disposition")
STEP_KINDS = ("message", "advance", "advance_to", "expect")


@dataclass(frozen=True, slots=True)
class MessageStep:
    type: str  # a registered message type, or ``timer.<name>`` for a timer message
    payload: Mapping[str, Any]
    key: str | None  # None: the scenario's key
    version: int | None  # schema version; None: the highest registered
    where: Where


@dataclass(frozen=True, slots=True)
class AdvanceStep:
    """``advance: 3 working days`` (``amount``, ``unit``) or ``advance_to: <ISO date-time>`` (``to``)."""

    where: Where
    amount: int = 0
    unit: Unit | None = None
    to: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class ExpectStep:
    checks: Mapping[str, Any]  # EXPECT_KEYS -> plain values as written
    where: Where


ScenarioStep = MessageStep | AdvanceStep | ExpectStep


@dataclass(frozen=True, slots=True)
class Given:
    state: str
    data: Mapping[str, Any]
    where: Where


@dataclass(frozen=True, slots=True)
class Scenario:
    file: str
    name: str
    machine: str
    start: dt.datetime
    key: str
    given: Given | None
    steps: tuple[ScenarioStep, ...]
    where: Where


def scenario_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    found = sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    return found[:SCENARIO_FILES_MAX]


def read_scenarios(path: Path, label: str | None = None) -> tuple[list[Scenario], list[Problem]]:
    """The scenarios of one file that are fit to run, and the problems of the others."""
    reader = Reader(label or str(path))
    text = read_text(path, SCENARIO_FILE_BYTES_MAX, reader.problems)
    if text is None:
        return [], reader.problems
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = Where(reader.file, mark.line + 1 if mark is not None else 1)
        reader.report(where, f"YAML syntax error: {getattr(exc, 'problem', None) or exc}")
        return [], reader.problems
    if root is None:
        reader.report(Where(reader.file, 1), "the file is empty; it needs machine and scenarios")
        return [], reader.problems
    entries = reader.mapping(root, "", allowed=FILE_KEYS, required=("machine", "scenarios"), what="the file")
    if entries is None or "machine" not in entries or "scenarios" not in entries:
        return [], reader.problems
    machine = reader.text(entries["machine"], "machine")
    defaults: dict[str, yaml.Node] = {name: entries[name] for name in ("start", "key") if name in entries}
    scenarios: list[Scenario] = []
    for index, node in enumerate(reader.sequence(entries["scenarios"], "scenarios")):
        known = len(reader.problems)
        scenario = _scenario(reader, node, join("scenarios", index), machine or "?", defaults)
        if scenario is not None and machine is not None and len(reader.problems) == known:
            scenarios.append(scenario)
    return scenarios, reader.problems


def _scenario(
    reader: Reader, node: yaml.Node, path: str, machine: str, defaults: Mapping[str, yaml.Node]
) -> Scenario | None:
    entries = reader.mapping(node, path, allowed=SCENARIO_KEYS, required=("name", "steps"), what="a scenario")
    if entries is None or "name" not in entries or "steps" not in entries:
        return None
    name = reader.text(entries["name"], f"{path}.name")
    merged = {**defaults, **entries}
    if "start" not in merged:
        reader.report(node, "a scenario needs `start` (here or at the top of the file): the clock's start")
    if "key" not in merged:
        reader.report(node, "a scenario needs `key` (here or at the top of the file): the instance key")
    if name is None or "start" not in merged or "key" not in merged:
        return None
    start = _instant(reader, merged["start"], "start")
    key = reader.text(merged["key"], "key")
    given = _given(reader, entries["given"], f"{path}.given") if "given" in entries else None
    steps = [_step(reader, item, join(f"{path}.steps", i))
             for i, item in enumerate(reader.sequence(entries["steps"], f"{path}.steps"))]
    if len(steps) > SCENARIO_STEPS_MAX:
        reader.report(node, f"{len(steps)} steps, more than {SCENARIO_STEPS_MAX}: split the scenario")
    if start is None or key is None or any(step is None for step in steps):
        return None
    kept = tuple(step for step in steps if step is not None)
    return Scenario(reader.file, name, machine, start, key, given, kept, reader.where(node))


def _given(reader: Reader, node: yaml.Node, path: str) -> Given | None:
    entries = reader.mapping(node, path, allowed=GIVEN_KEYS, required=("state",), what="given")
    if entries is None or "state" not in entries:
        return None
    state = reader.text(entries["state"], f"{path}.state")
    data = _exact(reader, entries["data"], f"{path}.data") if "data" in entries else {}
    if not isinstance(data, dict):
        reader.report(entries.get("data", node), f"{path}.data must be a mapping")
        return None
    return Given(state, data, reader.where(node)) if state is not None else None


def _step(reader: Reader, node: yaml.Node, path: str) -> ScenarioStep | None:
    entries = reader.mapping(node, path, allowed=STEP_KINDS, what="a step")
    if entries is None:
        return None
    if len(entries) != 1:
        reader.report(node, f"a step is one of {', '.join(STEP_KINDS)}: exactly one key")
        return None
    kind, value = next(iter(entries.items()))
    where = reader.where(node)
    if kind == "message":
        return _message(reader, value, f"{path}.message", where)
    if kind == "advance":
        text = reader.text(value, f"{path}.advance")
        parsed = parse_duration(text) if text is not None else None
        if parsed is None:
            example = "36 hours, 2 days, 3 working days"
            reader.report(value, f"advance: {text!r} is no duration: write e.g. {example}")
            return None
        return AdvanceStep(where, amount=parsed[0], unit=parsed[1])
    if kind == "advance_to":
        to = _instant(reader, value, f"{path}.advance_to")
        return AdvanceStep(where, to=to) if to is not None else None
    checks = reader.mapping(value, f"{path}.expect", allowed=EXPECT_KEYS, what="expect")
    if checks is None:
        return None
    plain = {name: reader.plain(item, f"{path}.expect.{name}") for name, item in checks.items()}
    return ExpectStep(plain, where)


def _message(reader: Reader, node: yaml.Node, path: str, where: Where) -> MessageStep | None:
    entries = reader.mapping(node, path, allowed=MESSAGE_KEYS, required=("type",), what="message")
    if entries is None or "type" not in entries:
        return None
    kind = reader.text(entries["type"], f"{path}.type")
    payload = _exact(reader, entries["payload"], f"{path}.payload") if "payload" in entries else {}
    if not isinstance(payload, dict):
        reader.report(entries.get("payload", node), f"{path}.payload must be a mapping")
        return None
    key = reader.text(entries["key"], f"{path}.key") if "key" in entries else None
    version = reader.integer(entries["version"], f"{path}.version", low=1, high=1_000) if (
        "version" in entries) else None
    return MessageStep(kind, payload, key, version, where) if kind is not None else None


def _exact(reader: Reader, node: yaml.Node, path: str) -> Any:
    """A literal value whose fractional numbers are exact ``Decimal``s of the digits written (``80000.00``),
    as the store reads instance data back and as the wire carries amounts; YAML would make them floats."""
    return _decimals(node, reader.plain(node, path))


def _decimals(node: yaml.Node, value: Any) -> Any:
    if isinstance(node, yaml.MappingNode) and isinstance(value, dict):
        return {k.value: _decimals(v, value[k.value]) for k, v in node.value if k.value in value}
    if isinstance(node, yaml.SequenceNode) and isinstance(value, list):
        return [_decimals(item, plain) for item, plain in zip(node.value, value, strict=True)]
    if isinstance(value, float):
        return Decimal(node.value.replace("_", ""))  # the reader accepted it, so it is a finite number
    return value


def _instant(reader: Reader, node: yaml.Node, path: str) -> dt.datetime | None:
    """An ISO date-time; without a zone it is Prague wall-clock time, as in the machine files."""
    text = reader.text(node, path)
    if text is None:
        return None
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        reader.report(node, f"{path}: {text!r} is not an ISO date-time like 2026-03-02T09:00:00+01:00")
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=PRAGUE)
