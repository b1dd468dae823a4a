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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Final

#: Consumption in MWh is kept to whole kWh.
MWH_STEP: Final = Decimal("0.001")
#: Months of a prorated monthly fee: 4 places, so a day is at least 1/31 ≈ 0.0323 month.
MONTHS_STEP: Final = Decimal("0.0001")
ONE_DAY: Final = dt.timedelta(days=1)


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
    ends = [day - ONE_DAY for day in bounds[1:]] + [period_to]
    pieces = [Piece(start, end) for start, end in zip(bounds, ends, strict=False)]
    assert sum(piece.days for piece in pieces) == (period_to - period_from).days + 1
    return pieces


def round_fraction(value: Fraction, step: Decimal) -> Decimal:
    """``value`` rounded half-up (away from zero on a tie) to a multiple of ``step``, exactly."""
    units = value / Fraction(step)
    magnitude = abs(units)
    whole = int(magnitude + Fraction(1, 2))  # int() floors a non-negative Fraction
    return (Decimal(whole if units >= 0 else -whole) * step).quantize(step)


def months(piece: Piece) -> Decimal:
    """The piece's share of its calendar month, anchored at the month (see the module docstring)."""
    assert piece.start.month == piece.end.month and piece.start.year == piece.end.year
    length = days_in_month(piece.start)
    end = round_fraction(Fraction(piece.end.day, length), MONTHS_STEP)
    begin = round_fraction(Fraction(piece.start.day - 1, length), MONTHS_STEP)
    return end - begin


def weights(pieces: Sequence[Piece], tdd: Sequence[Decimal] | None) -> list[Fraction]:
    """Each piece's weight: its days, or with ``tdd`` (12 monthly weights) days × weight ÷ month's days."""
    if tdd is None:
        return [Fraction(piece.days) for piece in pieces]
    return [
        Fraction(piece.days) * Fraction(tdd[piece.start.month - 1]) / days_in_month(piece.start)
        for piece in pieces
    ]


def allocate(total: Decimal, shares: Sequence[Fraction]) -> list[Decimal]:
    """``total`` shared in proportion to ``shares`` by cumulative rounding to ``MWH_STEP``; sums exactly."""
    assert total >= 0 and total == total.quantize(MWH_STEP)
    whole = sum(shares, Fraction(0))
    assert whole > 0
    exact, running, previous = Fraction(total), Fraction(0), Decimal(0)
    quantities = []
    for share in shares:
        running += share
        reached = round_fraction(exact * running / whole, MWH_STEP)
        quantities.append(reached - previous)
        previous = reached
    assert previous == total
    return quantities


def half_up(value: Decimal, step: Decimal) -> Decimal:
    return value.quantize(step, rounding=ROUND_HALF_UP)
