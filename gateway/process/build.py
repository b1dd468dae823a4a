"""Building the ``definition`` model of one machine file from its YAML nodes (format: ``docs/rules.md``).

The builder checks the shape of the file (keys, types, durations, cut-off times, step forms) and keeps going
after a problem, so that one run of ``proud rules check`` shows them all. What refers to other things (states,
actions, decisions, message types) is checked later, over the whole rule set, in ``gateway.process.check``.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal, cast

import yaml

from gateway.process.calendar import WORKING_DAYS_SHIFT_MAX
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
from gateway.process.reader import Reader, is_null, join

#: A calendar timer further out than this is a typo, not a deadline (about 8 years, like working days).
TIMER_DAYS_MAX = 3_000

MACHINE_KEYS = (
    "machine", "description", "key", "topics", "start_on", "initial", "data", "states", "migrations",
    "restart",
)
MACHINE_REQUIRED = ("machine", "initial", "states")
STATE_KEYS = ("final", "on_entry", "on_exit", "timers", "transitions")
TRANSITION_KEYS = ("on", "guard", "target", "actions")
TRANSITION_TEXTS = ("on", "guard", "target")
TIMER_KEYS = ("name", "after", "at", "working_days_before", "cutoff")
DECIDE_KEYS = ("table", "into")

Unit = Literal["minutes", "hours", "days", "working_days"]
_AMOUNT_MAX: dict[Unit, int] = {
    "minutes": TIMER_DAYS_MAX * 24 * 60,
    "hours": TIMER_DAYS_MAX * 24,
    "days": TIMER_DAYS_MAX,
    "working_days": WORKING_DAYS_SHIFT_MAX,
}
_DURATION = re.compile(r"(?P<amount>\d+)\s+(?P<unit>working\s+days?|days?|hours?|minutes?)")
_CUTOFF = re.compile(r"(?P<hour>\d{1,2}):(?P<minute>\d{2})")
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
DATA_PATH = re.compile(rf"{_NAME}(\.{_NAME})*")
# The context roots a date can come from (docs/rules.md, "Context of expressions and decisions").
AT_FIELD = re.compile(rf"(payload|message|data|now|today)(\.{_NAME})*")
VERSION = re.compile(r"[0-9a-f]{12}")


def parse_duration(text: str) -> tuple[int, Unit] | None:
    """``"10 working days"`` -> ``(10, "working_days")``; None if the text is no duration we know."""
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        return None
    words = match["unit"].split()
    unit = cast(Unit, "working_days" if len(words) == 2 else words[0].rstrip("s") + "s")
    amount = int(match["amount"])
    if not 1 <= amount <= _AMOUNT_MAX[unit]:
        return None
    return amount, unit


def parse_cutoff(text: str) -> dt.time | None:
    """``"10:00"`` -> 10:00 local time; None for anything that is not HH:MM within a day."""
    match = _CUTOFF.fullmatch(text.strip())
    if match is None or int(match["hour"]) > 23 or int(match["minute"]) > 59:
        return None
    return dt.time(int(match["hour"]), int(match["minute"]))


def build_machine(reader: Reader, root: yaml.Node, version: str) -> Machine | None:
    """The machine of a file, or None when a required key is missing (the problems say which)."""
    entries = reader.mapping(root, "", allowed=MACHINE_KEYS, required=MACHINE_REQUIRED, what="the machine")
    if entries is None:
        return None
    texts = {
        key: reader.text(entries[key], key)
        for key in ("machine", "description", "key", "initial")
        if key in entries
    }
    lists = {key: reader.names(entries[key], key) for key in ("topics", "start_on") if key in entries}
    data = reader.plain(entries["data"], "data") if "data" in entries else {}
    if not isinstance(data, dict):
        reader.report(entries["data"], "data must be a mapping of initial instance data")
        data = {}
    states = _states(reader, entries["states"]) if "states" in entries else None
    migrations = _migrations(reader, entries["migrations"]) if "migrations" in entries else {}
    name, initial = texts.get("machine"), texts.get("initial")
    if name is None or initial is None or states is None:
        return None
    return Machine(
        name=name,
        version=version,
        description=texts.get("description") or "",
        key=texts.get("key") or "",
        topics=lists.get("topics", ()),
        start_on=lists.get("start_on", ()),
        initial=initial,
        data=data,
        states=states,
        migrations=migrations,
        where=reader.lines["machine"],
        restart=reader.flag(entries["restart"], "restart") if "restart" in entries else False,
    )


def _states(reader: Reader, node: yaml.Node) -> dict[str, State] | None:
    entries = reader.mapping(node, "states")
    if entries is None:
        return None
    return {name: _state(reader, name, value) for name, value in entries.items()}


def _state(reader: Reader, name: str, node: yaml.Node) -> State:
    path = join("states", name)
    # ``paid:`` with nothing below it is a state with no steps, timers or transitions.
    entries = {} if is_null(node) else reader.mapping(node, path, allowed=STATE_KEYS) or {}
    timers = [
        _timer(reader, item, join(join(path, "timers"), index))
        for index, item in enumerate(_items(reader, entries, "timers", path))
    ]
    transitions: list[Transition] = []
    for index, item in enumerate(_items(reader, entries, "transitions", path)):
        # Messages count the items as written; the source map counts the kept ones, as the checks see them.
        kept_path = join(join(path, "transitions"), len(transitions))
        transition = _transition(reader, item, join(join(path, "transitions"), index), kept_path)
        if transition is not None:
            transitions.append(transition)
    return State(
        name=name,
        final=reader.flag(entries["final"], join(path, "final")) if "final" in entries else False,
        on_entry=_steps(reader, entries.get("on_entry"), join(path, "on_entry")),
        on_exit=_steps(reader, entries.get("on_exit"), join(path, "on_exit")),
        timers=tuple(timer for timer in timers if timer is not None),
        transitions=tuple(transitions),
        where=reader.lines[path],
    )


def _items(reader: Reader, entries: dict[str, yaml.Node], key: str, path: str) -> list[yaml.Node]:
    return reader.sequence(entries[key], join(path, key)) if key in entries else []


def _transition(reader: Reader, node: yaml.Node, path: str, kept_path: str) -> Transition | None:
    what = f"transition {path}"
    entries = reader.mapping(node, kept_path, allowed=TRANSITION_KEYS, required=("on",), what=what)
    if entries is None:
        return None
    texts = {key: reader.text(entries[key], join(path, key)) for key in TRANSITION_TEXTS if key in entries}
    on = texts.get("on")
    if on is None:
        return None
    return Transition(
        on=on,
        target=texts.get("target"),
        guard=texts.get("guard"),
        steps=_steps(reader, entries.get("actions"), join(path, "actions")),
        where=reader.where(node),
    )


def _timer(reader: Reader, node: yaml.Node, path: str) -> TimerSpec | None:
    entries = reader.mapping(node, path, allowed=TIMER_KEYS, required=("name",), what=f"timer {path}")
    if entries is None or "name" not in entries:
        return None
    name = reader.text(entries["name"], join(path, "name"))
    if name is None:
        return None
    where = reader.where(node)
    if ("after" in entries) == ("at" in entries):
        reader.report(node, f"timer {name!r} needs one of `after` (a duration) or `at` (a date field)")
        # Kept, unarmable, so that transitions on it are not reported a second time as unknown timers.
        return TimerSpec(name=name, mode="after", where=where)
    if "after" in entries:
        for key in ("working_days_before", "cutoff"):
            if key in entries:
                reader.report(entries[key], f"timer {name!r}: `{key}` applies only to `at` timers")
        text = reader.text(entries["after"], join(path, "after"))
        parsed = parse_duration(text) if text is not None else None
        if text is not None and parsed is None:
            reader.report(
                entries["after"],
                f"bad duration {text!r} in timer {name!r}: use '<n> minutes', '<n> hours', '<n> days' or "
                f"'<n> working days', n at least 1 and at most {TIMER_DAYS_MAX} days",
            )
        amount, unit = parsed if parsed is not None else (0, None)
        return TimerSpec(name=name, mode="after", amount=amount, unit=unit, where=where)
    return _at_timer(reader, name, entries, path, where)


def _at_timer(reader: Reader, name: str, entries: dict[str, yaml.Node], path: str, where: Where) -> TimerSpec:
    field = reader.text(entries["at"], join(path, "at"))
    if field is not None and not AT_FIELD.fullmatch(field.strip()):
        reader.report(
            entries["at"],
            f"bad `at` field {field!r} in timer {name!r}: use a context path to a date, "
            "such as data.final_date or payload.switch_date",
        )
    before = 0
    if "working_days_before" in entries:
        node, path_before = entries["working_days_before"], join(path, "working_days_before")
        before = reader.integer(node, path_before, low=0, high=WORKING_DAYS_SHIFT_MAX) or 0
    cutoff = None
    if "cutoff" in entries:
        text = reader.text(entries["cutoff"], join(path, "cutoff"))
        cutoff = parse_cutoff(text) if text is not None else None
        if text is not None and cutoff is None:
            reader.report(
                entries["cutoff"], f"bad cutoff {text!r} in timer {name!r}: use HH:MM, local time in Prague"
            )
    return TimerSpec(
        name=name,
        mode="at",
        field=field.strip() if field is not None else None,
        working_days_before=before,
        cutoff=cutoff,
        where=where,
    )


def _steps(reader: Reader, node: yaml.Node | None, path: str) -> tuple[Step, ...]:
    if node is None:
        return ()
    steps: list[Step] = []
    for index, item in enumerate(reader.sequence(node, path)):
        steps.extend(_step(reader, item, join(path, index)))
    return tuple(steps)


def _step(reader: Reader, node: yaml.Node, path: str) -> list[Step]:
    """One list item: ``NAME``, ``NAME: {params}``, ``set: {path: expr}`` or ``decide: {table, into}``."""
    where = reader.where(node)
    if isinstance(node, yaml.ScalarNode):
        name = reader.text(node, path)
        return [ActionCall(name=name, params={}, where=where)] if name is not None else []
    if not isinstance(node, yaml.MappingNode) or len(node.value) != 1:
        forms = "NAME, NAME: {params}, set: {path: expression}, decide: {table: .., into: ..}"
        reader.report(node, f"step {path} must be one of: {forms}")
        return []
    key_node, value = node.value[0]
    name = reader.text(key_node, path)
    if name is None:
        return []
    if name == "set":
        return list(_assignments(reader, value, join(path, "set")))
    if name == "decide":
        entries = reader.mapping(value, join(path, "decide"), allowed=DECIDE_KEYS, required=DECIDE_KEYS)
        texts = {key: reader.text(node, join(path, f"decide.{key}")) for key, node in (entries or {}).items()}
        table, into = texts.get("table"), texts.get("into")
        if table is None or into is None or not _data_path(reader, value, into):
            return []
        return [Decision(table=table, into=into, where=where)]
    params = {} if is_null(value) else reader.plain(value, join(path, name))
    if not isinstance(params, dict):
        reader.report(value, f"parameters of action {name!r} must be a mapping, e.g. {name}: {{level: 1}}")
        return []
    return [ActionCall(name=name, params=params, where=where)]


def _assignments(reader: Reader, node: yaml.Node, path: str) -> list[Assignment]:
    entries = reader.mapping(node, path)
    if entries is None:
        return []
    found = []
    for target, value in entries.items():
        expression = reader.text(value, join(path, target))
        if expression is not None and _data_path(reader, value, target):
            where = reader.lines[join(path, target)]
            found.append(Assignment(target=target, expression=expression, where=where))
    return found


def _data_path(reader: Reader, node: yaml.Node, target: str) -> bool:
    if not DATA_PATH.fullmatch(target):
        reader.report(node, f"bad data path {target!r}: use names joined by dots, e.g. escalation.level")
        return False
    if target.split(".")[0] == "data":
        # Paths are already below ``data``; "data.x" would store at data.data.x.
        reader.report(node, f"data path {target!r} starts with 'data': paths are below data", "warning")
    return True


def _migrations(reader: Reader, node: yaml.Node) -> dict[str, dict[str, str]]:
    """``{old version: {old state: new state}}``."""
    entries = reader.mapping(node, "migrations") or {}
    result: dict[str, dict[str, str]] = {}
    for version, mapping in entries.items():
        path = join("migrations", version)
        if not VERSION.fullmatch(version):
            reader.report(reader.lines[path], f"migration key {version!r} is not a version (12 hex digits)")
            continue
        states = reader.mapping(mapping, path) or {}
        moves = {old: reader.text(new, join(path, old)) for old, new in states.items()}
        result[version] = {old: new for old, new in moves.items() if new is not None}
    return result
