"""Consumption per register over a period, from a ``Timeline``: pure, no database.

For each meter counting in the period (master data's installation and removal dates) the register's
consumption is its state at the end of the meter's part of the period minus its state at the start (the end
of the day before): the states nearest those days, within ``NEAREST_STATE_DAYS_MAX``. A meter change in the
period gives two spans (the old meter up to its removal state, the new one from its installation state).

A state lower than the one before is a **roll-over** when the meter's register digits are known (master
data) and the wrapped consumption (end + 10^digits − start) is at most ``ROLLOVER_SHARE_MAX`` of the
register's range; otherwise the consumption stays negative, for the plausibility check to report.

A register without states (gas daily values) is summed from its readings inside the period. No state near a
boundary is a ``MissingReading`` in the result, an expected outcome (billing waits for the reading or orders
an estimate), not an error.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Final

from gateway.billing.readings.timeline import MeterInfo, Point, Timeline
from schemas.billing.readings import MeterSpan, MissingReading, RegisterConsumption
from schemas.readings import Register

#: A state at most this many days from a period's boundary stands for it (a periodic reading is taken on a
#: planned day ± some weeks); farther, the state is missing.
NEAREST_STATE_DAYS_MAX: Final = 45
#: A decrease is a roll-over only if the wrapped consumption is at most this share of the register's range
#: (10^digits): a meter does not go round more than half its range between two readings, a wrong state does.
ROLLOVER_SHARE_MAX: Final = Decimal("0.5")
_ONE_DAY: Final = dt.timedelta(days=1)
_NEAREST: Final = dt.timedelta(days=NEAREST_STATE_DAYS_MAX)

assert 0 < NEAREST_STATE_DAYS_MAX < 366
assert 0 < ROLLOVER_SHARE_MAX < 1


def consumption(timeline: Timeline, period_from: dt.date, period_to: dt.date) -> tuple[
    RegisterConsumption, ...
]:
    """Each register's consumption from ``period_from`` to ``period_to`` (inclusive)."""
    assert period_from <= period_to, (period_from, period_to)
    return tuple(
        register_consumption(timeline, register, period_from, period_to) for register in timeline.registers()
    )


def register_consumption(
    timeline: Timeline, register: Register, period_from: dt.date, period_to: dt.date
) -> RegisterConsumption:
    meters = [meter for meter in timeline.meters if _counts_in(meter, period_from, period_to)]
    with_states = [meter for meter in meters if timeline.has_states(meter.serial, register)]
    if not with_states and any((meter.serial, register) in timeline.intervals for meter in meters):
        return _summed(timeline, register, period_from, period_to)
    spans: list[MeterSpan] = []
    missing: list[MissingReading] = []
    for meter in meters:
        if register not in meter.digits and not timeline.has_states(meter.serial, register):
            continue  # this meter has no such register (a single-rate meter before a two-rate one)
        span = meter_span(timeline, meter, register, period_from, period_to)
        if isinstance(span, MeterSpan):
            spans.append(span)
        else:
            missing.extend(span)
    total = sum((span.consumption for span in spans), Decimal(0))
    days = sum((span.end.date - span.start.date).days for span in spans)
    return RegisterConsumption(
        register=register, consumption=total, unit=timeline.unit, days=days, spans=tuple(spans),
        missing=tuple(missing),
    )


def meter_span(
    timeline: Timeline, meter: MeterInfo, register: Register, period_from: dt.date, period_to: dt.date
) -> MeterSpan | list[MissingReading]:
    """One meter's consumption over its part of the period, or the states missing for it."""
    first_day = max(period_from, meter.installed_on or period_from)
    last_day = min(period_to, (meter.removed_on or period_to + _ONE_DAY) - _ONE_DAY)
    assert timeline.answers(first_day - _ONE_DAY) and timeline.answers(last_day), (first_day, last_day)
    points = timeline.points_of(meter.serial, register)
    start = nearest(points, first_day - _ONE_DAY, period_from, period_to)
    end = nearest(points, last_day, period_from, period_to)
    if start is None or end is None or end.day < start.day:
        return [
            MissingReading(meter=meter.serial, register=register, date=day)
            for day, point in ((first_day - _ONE_DAY, start), (last_day, end)) if point is None
        ] or [MissingReading(meter=meter.serial, register=register, date=last_day)]
    used, rolled = difference(start.state, end.state, meter.digits.get(register))
    return MeterSpan(
        meter=meter.serial, start=start.used(), end=end.used(), consumption=used, rolled_over=rolled
    )


