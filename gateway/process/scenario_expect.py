"""The checks of a scenario's ``expect`` step: each says what differed, expected against actual.

Values are compared as an author writes them in YAML: a number or a decimal string matches an exact
``Decimal`` of the same value (``"1200.50"`` matches ``Decimal("1200.5")``), dates match their ISO text,
and mappings (``data``, a message's ``payload``) match when every key written matches (a subset).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec

from gateway.process.calendar import PRAGUE
from gateway.process.simulation import MemoryRuntime, MemoryTimer
from schemas.envelope import Envelope

NO_INSTANCE = "(no instance)"


def expect_differences(
    runtime: MemoryRuntime, default_key: str, checks: Mapping[str, Any], seen: int
) -> list[str]:
    """What differs from ``checks`` for the instance of ``checks['key']`` (else ``default_key``);
    ``seen``: deliveries whose emitted messages an earlier ``expect`` covered."""
    key = str(checks.get("key") or default_key)
    instance = runtime.instances.get(key)
    found: list[str] = []
    if "state" in checks:
        actual = instance.state if instance is not None else None
        if checks["state"] != actual:
            found.append(f"state: expected {_show_state(checks['state'])}, got {_show_state(actual)}")
    if "data" in checks:
        data = dict(instance.data) if instance is not None else {}
        found.extend(differences(checks["data"], data, "data"))
    if "history" in checks:
        states = [entry.to_state for entry in runtime.history.get(key, [])]
        if not _same(checks["history"], states):
            found.append(f"history: expected {_names(checks['history'])}, got {_names(states)}")
    if "emitted" in checks:
        emitted = [pair for delivery in runtime.deliveries[seen:] for pair in delivery.emitted]
        found.extend(_emitted(checks["emitted"], emitted))
    if "timers" in checks:
        found.extend(_timers(checks["timers"], runtime.pending(key)))
    if "disposition" in checks:
        last = runtime.deliveries[-1].result if runtime.deliveries else None
        if checks["disposition"] != last:
            found.append(f"disposition: expected {checks['disposition']}, got {last or '(no message yet)'}")
    return found


def differences(expected: Any, actual: Any, path: str) -> list[str]:
    """Each place where ``actual`` does not match ``expected``; mappings match as subsets."""
    if isinstance(expected, dict):
        if not isinstance(actual, Mapping):
            return [f"{path}: expected {show(expected)}, got {show(actual)}"]
        found: list[str] = []
        for name, value in expected.items():
            if name not in actual:
                found.append(f"{path}.{name}: expected {show(value)}, got nothing (no such field)")
            else:
                found.extend(differences(value, actual[name], f"{path}.{name}"))
        return found
    return [] if _same(expected, actual) else [f"{path}: expected {show(expected)}, got {show(actual)}"]


def _same(expected: Any, actual: Any) -> bool:
    if isinstance(expected, dict):
        return not differences(expected, actual, "")
    if isinstance(expected, list):
        return (
            isinstance(actual, list | tuple) and len(expected) == len(actual)
            and all(_same(e, a) for e, a in zip(expected, actual, strict=True))
        )
    numeric = isinstance(expected, int | float | str) and not isinstance(expected, bool)
    if isinstance(actual, Decimal) and numeric:
        try:
            return Decimal(str(expected)) == actual
        except InvalidOperation:
            return False
    if isinstance(actual, dt.date):
        return bool(expected == actual.isoformat())
    # True == 1 in Python; in a rule file a flag and a count are different things.
    return isinstance(expected, bool) == isinstance(actual, bool) and bool(expected == actual)


def _emitted(expected: Any, actual: Sequence[tuple[str, Envelope]]) -> list[str]:
    if not isinstance(expected, list):
        return [f"emitted: expected a list of messages, got {show(expected)} in the scenario"]
    wanted = [{"type": item} if isinstance(item, str) else item for item in expected]
    got_types = [envelope.type for _topic, envelope in actual]
    if len(wanted) != len(actual):
        want_types = [str(item.get("type", "?")) if isinstance(item, dict) else "?" for item in wanted]
        return [f"emitted: expected {_names(want_types)}, got {_names(got_types)}"]
    found: list[str] = []
    for index, (item, (topic, envelope)) in enumerate(zip(wanted, actual, strict=True)):
        path = f"emitted[{index}]"
        if not isinstance(item, dict):
            found.append(f"{path}: write a message type or {{type, payload, topic, key}}, not {show(item)}")
            continue
        if item.get("type") != envelope.type:
            found.append(f"{path}: expected type {item.get('type')}, got {envelope.type}")
            continue
        if "topic" in item and item["topic"] != topic:
            found.append(f"{path}.topic: expected {item['topic']}, got {topic}")
        if "key" in item and item["key"] != envelope.key:
            found.append(f"{path}.key: expected {show(item['key'])}, got {show(envelope.key)}")
        if "payload" in item:
            body = msgspec.to_builtins(envelope.payload, builtin_types=(Decimal,))
            found.extend(differences(item["payload"], body, f"{path}.payload"))
    return found


def _timers(expected: Any, pending: Sequence[MemoryTimer]) -> list[str]:
    if not isinstance(expected, list):
        return [f"timers: expected a list of timers, got {show(expected)} in the scenario"]
    wanted = [{"name": item} if isinstance(item, str) else item for item in expected]
    want_names = [str(item.get("name", "?")) if isinstance(item, dict) else "?" for item in wanted]
    if want_names != [timer.name for timer in pending]:
        got = [f"{timer.name} at {local(timer.due_at)}" for timer in pending]
        return [f"timers: expected {_names(want_names)}, got {_names(got)}"]
    found: list[str] = []
    for item, timer in zip(wanted, pending, strict=True):
        if isinstance(item, dict) and "due" in item:
            due = _instant(item["due"])
            if due is None:
                found.append(f"timers: {timer.name}: due {show(item['due'])} is not an ISO date-time")
            elif due != timer.due_at:
                found.append(f"timers: {timer.name}: expected due {local(due)}, got {local(timer.due_at)}")
    return found


def _instant(value: Any) -> dt.datetime | None:
    try:
        parsed = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=PRAGUE)


def local(instant: dt.datetime) -> str:
    """An instant as rule authors read it: Prague wall-clock time with its offset."""
    return instant.astimezone(PRAGUE).isoformat()


def show(value: Any) -> str:
    """A value as JSON, Decimals as their exact digits."""
    return json.dumps(value, default=str, ensure_ascii=False)


def _show_state(state: object) -> str:
    return NO_INSTANCE if state is None else str(state)


def _names(items: Sequence[object]) -> str:
    return "[" + ", ".join(str(item) for item in items) + "]"
