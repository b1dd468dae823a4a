"""Gas read in m³ converted to kWh with the distribution area's calorific value of each month.

The calorific values (spalné teplo, kWh/m³) are data of the price list: ``calorific`` in the gas DSO's
``dso-<CODE>.toml``, one value per month (docs/billing.md). A period's m³ are shared to its months by the
same weights as the product shares consumption among pieces (days, or the TDD weight of the month ÷ its
days per day), each month's share converted with that month's value and the OPM's conversion factor:

    kWh = m³ × factor × Σ_months (w_month × value_month) / Σ_months w_month,   half-up to whole kWh, once.

The sum is computed exactly (fractions) and rounded once, so a period whose months share one value gives
exactly ``m³ × factor × value`` rounded, as a single calorific value does.

The OPM's technical data may change inside the period (a new conversion factor after a regulator was
replaced, a corrected calorific area): ``gas_kwh_parts`` cuts the months at each change as well, and each
piece weighs its month's value of its own area with its own factor:

    kWh = m³ × Σ_pieces (w_piece × factor_piece × value_piece) / Σ_pieces w_piece,   rounded once.

Weights add up (days, or days × the month's TDD weight per day), so a cut between pieces of one factor and
one area changes nothing: one part gives exactly what ``gas_kwh`` gives.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
from collections.abc import Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Final

from gateway.billing.split import cut, weights

#: Periods (with their weights) whose month weights are remembered: a mass run bills a few periods.
PERIODS_CACHED_MAX: Final = 256


def month_weights(
    period_from: dt.date, period_to: dt.date, tdd: Sequence[Decimal] | None,
) -> tuple[tuple[dt.date, int], ...]:
    """(first day of the month, the period's weight in it) for each month of the period."""
    return _month_weights(period_from, period_to, None if tdd is None else tuple(tdd))


@functools.lru_cache(maxsize=PERIODS_CACHED_MAX)
def _month_weights(
    period_from: dt.date, period_to: dt.date, tdd: tuple[Decimal, ...] | None,
) -> tuple[tuple[dt.date, int], ...]:
    pieces = cut(period_from, period_to, ())
    shares = weights(pieces, tdd)
    return tuple((piece.start.replace(day=1), share) for piece, share in zip(pieces, shares, strict=True))


def missing_months(
    period_from: dt.date, period_to: dt.date, values: Mapping[dt.date, Decimal],
) -> list[dt.date]:
    """The months of the period without a calorific value (first days)."""
    return [month for month, _ in month_weights(period_from, period_to, None) if month not in values]


def gas_kwh(
    m3: Decimal, factor: Decimal, values: Mapping[dt.date, Decimal], period: tuple[dt.date, dt.date],
    tdd: Sequence[Decimal] | None,
) -> Decimal:
    """Whole kWh of ``m3`` over ``period`` (module docstring); every month must have a value."""
    shares = month_weights(period[0], period[1], tdd)
    assert m3 >= 0 and factor > 0 and all(month in values for month, _ in shares)
    average = _average(shares, tuple(values[month] for month, _ in shares))
    m3_top, m3_bottom = m3.as_integer_ratio()
    factor_top, factor_bottom = factor.as_integer_ratio()
    top = m3_top * factor_top * average.numerator
    bottom = m3_bottom * factor_bottom * average.denominator
    return Decimal((2 * top + bottom) // (2 * bottom))  # half-up: the value is not negative


@functools.lru_cache(maxsize=PERIODS_CACHED_MAX)
def _average(shares: tuple[tuple[dt.date, int], ...], values: tuple[Decimal, ...]) -> Fraction:
    """The calorific value averaged over the months by their weights, exactly (the same for every OPM of a
    distribution area and period)."""
    weighted = sum((share * Fraction(value) for (_, share), value in zip(shares, values, strict=True)),
                   Fraction(0))
    return weighted / sum(share for _, share in shares)


class GasPart:
    """The conversion data in force from ``start``: the meter's ``factor`` and its area's monthly calorific
    ``values`` (first day of a month → kWh/m³)."""

    # A plain class, not a dataclass: ``bill_inputs.BillInputs`` says why.
    def __init__(self, start: dt.date, factor: Decimal, values: Mapping[dt.date, Decimal]) -> None:
        self.start: Final = start
        self.factor: Final = factor
        self.values: Final = values


def gas_kwh_parts(
    m3: Decimal, parts: Sequence[GasPart], period: tuple[dt.date, dt.date], tdd: Sequence[Decimal] | None,
) -> Decimal:
    """Whole kWh of ``m3`` over ``period`` converted part by part (module docstring); ``parts`` in date
    order, the first from the period's first day, every month of each part with a value."""
    assert parts and parts[0].start == period[0], "the first part starts with the period"
    assert all(before.start < after.start <= period[1] for before, after in itertools.pairwise(parts))
    if all(part.factor == parts[0].factor and part.values is parts[0].values for part in parts):
        return gas_kwh(m3, parts[0].factor, parts[0].values, period, tdd)
    pieces = cut(period[0], period[1], [part.start for part in parts[1:]])
    shares = weights(pieces, tdd)
    weighted, total, index = Fraction(0), 0, 0
    for piece, share in zip(pieces, shares, strict=True):
        while index + 1 < len(parts) and parts[index + 1].start <= piece.start:
            index += 1
        part = parts[index]
        weighted += share * Fraction(part.factor) * Fraction(part.values[piece.start.replace(day=1)])
        total += share
    assert m3 >= 0 and total > 0
    exact = Fraction(m3) * weighted / total
    return Decimal((2 * exact.numerator + exact.denominator) // (2 * exact.denominator))  # half-up, >= 0