def nearest(points: list[Point], day: dt.date, period_from: dt.date, period_to: dt.date) -> Point | None:
    """The state nearest ``day`` within ``NEAREST_STATE_DAYS_MAX``; of two as near, the one inside the
    period (its end of the day before ``period_from`` counts as inside), then the better kind."""
    # The points are in day order (``timeline.build``): the candidates are one run of them, from the first
    # on or after ``day − NEAREST_STATE_DAYS_MAX``. Searched here, not by ``bisect`` with a key function:
    # a mass run asks this some five times a bill, and the key's calls cost more than the search.
    low, high = 0, len(points)
    earliest = day - _NEAREST
    while low < high:
        middle = (low + high) // 2
        if points[middle].day < earliest:
            low = middle + 1
        else:
            high = middle
    latest = day + _NEAREST
    nearest_ones: list[Point] = []  # the nearest so far, in day order
    shortest = -1
    for index in range(low, len(points)):
        point = points[index]
        if point.day > latest:
            break
        distance = abs((point.day - day).days)
        if shortest < 0 or distance < shortest:
            nearest_ones, shortest = [point], distance
        elif distance == shortest:
            nearest_ones.append(point)
    if len(nearest_ones) <= 1:
        return nearest_ones[0] if nearest_ones else None
    # The tie-break (inside the period, then the better kind) is rarely needed.
    return min(nearest_ones, key=lambda point: (not inside(point.day, period_from, period_to), point.rank()))


def inside(day: dt.date, period_from: dt.date, period_to: dt.date) -> bool:
    return period_from - _ONE_DAY <= day <= period_to


def difference(start: Decimal, end: Decimal, digits: int | None) -> tuple[Decimal, bool]:
    """end − start, or the consumption across a roll-over (and True) when the register wrapped."""
    used = end - start
    if used >= 0 or digits is None:
        return used, False
    register_range = Decimal(10) ** digits
    wrapped = used + register_range
    if 0 <= wrapped <= register_range * ROLLOVER_SHARE_MAX:
        return wrapped, True
    return used, False


def _counts_in(meter: MeterInfo, period_from: dt.date, period_to: dt.date) -> bool:
    starts_before_end = meter.installed_on is None or meter.installed_on <= period_to
    ends_after_start = meter.removed_on is None or meter.removed_on > period_from
    return starts_before_end and ends_after_start


def _summed(
    timeline: Timeline, register: Register, period_from: dt.date, period_to: dt.date
) -> RegisterConsumption:
    """Readings that carry consumption only, added up where they lie inside the period."""
    found = [
        interval
        for meter in timeline.meters
        for interval in timeline.intervals.get((meter.serial, register), [])
        if period_from <= interval.first and interval.last <= period_to
    ]
    total = sum((interval.consumption for interval in found), Decimal(0))
    covered = sum((interval.last - interval.first).days + 1 for interval in found)
    missing: tuple[MissingReading, ...] = ()
    if covered < (period_to - period_from).days + 1:
        last = max((interval.last for interval in found), default=period_from - _ONE_DAY)
        meter = found[-1].meter if found else timeline.meters[0].serial
        missing = (MissingReading(meter=meter, register=register, date=last + _ONE_DAY),)
    return RegisterConsumption(
        register=register, consumption=total, unit=timeline.unit, days=covered,
        summed_readings=tuple(interval.reading_id for interval in found), missing=missing,
    )
