"""When a timer is due: ``after`` a duration from entering its state, or ``at`` a date from the context.

All arithmetic on days happens in Prague local time, because that is what rule authors and the market mean
by "3 days" or "the 10th working day": the same wall-clock time on a later date, whatever daylight saving
does in between. Minutes and hours are exact durations. The result is always an aware UTC instant.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from gateway.process.calendar import PRAGUE, WorkingCalendar
from gateway.process.definition import TimerSpec
from gateway.process.expressions import MISSING, lookup


class TimerValueError(ValueError):
    """A timer cannot be armed: its ``at`` field is missing or is not a date; the message names both."""


def due_at(
    spec: TimerSpec, entered_at: dt.datetime, context: Mapping[str, Any], calendar: WorkingCalendar
) -> dt.datetime:
    assert entered_at.tzinfo is not None, "entered_at must be aware"
    if spec.mode == "after":
        return _after(spec, entered_at, calendar)
    return _at(spec, context, calendar)


def _after(spec: TimerSpec, entered_at: dt.datetime, calendar: WorkingCalendar) -> dt.datetime:
    if spec.unit == "minutes":
        return (entered_at + dt.timedelta(minutes=spec.amount)).astimezone(dt.UTC)
    if spec.unit == "hours":
        return (entered_at + dt.timedelta(hours=spec.amount)).astimezone(dt.UTC)
    local = entered_at.astimezone(PRAGUE)
    if spec.unit == "days":
        day = local.date() + dt.timedelta(days=spec.amount)
    elif spec.unit == "working_days":
        day = calendar.add_working_days(local.date(), spec.amount)
    else:
        raise TimerValueError(f"timer {spec.name!r}: unknown unit {spec.unit!r}")
    return _local(day, local.timetz().replace(tzinfo=None))


def _at(spec: TimerSpec, context: Mapping[str, Any], calendar: WorkingCalendar) -> dt.datetime:
    if not spec.field:
        raise TimerValueError(f"timer {spec.name!r}: `at` names no field")
    value = lookup(context, spec.field)
    if value is MISSING or value is None:
        raise TimerValueError(f"timer {spec.name!r}: `at` field {spec.field!r} is missing from the context")
    moment = _parse_moment(spec, value)
    if isinstance(moment, dt.datetime):
        day, time = moment.date(), moment.time()
    else:
        day, time = moment, dt.time(0, 0)
    if spec.working_days_before:
        day = calendar.working_days_before(day, spec.working_days_before)
    if spec.cutoff is not None:
        time = spec.cutoff
    if isinstance(moment, dt.datetime) and not spec.working_days_before and spec.cutoff is None:
        return moment.astimezone(dt.UTC)
    return _local(day, time)


def _parse_moment(spec: TimerSpec, value: object) -> dt.date | dt.datetime:
    """A date, or a local (Prague) aware datetime, from a date/datetime object or an ISO string."""
    parsed: dt.date | dt.datetime
    if isinstance(value, dt.date):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value) if "T" in value or " " in value else (
                dt.date.fromisoformat(value)
            )
        except ValueError:
            raise TimerValueError(
                f"timer {spec.name!r}: `at` field {spec.field!r} is {value!r}, "
                "expected an ISO date (2026-04-01) or date-time (2026-04-01T10:00:00+02:00)"
            ) from None
    else:
        raise TimerValueError(
            f"timer {spec.name!r}: `at` field {spec.field!r} is {value!r} ({type(value).__name__}), "
            "expected an ISO date or date-time"
        )
    if isinstance(parsed, dt.datetime):
        # A date-time without a zone means Prague wall-clock time, as rule authors write it.
        aware = parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=PRAGUE)
        return aware.astimezone(PRAGUE)
    return parsed


def _local(day: dt.date, time: dt.time) -> dt.datetime:
    # zoneinfo resolves a wall time skipped by the spring DST jump forward by the offset before it (fold=0),
    # which lands after the gap: a deadline never moves earlier than the author wrote.
    return dt.datetime.combine(day, time, tzinfo=PRAGUE).astimezone(dt.UTC)
