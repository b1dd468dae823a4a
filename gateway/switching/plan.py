"""The plan of a switch request: when it may go to CS OTE, its deadline, and whether a contract signed now
is already too late for its date (then: the earliest date it could still have).

The periods are ``gateway.switching.deadlines``' (gas § 110 [C], electricity by analogy [I], the 24-hour
profile [I]). One case is added here: an electricity move-in (switch type R1, a newly connected OPM without
supplier) must be in CS OTE "by 10:00 on the last day before supply starts" [C: ote-market.md §5, CS OTE
changes for vyhláška 125/2021 Sb.]; we read "day" as working day [I], the stricter reading, because
CS OTE counts its other deadlines in working days.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

from gateway.process.calendar import PRAGUE, WorkingCalendar
from gateway.switching.deadlines import (
    LEAD_WORKING_DAYS_24H,
    SwitchProfile,
    Window,
    earliest_date_from,
    received_on,
    request_window,
)

#: [C] Electricity R1: the request by 10:00 of the (working, [I]) day before supply starts.
R1_LEAD_WORKING_DAYS: Final = 1
# R1's window is computed as the 24-hour profile's, whose lead is the same single working day.
assert R1_LEAD_WORKING_DAYS == LEAD_WORKING_DAYS_24H
#: [I] CS OTE answers a request once the losing supplier's objection window has closed: 10:00 of the 5th
#: working day before the date (the 3rd when leaving the supplier of last resort), as the OTE simulator
#: models it. Without an answer by 10:00 of the 2nd working day before, the back office should look.
ANSWER_CHECK_WORKING_DAYS_BEFORE: Final = 2
ANSWER_CHECK_TIME: Final = dt.time(10, 0)
#: [I] With a lead of one working day (24h profile, R1) the answer comes the day before: the check is at
#: the start of the switch date.
ANSWER_CHECK_TIME_SHORT_LEAD: Final = dt.time(0, 0)


@dataclass(frozen=True, slots=True)
class SwitchPlan:
    window: Window
    #: The lead rule applied: the configured profile, or ``24h`` for an electricity move-in (R1).
    lead_profile: SwitchProfile
    late: bool
    #: When to look if CS OTE has not answered the request (aware, Prague).
    answer_due: dt.datetime
    #: When late: the first switch date a request sent now can still meet.
    earliest_date_from: dt.date | None


def lead_profile(profile: SwitchProfile, commodity: str, start_reason: str) -> SwitchProfile:
    if commodity == "electricity" and start_reason == "move_in":
        return SwitchProfile.hours_24
    return profile


def plan(
    date_from: dt.date, commodity: str, start_reason: str, profile: SwitchProfile,
    calendar: WorkingCalendar, now: dt.datetime,
) -> SwitchPlan:
    """The window of a request for ``date_from``; late when a request sent ``now`` counts as received
    after its deadline (after 10:00, or on a day off, it counts from the next working day)."""
    assert now.tzinfo is not None, "now must be aware"
    lead = lead_profile(profile, commodity, start_reason)
    from_last_resort = start_reason == "from_last_resort"
    window = request_window(date_from, calendar, lead, from_last_resort=from_last_resort)
    late = received_on(now, calendar) > window.deadline
    earliest = earliest_date_from(now, calendar, lead, from_last_resort=from_last_resort) if late else None
    assert earliest is None or earliest > date_from, (earliest, date_from)
    return SwitchPlan(window, lead, late, _answer_due(date_from, lead, calendar), earliest)


def _answer_due(date_from: dt.date, lead: SwitchProfile, calendar: WorkingCalendar) -> dt.datetime:
    if lead is SwitchProfile.hours_24:
        return dt.datetime.combine(date_from, ANSWER_CHECK_TIME_SHORT_LEAD, tzinfo=PRAGUE)
    day = calendar.working_days_before(date_from, ANSWER_CHECK_WORKING_DAYS_BEFORE)
    return dt.datetime.combine(day, ANSWER_CHECK_TIME, tzinfo=PRAGUE)
