"""Gas read in m³ converted to kWh with the distribution area's calorific value of each month.

The calorific values (spalné teplo, kWh/m³) are data of the price list: ``calorific`` in the gas DSO's
``dso-<CODE>.toml``, one value per month (docs/billing.md). A period's m³ are shared to its months by the
same weights as the product shares consumption among pieces (days, or the TDD weight of the month ÷ its
days per day), each month's share converted with that month's value and the OPM's conversion factor:

    kWh = m³ × factor × Σ_months (w_month × value_month) / Σ_months w_month,   half-up to whole kWh, once.

The sum is computed exactly (fractions) and rounded once, so a period whose months share one value gives
exactly ``m³ × factor × value`` rounded, as a single calorific value does.
"""

from __future__ import annotations

import datetime as dt
import functools
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
