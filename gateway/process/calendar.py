"""Working days in the Czech Republic: weekdays that are not public holidays.

Deadlines in the energy market ("the 10th working day before the switch date") count these days. The
calendar is injected like the clock, so tests and special cases (an extra bank holiday declared by the
government) use their own instance instead of patching a global.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from zoneinfo import ZoneInfo

import holidays

#: Local time of the market and of every cut-off in the rules.
PRAGUE = ZoneInfo("Europe/Prague")
#: Working days one shift may span; a rule asking for more is a typo, not a deadline (about 8 years).
WORKING_DAYS_SHIFT_MAX = 2_000
SATURDAY = 5
#: Shifts remembered by ``add_working_days`` (every timer armed on one day asks the same question).
SHIFTS_CACHED_MAX = 10_000


class WorkingCalendar:
    def __init__(self, *, extra_holidays: Iterable[dt.date] = (), country: str = "CZ") -> None:
        # ``holidays`` fills in years lazily on lookup, so one instance serves any year.
        self._holidays = holidays.country_holidays(country)
        self._extra = frozenset(extra_holidays)
        self._shifts: dict[tuple[dt.date, int], dt.date] = {}

    def is_working_day(self, day: dt.date) -> bool:
        return day.weekday() < SATURDAY and day not in self._extra and day not in self._holidays

    def holiday_name(self, day: dt.date) -> str | None:
        name = self._holidays.get(day)
        return str(name) if name is not None else ("extra holiday" if day in self._extra else None)

    def add_working_days(self, day: dt.date, n: int) -> dt.date:
        """The ``n``-th working day after ``day`` (before it when ``n`` is negative); ``day`` itself for 0.

        ``day`` need not be a working day: one working day after Saturday is Monday (if Monday works).
        """
        if abs(n) > WORKING_DAYS_SHIFT_MAX:
            raise ValueError(f"shift of {n} working days exceeds the limit of {WORKING_DAYS_SHIFT_MAX}")
        found = self._shifts.get((day, n))
        if found is None:
            found = self._shift(day, n)
            if len(self._shifts) >= SHIFTS_CACHED_MAX:
                self._shifts.clear()
            self._shifts[(day, n)] = found
        return found

    def _shift(self, day: dt.date, n: int) -> dt.date:
        step = dt.timedelta(days=1 if n > 0 else -1)
        remaining = abs(n)
        while remaining:
            day += step
            if self.is_working_day(day):
                remaining -= 1
        return day

    def working_days_before(self, day: dt.date, n: int) -> dt.date:
        """The ``n``-th working day before ``day``: "10 working days before the switch date"."""
        if n < 0:
            raise ValueError(f"working_days_before needs n >= 0, got {n}")
        return self.add_working_days(day, -n)

    def local_date(self, instant: dt.datetime) -> dt.date:
        """The Prague calendar date of an aware instant."""
        assert instant.tzinfo is not None, "an aware datetime is needed"
        return instant.astimezone(PRAGUE).date()
