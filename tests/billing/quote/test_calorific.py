"""``calorific.gas_kwh`` against its formula computed plainly with fractions (module docstring of
``gateway.billing.calorific``): m³ × factor × Σ(w × value) / Σ w, half-up to whole kWh, once."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.billing.calorific import gas_kwh
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
