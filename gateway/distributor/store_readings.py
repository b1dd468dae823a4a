"""The report's readings from the reading store: the meter states this install took as DSO.

Only readings in force (not superseded, not duplicates) with source ``manual`` count: the readings entered
here (``gateway.billing.readings.record``: ``POST /api/opm/{code}/readings``, ``proud readings import``).
Never source ``ote``: those are the DSO data CS OTE sent us, and a DSO does not send CS OTE its data back.
Of the kinds, ``actual`` (our reader's) and ``customer`` (a self-reading we accepted) are reported;
``estimated`` is **not**: the store's estimates are billing's (history or a sample profile), and a month is
reported once, never corrected, so an estimate sent would stand for good. A month whose state is only an
estimate names it as a gap; the OPM stays unreported and a later run reports it once a reading replaces
the estimate.

States are placed at the end of a day, as in ``gateway.billing.readings.timeline`` (which this reuses):
a reading of day ``D`` is the state at the end of ``D``; master data's meter change on ``D`` gives the removed
meter's final and the new meter's initial state at ``D − 1``. For each meter counting in the month:

* electricity: the start state is the state at the end of the previous month (or the installation state of a
  meter installed in the month): the latest at most ``START_STATE_DAYS_MAX`` days before it, else the
  earliest at most that many days after. The state before wins so that one month's end state (its last
  state) is the next month's start and no day counts twice or is lost. The end state is the meter's last
  state in the month (its removal state when it left). One ``MeterPeriod`` per meter, ``date_from`` the day
  after the start state, ``date_to`` the day of the end state, consumption end − start per register (across
  a roll-over when master data knows the digits);
* gas: each gas day ``D`` of the month whose meter has states at the end of ``D`` and of ``D − 1`` gives
  the day's volume (their difference); see ``gas_days``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.billing.readings import timeline as tl
from gateway.billing.readings.compute import difference
from gateway.billing.readings.record import SOURCE_MANUAL
from gateway.distributor.readings import (
    MeterPeriod,
    OpmRef,
    PeriodReadings,
    ReadingCause,
    ReadingKind,
    RegisterPeriod,
)
from gateway.masterdata import tables as md
from gateway.month import Month
from gateway.readings import tables as rd
from schemas.readings import ReadingReason, Register

#: A state at most this many days from the end of the previous month stands for it: a reader is not at every
#: meter on the last day, but a week either side still is "the month's end", and a month's report must not
#: stretch into a neighbour's days (well below a month).
START_STATE_DAYS_MAX: Final = 7
#: The kinds a DSO reports: states it took (its reader's) or accepted (a customer's self-reading).
REPORTED_KINDS: Final = ("actual", "customer")
_ONE_DAY: Final = dt.timedelta(days=1)

assert 0 < START_STATE_DAYS_MAX < 28


@dataclass(frozen=True, slots=True)
class Loaded:
    """An OPM's timeline of the month (with the states around its start) and each store reading's reason."""

    timeline: tl.Timeline
    reasons: Mapping[int, ReadingReason]


def electricity_periods(loaded: Loaded, period: Month) -> PeriodReadings:
    """The month's reading of each meter we took states of."""
    gaps: list[str] = []
    periods = []
    for meter in counting(loaded.timeline, period):
        found = meter_period(loaded, meter, period, gaps)
        if found is not None:
            periods.append(found)
    return PeriodReadings(electricity=tuple(periods), gaps=tuple(gaps))


async def load(conn: AsyncConnection, opm: OpmRef, period: Month) -> Loaded:
    """Master data's meters (dates, digits, change states) and the store's manual states from
    ``START_STATE_DAYS_MAX`` days before the month to its end."""
    meter_rows = list(await conn.execute(sa.select(md.meter).where(md.meter.c.opm_id == opm.id)))
    meters = [tl.meter_info(row) for row in meter_rows]
    points = [point for row in meter_rows for point in tl.change_points(row)]
    since = period.first_day - _ONE_DAY - dt.timedelta(days=START_STATE_DAYS_MAX)
    reasons: dict[int, ReadingReason] = {}
    for row in await _manual_rows(conn, opm.code, since, period.last_day):
        reasons[row.id] = row.reason
        register: Register = row.register
        if row.end_state is not None:
            points.append(tl.Point(row.meter_id, register, row.date_to, row.end_state, row.kind, row.id))
        if row.start_state is not None:
            day = row.date_from - _ONE_DAY
            points.append(tl.Point(row.meter_id, register, day, row.start_state, row.kind, row.id, True))
    unit = tl.UNIT_OF_COMMODITY[opm.commodity]
    return Loaded(tl.build(opm.code, unit, meters, points, ()), reasons)


async def _manual_rows(conn: AsyncConnection, code: str, since: dt.date, until: dt.date) -> list[Any]:
    """Our readings in force touching ``since`` … ``until``; estimates too, to name them where they are left
    out (and so that the timeline drops those a reading replaced)."""
    r, g = rd.reading.c, rd.register.c
    query = sa.select(
        r.id, r.meter_id, r.date_from, r.date_to, r.kind, r.reason, g.register, g.start_state, g.end_state,
    ).join(rd.register, g.reading_id == r.id).where(
        r.opm == code, r.source == SOURCE_MANUAL, r.superseded_by.is_(None), r.status != "duplicate",
        r.date_to >= since, r.date_from <= until,
    )
    return list(await conn.execute(query))


