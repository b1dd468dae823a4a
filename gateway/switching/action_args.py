"""What the switching actions read: their YAML parameters, the instance data, text templates.

Every reader raises ``HandlerRejected`` naming the action, the parameter or data field and the value it
found, so that a rule author (or whoever fed the process odd data) knows which line to fix. The runtime
dead-letters the message and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any, Final

from gateway.errors import HandlerRejected
from gateway.process.expressions import MISSING, lookup

#: A data field a parameter may name: ``date_from``, ``loss.alert``.
FIELD: Final = re.compile(r"[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*")
#: ``{field}`` in a text template: a data field, ``payload.<field>`` or ``key``.
PLACEHOLDER: Final = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.]*)\}")
#: What a template shows for a field that is present but empty (JSON null).
EMPTY: Final = "(none)"
#: Longest text a template may produce; the back office reads it, it is not a document.
TEXT_CHARS_MAX: Final = 2_000


def rejected(action: str, text: str) -> HandlerRejected:
    return HandlerRejected(f"{action}: {text}")


def no_params(action: str, params: Mapping[str, Any], allowed: tuple[str, ...] = ()) -> None:
    """Refuse parameters the action does not know: a typo must not be silently ignored."""
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        known = ", ".join(allowed) if allowed else "none"
        raise rejected(action, f"unknown parameter(s) {', '.join(unknown)} (known: {known})")


def param_choice(
    action: str, params: Mapping[str, Any], name: str, choices: tuple[str, ...], default: str | None = None
) -> str:
    value = params.get(name, default)
    if value not in choices:
        raise rejected(action, f"parameter `{name}` is {value!r}, expected one of {', '.join(choices)}")
    assert isinstance(value, str)
    return value


def param_field(action: str, params: Mapping[str, Any], name: str, default: str | None = None) -> str:
    """A parameter naming a data field (``valid_to: end_on``)."""
    value = params.get(name, default)
    if not isinstance(value, str) or not FIELD.fullmatch(value):
        raise rejected(action, f"parameter `{name}` is {value!r}, expected a data field name like date_from")
    return value


def param_text(
    action: str, params: Mapping[str, Any], name: str, pattern: re.Pattern[str] | None = None
) -> str:
    value = params.get(name)
    if isinstance(value, str) and value.strip() and (pattern is None or pattern.fullmatch(value)):
        return value
    shape = f" matching {pattern.pattern}" if pattern is not None else ""
    raise rejected(action, f"parameter `{name}` is {value!r}, expected a text{shape}")


def param_int(action: str, params: Mapping[str, Any], name: str, low: int, high: int) -> int:
    value = params.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise rejected(action, f"parameter `{name}` is {value!r}, expected a whole number {low}..{high}")
    return value


def param_time(action: str, params: Mapping[str, Any], name: str) -> dt.time:
    """``"10:00"``: a local (Prague) time of day."""
    value = params.get(name)
    parsed = None
    if isinstance(value, str) and len(value) == len("HH:MM"):
        try:
            parsed = dt.time.fromisoformat(value)
        except ValueError:
            parsed = None
    if parsed is None:
        raise rejected(action, f"parameter `{name}` is {value!r}, expected a time of day like \"10:00\"")
    return parsed


def data_value(action: str, data: Mapping[str, Any], field: str) -> Any:
    """The value at ``data.<field>``; missing is an error, JSON null is returned as None."""
    value = lookup(data, field)
    if value is MISSING:
        raise rejected(action, f"data.{field} is missing")
    return value


def data_text(action: str, data: Mapping[str, Any], field: str) -> str:
    value = data_value(action, data, field)
    if not isinstance(value, str) or not value:
        raise rejected(action, f"data.{field} is {value!r}, expected a text")
    return value


def data_text_or_none(action: str, data: Mapping[str, Any], field: str) -> str | None:
    """Like ``data_text``, but a missing or null field is None."""
    value = lookup(data, field)
    return None if value is MISSING or value is None else data_text(action, data, field)


def data_choice(action: str, data: Mapping[str, Any], field: str, choices: tuple[str, ...]) -> str:
    value = data_value(action, data, field)
    if value not in choices:
        raise rejected(action, f"data.{field} is {value!r}, expected one of {', '.join(choices)}")
    assert isinstance(value, str)
    return value


def data_date(action: str, data: Mapping[str, Any], field: str) -> dt.date:
    """A date stored as ISO text (as a message's dates are) or, from a scenario's ``given``, as a date."""
    value = data_value(action, data, field)
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise rejected(action, f"data.{field} is {value!r}, expected an ISO date like 2026-04-01")


def data_date_or_none(action: str, data: Mapping[str, Any], field: str) -> dt.date | None:
    """Like ``data_date``, but a missing or null field is None."""
    value = lookup(data, field)
    return None if value is MISSING or value is None else data_date(action, data, field)


def data_flag(action: str, data: Mapping[str, Any], field: str) -> bool:
    value = data_value(action, data, field)
    if not isinstance(value, bool):
        raise rejected(action, f"data.{field} is {value!r}, expected true or false")
    return value


def render(action: str, template: str, data: Mapping[str, Any], payload: Mapping[str, Any], key: str) -> str:
    """``template`` with each ``{field}`` replaced: a data field, ``payload.<field>`` of the message being
    handled, or ``key`` (the instance key). A field that is not there is an error, not an empty string:
    a back-office task saying "earliest date: " helps nobody."""

    def value(match: re.Match[str]) -> str:
        path = match[1]
        if path == "key":
            return key
        root, _dot, rest = path.partition(".")
        found = lookup(payload, rest) if root == "payload" and rest else lookup(data, path)
        if found is MISSING:
            where = path if root == "payload" else f"data.{path}"
            raise rejected(action, f"text template names {{{path}}}, but {where} is missing")
        return EMPTY if found is None else str(found)

    text = PLACEHOLDER.sub(value, template)
    if len(text) > TEXT_CHARS_MAX:
        raise rejected(action, f"the text has {len(text)} characters, more than {TEXT_CHARS_MAX}")
    return text
