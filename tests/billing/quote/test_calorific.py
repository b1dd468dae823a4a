"""``calorific.gas_kwh`` against its formula computed plainly with fractions (module docstring of
``gateway.billing.calorific``): m³ × factor × Σ(w × value) / Σ w, half-up to whole kWh, once."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.billing.calorific import GasPart, gas_kwh, gas_kwh_parts
from gateway.billing.split import cut, weights

MONTHS = [dt.date(2026, month, 1) for month in range(1, 13)]
TDD = [Decimal(value) for value in ("0.16", "0.14", "0.12", "0.08", "0.05", "0.03", "0.02", "0.02", "0.04",
                                     "0.08", "0.12", "0.14")]


def _plain(m3: Decimal, factor: Decimal, values: dict[dt.date, Decimal], period: tuple[dt.date, dt.date],
           tdd: list[Decimal] | None) -> Decimal:
    pieces = cut(*period, ())
    shares = weights(pieces, tdd)
    weighted = sum((share * Fraction(values[piece.start.replace(day=1)])
                    for piece, share in zip(pieces, shares, strict=True)), Fraction(0))
    exact = Fraction(m3) * Fraction(factor) * weighted / sum(shares)
    return Decimal((exact + Fraction(1, 2)).__floor__())


@settings(max_examples=300, deadline=None)
@given(
    st.dates(dt.date(2026, 1, 1), dt.date(2026, 12, 31)), st.integers(0, 364),
    st.decimals(0, 100_000, places=3), st.decimals("0.9", "1.1", places=4),
    st.lists(st.decimals("9.5", "11.5", places=3), min_size=12, max_size=12), st.booleans(),
)
def test_gas_kwh_is_its_formula(
    start: dt.date, days: int, m3: Decimal, factor: Decimal, values: list[Decimal], by_tdd: bool
) -> None:
    end = min(start + dt.timedelta(days=days), dt.date(2026, 12, 31))
    by_month = dict(zip(MONTHS, values, strict=True))
    tdd = TDD if by_tdd else None
    assert gas_kwh(m3, factor, by_month, (start, end), tdd) == _plain(m3, factor, by_month, (start, end), tdd)


def test_one_value_for_every_month_is_the_single_value_rounded() -> None:
    values = dict.fromkeys(MONTHS, Decimal("10.55"))
    assert gas_kwh(Decimal("1000"), Decimal(1), values, (dt.date(2026, 3, 5), dt.date(2026, 9, 20)), TDD) == (
        Decimal(10550)
    )
    new_year = (dt.date(2026, 1, 1), dt.date(2026, 1, 1))
    assert gas_kwh(Decimal("0.047"), Decimal(1), values, new_year, None) == 0  # 0.496 kWh, half-up


def _plain_parts(m3: Decimal, parts: list[tuple[dt.date, Decimal, dict[dt.date, Decimal]]],
                 period: tuple[dt.date, dt.date], tdd: list[Decimal] | None) -> Decimal:
    """The parts' formula day by day: each day weighs 1 (or its month's TDD weight ÷ the month's days) ×
    the factor and the month's value of the part in force that day."""
    weighted, total = Fraction(0), Fraction(0)
    day = period[0]
    while day <= period[1]:
        _, factor, values = [part for part in parts if part[0] <= day][-1]
        month_days = ((day.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - day.replace(day=1)).days
        weight = Fraction(1) if tdd is None else Fraction(tdd[day.month - 1]) / month_days
        weighted += weight * Fraction(factor) * Fraction(values[day.replace(day=1)])
        total += weight
        day += dt.timedelta(days=1)
    exact = Fraction(m3) * weighted / total
    return Decimal((exact + Fraction(1, 2)).__floor__())


@settings(max_examples=200, deadline=None)
@given(
    st.dates(dt.date(2026, 1, 1), dt.date(2026, 10, 31)), st.integers(30, 400),
    st.decimals(0, 100_000, places=3),
    st.lists(st.tuples(st.integers(1, 200), st.decimals("0.85", "1.05", places=4), st.booleans()),
             min_size=0, max_size=3),
    st.lists(st.decimals("9.5", "11.5", places=3), min_size=12, max_size=12), st.booleans(),
)
def test_gas_kwh_parts_is_its_formula_day_by_day(
    start: dt.date, days: int, m3: Decimal, changes: list[tuple[int, Decimal, bool]], values: list[Decimal],
    by_tdd: bool,
) -> None:
    end = min(start + dt.timedelta(days=days), dt.date(2026, 12, 31))
    dso = dict(zip(MONTHS, values, strict=True))
    area = {month: value + Decimal("0.12") for month, value in dso.items()}
    parts = [GasPart(start, Decimal("0.9655"), dso)]
    for offset, factor, in_area in changes:
        day = parts[-1].start + dt.timedelta(days=offset)
        if day <= end:
            parts.append(GasPart(day, factor, area if in_area else dso))
    tdd = TDD if by_tdd else None
    plain = [(part.start, part.factor, dict(part.values)) for part in parts]
    assert gas_kwh_parts(m3, parts, (start, end), tdd) == _plain_parts(m3, plain, (start, end), tdd)


def test_cutting_a_part_of_one_factor_and_area_changes_nothing() -> None:
    values = dict(zip(MONTHS, (Decimal("10.58") - Decimal("0.01") * n for n in range(12)), strict=True))
    period = (dt.date(2026, 1, 10), dt.date(2026, 11, 20))
    whole = gas_kwh(Decimal("1234.567"), Decimal("0.9712"), values, period, TDD)
    # Copies of the values: the same numbers in another table take the parts' own path, not the shortcut.
    parts = [GasPart(period[0], Decimal("0.9712"), values),
             GasPart(dt.date(2026, 4, 17), Decimal("0.97120"), dict(values)),
             GasPart(dt.date(2026, 9, 1), Decimal("0.9712"), dict(values))]
    assert gas_kwh_parts(Decimal("1234.567"), parts, period, TDD) == whole
    assert gas_kwh_parts(Decimal("1234.567"), parts[:1], period, TDD) == whole
