"""Czech working days: weekends and public holidays (Christmas, Easter Monday, May Day) are skipped."""

from __future__ import annotations

import datetime as dt

import pytest

from gateway.process.calendar import WORKING_DAYS_SHIFT_MAX, WorkingCalendar

D = dt.date


@pytest.fixture
def cal() -> WorkingCalendar:
    return WorkingCalendar()


@pytest.mark.parametrize(
    "day", [D(2026, 12, 24), D(2026, 12, 25), D(2026, 4, 6), D(2026, 5, 1), D(2026, 4, 3)]
)
def test_public_holidays_are_not_working_days(cal: WorkingCalendar, day: dt.date) -> None:
    assert not cal.is_working_day(day)
    assert cal.holiday_name(day)


def test_weekends_are_not_working_days_and_ordinary_weekdays_are(cal: WorkingCalendar) -> None:
    assert not cal.is_working_day(D(2026, 12, 26))  # Saturday and St Stephen's Day
    assert not cal.is_working_day(D(2026, 11, 29))  # Sunday
    assert cal.is_working_day(D(2026, 11, 30))
    assert cal.holiday_name(D(2026, 11, 30)) is None


def test_adding_working_days_across_christmas_and_new_year(cal: WorkingCalendar) -> None:
    # Fri 18 Dec: 21, 22, 23 | 24-27 off | 28-31 | 1 Jan off | 4, 5, 6
    assert cal.add_working_days(D(2026, 12, 18), 10) == D(2027, 1, 6)
    assert cal.add_working_days(D(2026, 12, 23), 1) == D(2026, 12, 28)
    assert cal.add_working_days(D(2026, 12, 24), 0) == D(2026, 12, 24)


def test_adding_working_days_across_easter_and_may_day(cal: WorkingCalendar) -> None:
    assert cal.add_working_days(D(2026, 4, 2), 1) == D(2026, 4, 7)  # Good Friday and Easter Monday off
    assert cal.add_working_days(D(2026, 4, 30), 1) == D(2026, 5, 4)  # May Day is a Friday
    assert cal.add_working_days(D(2026, 5, 7), 1) == D(2026, 5, 11)  # Victory Day, 8 May


def test_negative_shifts_and_working_days_before(cal: WorkingCalendar) -> None:
    assert cal.add_working_days(D(2026, 4, 7), -1) == D(2026, 4, 2)
    assert cal.working_days_before(D(2027, 1, 4), 1) == D(2026, 12, 31)
    assert cal.working_days_before(D(2027, 1, 6), 10) == D(2026, 12, 18)
    # From a holiday itself, counting starts at the day before.
    assert cal.working_days_before(D(2026, 12, 25), 1) == D(2026, 12, 23)
    with pytest.raises(ValueError, match="n >= 0"):
        cal.working_days_before(D(2026, 1, 5), -1)


def test_extra_holidays_and_the_shift_limit() -> None:
    cal = WorkingCalendar(extra_holidays=[D(2026, 12, 31)])
    assert not cal.is_working_day(D(2026, 12, 31)) and cal.holiday_name(D(2026, 12, 31)) == "extra holiday"
    assert cal.add_working_days(D(2026, 12, 30), 1) == D(2027, 1, 4)
    with pytest.raises(ValueError, match="exceeds the limit"):
        cal.add_working_days(D(2026, 1, 1), WORKING_DAYS_SHIFT_MAX + 1)
