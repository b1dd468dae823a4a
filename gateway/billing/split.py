"""Cutting a settlement period into pieces and sharing consumption and monthly fees among them.

A *piece* is a run of days within one calendar month and within one version of every price in play: the
period is cut at every price change and at every first of a month. Lines later add pieces up per component
and price version, so how a piece's quantities are rounded decides how exact the lines are:

* **Consumption** (MWh, 3 decimal places: whole kWh) is shared in proportion to weights, days by default or
  the TDD monthly weight ÷ days of the month per day. Rounding is *cumulative*: the piece ending on day ``e``
  gets ``round(total × W(..e) / W) − round(total × W(..s−1) / W)``, so the pieces add up exactly to the
  register's total, and cutting a piece in two at any day gives two pieces that add up exactly to it.
* **Months** of a monthly fee: a piece from day ``s`` to day ``e`` of a month with ``n`` days is
  ``round(e / n) − round((s − 1) / n)`` months at 4 decimal places. The anchor is the calendar month, not the
  period, so a whole month is exactly 1 and months add up exactly however a period is cut.
"""

from __future__ import annotations

import calendar
import datetime as dt
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Final

#: Consumption in MWh is kept to whole kWh.
MWH_STEP: Final = Decimal("0.001")
#: Months of a prorated monthly fee: 4 places, so a day is at least 1/31 ≈ 0.0323 month.
MONTHS_STEP: Final = Decimal("0.0001")
ONE_DAY: Final = dt.timedelta(days=1)
#: A multiple of every month's length (28, 29, 30, 31 days): TDD weights per day stay whole numbers.
MONTH_DAYS_MULTIPLE: Final = 28 * 29 * 30 * 31


@dataclass(frozen=True)
class Piece:
    start: dt.date
    end: dt.date  # inclusive

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def days_in_month(day: dt.date) -> int:
    return calendar.monthrange(day.year, day.month)[1]


def cut(period_from: dt.date, period_to: dt.date, changes: Iterable[dt.date]) -> list[Piece]:
    """The period cut before every date of ``changes`` inside it and at every first of a month."""
    assert period_from <= period_to
    starts = {day for day in changes if period_from < day <= period_to}
    month = dt.date(period_from.year, period_from.month, 1)
    while month <= period_to:
        if month > period_from:
            starts.add(month)
        month = (month + dt.timedelta(days=32)).replace(day=1)
    bounds = [period_from, *sorted(starts)]
    pieces = [Piece(start, end) for start, end in zip(bounds, part_ends(bounds, period_to), strict=True)]
    assert sum(piece.days for piece in pieces) == (period_to - period_from).days + 1
    return pieces


def part_ends(starts: Sequence[dt.date], period_to: dt.date) -> list[dt.date]:
    """Each part's last day, the parts starting on ``starts`` (in order): the day before the next part
    starts, ``period_to`` for the last."""
    return [start - ONE_DAY for start in starts[1:]] + [period_to]


def months(piece: Piece) -> Decimal:
    """The piece's share of its calendar month, anchored at the month (see the module docstring)."""
    assert piece.start.month == piece.end.month and piece.start.year == piece.end.year
    length = days_in_month(piece.start)
    return _month_share(piece.end.day, length) - _month_share(piece.start.day - 1, length)


def _month_share(day: int, length: int) -> Decimal:
    """``day / length`` half-up to ``MONTHS_STEP``, in integers: the hot path of every fee line."""
    units = int(1 / MONTHS_STEP)
    return Decimal((2 * day * units + length) // (2 * length)).scaleb(-4).quantize(MONTHS_STEP)


def weights(pieces: Sequence[Piece], tdd: Sequence[Decimal] | None) -> list[int]:
    """Each piece's weight as an integer: its days, or with ``tdd`` (12 monthly weights) days × weight ÷ the
    month's days, scaled by a common factor (10^places × the months' common multiple) to stay exact."""
    if tdd is None:
        return [piece.days for piece in pieces]
    places = max(-_exponent(weight) for weight in tdd)
    units = [int(weight.scaleb(places)) for weight in tdd]
    assert all(Decimal(unit).scaleb(-places) == weight for unit, weight in zip(units, tdd, strict=True))
    return [
        piece.days * units[piece.start.month - 1] * (MONTH_DAYS_MULTIPLE // days_in_month(piece.start))
        for piece in pieces
    ]


def _exponent(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    return min(exponent, 0)


def allocate(total: Decimal, shares: Sequence[int]) -> list[Decimal]:
    """``total`` shared in proportion to ``shares`` by cumulative rounding to ``MWH_STEP``; sums exactly."""
    running = cumulative_kwh(total, shares)
    return [
        Decimal(after - before).scaleb(-3).quantize(MWH_STEP) for before, after in itertools.pairwise(running)
    ]


def cumulative_kwh(total: Decimal, shares: Sequence[int]) -> list[int]:
    """Whole kWh of ``total`` (MWh) up to each piece: ``[0, round(kwh × S₁ / S), …, kwh]`` where ``Sᵢ`` is
    the sum of the first ``i`` shares; a piece's share is the difference of two neighbours."""
    assert total >= 0 and total == total.quantize(MWH_STEP)
    kwh, whole = int(total.scaleb(3)), sum(shares)
    assert whole > 0
    running, reached = 0, [0]
    for share in shares:
        running += share
        reached.append((2 * kwh * running + whole) // (2 * whole))  # half-up of kwh × running / whole
    assert reached[-1] == kwh
    return reached


def half_up(value: Decimal, step: Decimal) -> Decimal:
    # The rounding passed by position: decimal parses keywords at a third of the call's cost.
    return value.quantize(step, ROUND_HALF_UP)


def bill_separately(period_from: dt.date, change: dt.date, period_to: dt.date) -> str:
    """What a refusal to bill across ``change`` tells the clerk: the two periods to bill instead."""
    return f"bill {period_from} … {change - ONE_DAY} and {change} … {period_to} separately"
