"""When a switch request must reach CS OTE, and when one that arrived counts as received.

Gas, standard switch (vyhláška 349/2015 Sb. § 110) [C]: no earlier than 3 months before the switch date and
at the latest by 10:00:00 of the 10th working day before it (the 5th when the customer leaves the supplier
of last resort); a request after 10:00 counts as received on the next working day. Electricity: the
statutory periods add up to about ten working days [C: ERÚ 2021]; we use the gas rule [I] until D1.4.2 says
otherwise. The ``24h`` profile models EU 2019/944 art. 12: the technical switch takes at most 24 hours
and is possible on any working day, so a request made by 10:00 of a working day switches the next day [I:
the Czech implementing rule is not yet published, ote-market.md §5]. The profile is a setting
(``switch_profile``), so the day the 24-hour rule applies is a configuration change, not a code change.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import Final

from gateway.process.calendar import PRAGUE, WorkingCalendar

#: [C] Gas § 110: the request's latest working day before the switch date, and the cut-off on that day.
LEAD_WORKING_DAYS: Final = 10
LEAD_WORKING_DAYS_FROM_LAST_RESORT: Final = 5
CUTOFF: Final = dt.time(10, 0)
#: [C] Gas § 110: no earlier than three months before the switch date.
EARLIEST_MONTHS: Final = 3
#: [I] 24-hour profile: working days between the request and the switch date.
LEAD_WORKING_DAYS_24H: Final = 1


class SwitchProfile(enum.StrEnum):
    standard = "standard"
    hours_24 = "24h"


@dataclass(frozen=True, slots=True)
class Window:
    """When a request for ``date_from`` may reach CS OTE: from ``opens_on`` to ``deadline`` inclusive."""

    date_from: dt.date
    opens_on: dt.date
    deadline: dt.datetime  # aware, Prague


def lead_working_days(profile: SwitchProfile, *, from_last_resort: bool = False) -> int:
    if profile is SwitchProfile.hours_24:
        return LEAD_WORKING_DAYS_24H
    return LEAD_WORKING_DAYS_FROM_LAST_RESORT if from_last_resort else LEAD_WORKING_DAYS


def _months_before(day: dt.date, months: int) -> dt.date:
    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    month += 1
    # The same day of the month, or the month's last day (31 May - 3 months = 28/29 February).
    for candidate in range(day.day, 27, -1):
        try:
            return dt.date(year, month, candidate)
        except ValueError:
            continue
    return dt.date(year, month, min(day.day, 28))


def request_window(
    date_from: dt.date, calendar: WorkingCalendar, profile: SwitchProfile, *, from_last_resort: bool = False
) -> Window:
    """The window of a request to switch on ``date_from``."""
    lead = lead_working_days(profile, from_last_resort=from_last_resort)
    last_day = calendar.working_days_before(date_from, lead)
    deadline = dt.datetime.combine(last_day, CUTOFF, tzinfo=PRAGUE)
    return Window(date_from, _months_before(date_from, EARLIEST_MONTHS), deadline)


def received_on(instant: dt.datetime, calendar: WorkingCalendar) -> dt.datetime:
    """When a request sent at ``instant`` counts as received: after 10:00 or on a day off, the next working
    day at 00:00 (it then meets only deadlines of that day's 10:00 cut-off or later)."""
    local = instant.astimezone(PRAGUE)
    day = local.date()
    if calendar.is_working_day(day) and local.time() <= CUTOFF:
        return local
    return dt.datetime.combine(calendar.add_working_days(day, 1), dt.time(0, 0), tzinfo=PRAGUE)


def is_in_time(instant: dt.datetime, window: Window, calendar: WorkingCalendar) -> bool:
    """Whether a request sent at ``instant`` meets ``window``: not too early, by the deadline."""
    counted = received_on(instant, calendar)
    return window.opens_on <= counted.date() and counted <= window.deadline


def earliest_date_from(
    instant: dt.datetime, calendar: WorkingCalendar, profile: SwitchProfile, *, from_last_resort: bool = False
) -> dt.date:
    """The first switch date a request sent at ``instant`` can still meet: what to offer when one is late."""
    counted = received_on(instant, calendar)
    lead = lead_working_days(profile, from_last_resort=from_last_resort)
    # The deadline's working day must be the counted day or later; from there, ``lead`` working days on.
    first = counted.date() if counted.time() <= CUTOFF else calendar.add_working_days(counted.date(), 1)
    candidate = calendar.add_working_days(first, lead)
    # Any day after ``lead`` working days works, including a weekend day: step back over days off while
    # their deadline is still met.
    previous = candidate - dt.timedelta(days=1)
    while previous > first and calendar.working_days_before(previous, lead) >= first:
        candidate, previous = previous, previous - dt.timedelta(days=1)
    return candidate