def counting(timeline: tl.Timeline, period: Month) -> list[tl.MeterInfo]:
    """Master data's meters counting on some day of the month that the store has a state of near it."""
    return [
        meter for meter in timeline.meters
        if meter.installed_on is not None and meter.installed_on <= period.last_day
        and (meter.removed_on is None or meter.removed_on > period.first_day)
        and any(point.reading_id is not None
                for register in meter.digits for point in timeline.points_of(meter.serial, register))
    ]


def boundaries(meter: tl.MeterInfo, period: Month) -> tuple[dt.date, dt.date]:
    """The days whose end states bound the meter's part of the month: the end of the day before its first
    day counting and of its last."""
    assert meter.installed_on is not None, meter.serial
    first = max(period.first_day, meter.installed_on)
    last = period.last_day if meter.removed_on is None else min(period.last_day, meter.removed_on - _ONE_DAY)
    return first - _ONE_DAY, last


def reported_states(
    timeline: tl.Timeline, meter: tl.MeterInfo, register: Register
) -> dict[dt.date, tl.Point]:
    """The register's states by day, estimates left out."""
    return {
        point.day: point for point in timeline.points_of(meter.serial, register) if point.kind != "estimated"
    }


def estimates_named(timeline: tl.Timeline, meter: tl.MeterInfo, since: dt.date, until: dt.date) -> str | None:
    """A gap naming the meter's estimates in force between ``since`` and ``until``, or None."""
    found = sorted({
        (point.day, point.reading_id) for register in meter.digits
        for point in timeline.points_of(meter.serial, register)
        if point.kind == "estimated" and since <= point.day <= until
    })
    if not found:
        return None
    listed = ", ".join(f"{day} (reading {reading_id})" for day, reading_id in found)
    return (f"meter {meter.serial}: estimated states of {listed} are not reported: a DSO reports the "
            "states it took, and a month is sent once, so an estimate would never be corrected")


def meter_period(loaded: Loaded, meter: tl.MeterInfo, period: Month, gaps: list[str]) -> MeterPeriod | None:
    """One meter's electricity reading of its part of the month, or None with the reason added to ``gaps``."""
    timeline = loaded.timeline
    boundary, last = boundaries(meter, period)
    registers = sorted(meter.digits)
    by_register = {register: reported_states(timeline, meter, register) for register in registers}
    # A reading states every register of its meter; a day counts only where all of them have a state.
    days = sorted(set.intersection(*(set(states) for states in by_register.values())))
    estimates = estimates_named(timeline, meter, boundary - dt.timedelta(days=START_STATE_DAYS_MAX), last)
    if estimates is not None:
        gaps.append(estimates)
    start = start_day(days, boundary, last)
    end = next((day for day in reversed(days) if start is not None and start < day <= last), None)
    if start is None or end is None:
        missing = (
            f"state within {START_STATE_DAYS_MAX} days of the end of {boundary} to start from"
            if start is None else f"state after the start state of {start} up to {last}"
        )
        gaps.append(f"meter {meter.serial}: no {missing}")
        return None
    registers_out = []
    for register in registers:
        first, final = by_register[register][start], by_register[register][end]
        used, _ = difference(first.state, final.state, meter.digits.get(register))
        if used < 0:
            gaps.append(f"meter {meter.serial}: register {register} ends at {final.state} on {end}, "
                        f"below its start {first.state} on {start} (not a roll-over of its "
                        f"{meter.digits[register]} digits)")
            return None
        registers_out.append(RegisterPeriod(register.upper(), first.state, final.state, used))
    ends = (by_register[registers[0]][start], by_register[registers[0]][end])
    return MeterPeriod(
        meter_id=meter.serial, date_from=start + _ONE_DAY, date_to=end, kind=_kind(ends),
        cause=_cause(ends[1], loaded.reasons), registers=tuple(registers_out),
    )


def start_day(days: list[dt.date], boundary: dt.date, last: dt.date) -> dt.date | None:
    """The latest day at most ``START_STATE_DAYS_MAX`` before ``boundary`` (or on it), else the earliest at
    most that many after it (and before ``last``)."""
    tolerance = dt.timedelta(days=START_STATE_DAYS_MAX)
    before = [day for day in days if boundary - tolerance <= day <= boundary]
    if before:
        return before[-1]
    return next((day for day in days if boundary < day <= boundary + tolerance and day < last), None)


def _kind(ends: tuple[tl.Point, tl.Point]) -> ReadingKind:
    """A self-reading at either end makes the reading one; otherwise it was taken (or read at a change)."""
    return "customer" if any(point.kind == "customer" for point in ends) else "actual"


def _cause(end: tl.Point, reasons: Mapping[int, ReadingReason]) -> ReadingCause:
    """Why the meter was read: its end state's reading's reason, or the meter change that removed it."""
    if end.reading_id is None:
        assert end.kind == "removal", end
        return "meter_change"
    return reasons[end.reading_id]
