"""An OPM's consumption for a period, with its plausibility findings: ``consumption_of``.

One read of the OPM's states (the period, the year before it for the jump check, and the states around
both), then pure computation (``compute``, ``plausibility``). The previous year's consumption is computed the
same way; when it is incomplete, no jump is judged.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.billing.readings import timeline as tl
from gateway.billing.readings.compute import NEAREST_STATE_DAYS_MAX, consumption, register_consumption
from gateway.billing.readings.plausibility import findings
from gateway.errors import InvalidField
from gateway.readings.estimates import ESTIMATE_REPLACED_WITHIN_DAYS
from schemas.billing.readings import Consumption, RegisterConsumption

#: The previous year a jump is judged against: the days before the period.
PREVIOUS_YEAR_DAYS: Final = 365
#: Longest period asked for (a settlement covers a year, a final bill after a long dispute a few).
PERIOD_DAYS_MAX: Final = 5 * 366
_SLACK: Final = dt.timedelta(days=NEAREST_STATE_DAYS_MAX + 1)
_ONE_DAY: Final = dt.timedelta(days=1)
#: ``near``'s answers kept (a mass run bills one or a few periods; each made once, not once a bill).
NEARS_CACHED_MAX: Final = 64
_nears: Final[dict[tuple[dt.date, dt.date], tl.Near]] = {}


async def consumption_of(
    conn: AsyncConnection, code: str, period_from: dt.date, period_to: dt.date
) -> Consumption:
    """Consumption of OPM ``code`` per register from ``period_from`` to ``period_to`` (inclusive)."""
    if period_to < period_from:
        raise InvalidField("period_to", period_to.isoformat(), f"is before period_from {period_from}")
    if (period_to - period_from).days >= PERIOD_DAYS_MAX:
        raise InvalidField("period_to", period_to.isoformat(), f"is more than {PERIOD_DAYS_MAX} days on")
    timeline = await tl.load(conn, code, *reading_window(period_from, period_to))
    return period_consumption(timeline, period_from, period_to)


def reading_window(period_from: dt.date, period_to: dt.date) -> tuple[dt.date, dt.date]:
    """The days whose readings a period's consumption uses: the period and the year before it, with the
    slack of the nearest states around both."""
    return period_from - dt.timedelta(days=PREVIOUS_YEAR_DAYS) - _SLACK, period_to + _SLACK


def near(period_from: dt.date, period_to: dt.date) -> tl.Near:
    """The days ``consumption_and_history`` asks a timeline for (the bounds of the period and of the year
    before: the end of the day before each first day, and each last day) and how far around them a state can
    matter: the nearest state is taken within ``NEAREST_STATE_DAYS_MAX``, and an estimate there gives way to
    a reading up to ``ESTIMATE_REPLACED_WITHIN_DAYS`` from it."""
    known = _nears.get((period_from, period_to))
    if known is None:
        if len(_nears) >= NEARS_CACHED_MAX:
            _nears.clear()
        year_from = period_from - dt.timedelta(days=PREVIOUS_YEAR_DAYS)
        days = (period_from - _ONE_DAY, period_to, year_from - _ONE_DAY)
        known = _nears[(period_from, period_to)] = tl.near_days(
            days, NEAREST_STATE_DAYS_MAX + ESTIMATE_REPLACED_WITHIN_DAYS)
    return known


def period_consumption(timeline: tl.Timeline, period_from: dt.date, period_to: dt.date) -> Consumption:
    """The consumption and its findings from a timeline loaded for the period and the year before."""
    return consumption_and_history(timeline, period_from, period_to)[0]


def consumption_and_history(
    timeline: tl.Timeline, period_from: dt.date, period_to: dt.date
) -> tuple[Consumption, tuple[RegisterConsumption, ...]]:
    """``period_consumption`` and, per register in its order, the year before the period (which its
    findings judge a jump against; a bill's post-checks compare with it too)."""
    registers = consumption(timeline, period_from, period_to)
    year_from = period_from - dt.timedelta(days=PREVIOUS_YEAR_DAYS)
    year_to = period_from - dt.timedelta(days=1)
    history = tuple(register_consumption(timeline, used.register, year_from, year_to) for used in registers)
    previous = {used.register: year for used, year in zip(registers, history, strict=True)}
    found = Consumption(
        opm=timeline.opm, period_from=period_from, period_to=period_to, registers=registers,
        findings=findings(timeline.opm, period_from, period_to, registers, previous),
    )
    return found, history
