"""Timer due times: durations, working days in Prague local time, "by 10:00 of the Nth working day before"."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from gateway.process.calendar import PRAGUE, WorkingCalendar
from gateway.process.definition import TimerSpec
from gateway.process.timing import TimerValueError, due_at

CAL = WorkingCalendar()


def local(*args: int) -> dt.datetime:
    year, month, day, hour, minute = args
    return dt.datetime(year, month, day, hour, minute, tzinfo=PRAGUE).astimezone(dt.UTC)


def after(amount: int, unit: Any) -> TimerSpec:
    return TimerSpec(name="t", mode="after", amount=amount, unit=unit)


def at(field: str, before: int = 0, cutoff: dt.time | None = None) -> TimerSpec:
    return TimerSpec(name="t", mode="at", field=field, working_days_before=before, cutoff=cutoff)


def test_minutes_and_hours_are_exact_durations() -> None:
    entered = dt.datetime(2026, 3, 28, 23, 30, tzinfo=dt.UTC)
    assert due_at(after(90, "minutes"), entered, {}, CAL) == entered + dt.timedelta(minutes=90)
    assert due_at(after(36, "hours"), entered, {}, CAL) == entered + dt.timedelta(hours=36)


def test_days_keep_the_local_wall_clock_time_across_daylight_saving() -> None:
    entered = local(2026, 3, 28, 9, 0)  # CET; DST starts on 29 March
    due = due_at(after(3, "days"), entered, {}, CAL)
    assert due == local(2026, 3, 31, 9, 0) and due.tzinfo == dt.UTC
    assert due - entered == dt.timedelta(days=3, hours=-1)


def test_working_days_skip_christmas_at_the_same_local_time() -> None:
    entered = local(2026, 12, 18, 14, 15)
    assert due_at(after(10, "working_days"), entered, {}, CAL) == local(2027, 1, 6, 14, 15)


def test_working_days_use_the_prague_date_not_the_utc_date() -> None:
    entered = dt.datetime(2026, 4, 2, 22, 30, tzinfo=dt.UTC)  # already Friday 3 April (Good Friday) in Prague
    assert due_at(after(1, "working_days"), entered, {}, CAL) == local(2026, 4, 7, 0, 30)


def test_at_a_date_working_days_before_by_a_cutoff() -> None:
    # "by 10:00 of the 10th working day before the switch date"
    context = {"payload": {"switch_date": "2027-01-06"}}
    spec = at("payload.switch_date", before=10, cutoff=dt.time(10, 0))
    assert due_at(spec, local(2026, 12, 1, 8, 0), context, CAL) == local(2026, 12, 18, 10, 0)


def test_at_a_date_alone_is_its_local_midnight_and_a_date_time_is_that_instant() -> None:
    entered = local(2026, 12, 1, 8, 0)
    assert due_at(at("data.d"), entered, {"data": {"d": "2026-12-10"}}, CAL) == local(2026, 12, 10, 0, 0)
    value = "2026-12-10T15:00:00+00:00"
    assert due_at(at("data.d"), entered, {"data": {"d": value}}, CAL) == dt.datetime(
        2026, 12, 10, 15, tzinfo=dt.UTC
    )
    # A date-time without a zone is Prague wall-clock time; a cut-off replaces its time of day.
    naive = {"data": {"d": "2026-12-10T15:00:00"}}
    assert due_at(at("data.d"), entered, naive, CAL) == local(2026, 12, 10, 15, 0)
    assert due_at(at("data.d", cutoff=dt.time(10)), entered, naive, CAL) == local(2026, 12, 10, 10, 0)
    assert due_at(at("data.d", before=1), entered, naive, CAL) == local(2026, 12, 9, 15, 0)


def test_date_objects_are_accepted() -> None:
    context = {"data": {"d": dt.date(2026, 5, 4)}}
    spec = at("data.d", before=1, cutoff=dt.time(10))
    assert due_at(spec, local(2026, 4, 1, 8, 0), context, CAL) == local(2026, 4, 30, 10, 0)


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"data": {}}, "`at` field 'data.final_date' is missing"),
        ({"data": {"final_date": None}}, "`at` field 'data.final_date' is missing"),
        ({"data": {"final_date": "next Tuesday"}}, "`at` field 'data.final_date' is 'next Tuesday'"),
        ({"data": {"final_date": "2026-02-30"}}, "is '2026-02-30', expected an ISO date"),
        ({"data": {"final_date": 20261201}}, "is 20261201 (int)"),
    ],
)
def test_bad_or_missing_at_values_name_the_field_and_value(context: dict[str, Any], message: str) -> None:
    with pytest.raises(TimerValueError) as caught:
        due_at(at("data.final_date"), local(2026, 12, 1, 8, 0), context, CAL)
    assert message in str(caught.value) and "timer 't'" in str(caught.value)
