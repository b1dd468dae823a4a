"""The pure arithmetic of advances (gateway/billing/advances/plan.py), worked by hand."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import msgspec
import pytest

from gateway.billing.advances import plan
from gateway.billing.prices import default_list, load_price_list
from gateway.errors import InvalidField
from gateway.process.calendar import WorkingCalendar
from schemas.billing.settlement import Consumption
from tests.billing.invoices.support import line, settle
from tests.billing.quote.support import PRICES


@pytest.mark.parametrize(("total", "count", "expected"), [
    ("18944.00", 12, "1579"),   # 1578.67 rounded up
    ("18944.00", 4, "4736"),    # exact: no rounding
    ("18944.00", 2, "9472"),
    ("12000.01", 12, "1001"),   # a haléř over 1000 a month is a crown more
    ("0.00", 12, "0"),
])
def test_instalments_are_the_year_divided_and_rounded_up_to_whole_crowns(
    total: str, count: int, expected: str
) -> None:
    amount = plan.instalment_amount(Decimal(total), count)
    assert amount == Decimal(expected)
    assert amount * count >= Decimal(total) > (amount - 1) * count


def test_a_negative_year_is_refused() -> None:
    with pytest.raises(InvalidField) as caught:
        plan.instalment_amount(Decimal("-1"), 12)
    assert caught.value.field == "annual_total"


def test_periods_monthly_and_quarterly_cover_twelve_months() -> None:
    start = dt.date(2026, 12, 1)
    monthly = plan.instalment_periods(start, 12)
    assert monthly[0] == (dt.date(2026, 12, 1), dt.date(2026, 12, 31))
    assert monthly[2] == (dt.date(2027, 2, 1), dt.date(2027, 2, 28))
    assert monthly[-1] == (dt.date(2027, 11, 1), dt.date(2027, 11, 30))
    quarterly = plan.instalment_periods(start, 4)
    assert quarterly == [
        (dt.date(2026, 12, 1), dt.date(2027, 2, 28)), (dt.date(2027, 3, 1), dt.date(2027, 5, 31)),
        (dt.date(2027, 6, 1), dt.date(2027, 8, 31)), (dt.date(2027, 9, 1), dt.date(2027, 11, 30)),
    ]


def test_due_dates_are_the_15th_or_the_next_working_day() -> None:
    calendar = WorkingCalendar()
    assert plan.due_date(dt.date(2027, 1, 1), calendar) == dt.date(2027, 1, 15)  # Friday
    assert plan.due_date(dt.date(2027, 5, 1), calendar) == dt.date(2027, 5, 17)  # Saturday → Monday
    assert plan.due_date(dt.date(2027, 8, 1), calendar) == dt.date(2027, 8, 16)  # Sunday → Monday


@pytest.mark.parametrize(("amount", "base", "vat"), [
    ("3000.00", "2479.34", "520.66"),  # docs/invoices.md's tax document: 3000 / 1.21 = 2479.338…
    ("1579", "1304.96", "274.04"),     # 1304.9587 half-up
    ("0.01", "0.01", "0.00"),
])
def test_received_vat_is_split_from_the_top_and_adds_up(amount: str, base: str, vat: str) -> None:
    assert plan.received_vat(Decimal(amount), Decimal("21")) == (Decimal(base), Decimal(vat))
    assert Decimal(base) + Decimal(vat) == Decimal(amount)


def test_the_priced_year_is_moved_back_into_the_price_list() -> None:
    prices = load_price_list(default_list(PRICES))  # sample-2026: 2026-01-01 … 2026-12-31
    assert plan.priced_window(dt.date(2026, 1, 1), prices) == (dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    assert plan.priced_window(dt.date(2026, 12, 1), prices) == (dt.date(2026, 1, 1), dt.date(2026, 12, 31))


def test_technical_consumption_single_two_rate_and_gas() -> None:
    assert plan.technical_consumption("electricity", Decimal("2100"), "D02d", "single") == Consumption(
        mwh=Decimal("2.100"))
    # D25d: 35 % in NT (8 hours); 3.333 × 0.35 = 1.16655 → 1.167.
    assert plan.technical_consumption("electricity", Decimal("3333"), "D25d", "vt_nt") == Consumption(
        vt_mwh=Decimal("2.166"), nt_mwh=Decimal("1.167"))
    assert plan.technical_consumption("gas", Decimal("12000.4"), None, "single") == Consumption(
        kwh=Decimal("12000"))
    with pytest.raises(InvalidField) as caught:
        plan.technical_consumption("electricity", None, "D02d", "single")
    assert caught.value.field == "annual_consumption_kwh"


#: The SAMPLE list's TDD weights (rules/prices/sample-2026/list.toml), each set summing to 1.000.
ELECTRICITY_TDD = [Decimal(f"0.{w:03}") for w in (112, 98, 94, 80, 70, 63, 64, 66, 71, 85, 95, 102)]
GAS_TDD = [Decimal(f"0.{w:03}") for w in (175, 150, 125, 80, 40, 20, 15, 15, 30, 75, 120, 155)]


def test_the_sample_weights_are_the_lists() -> None:
    tdd = load_price_list(default_list(PRICES)).meta.tdd
    assert (tdd.electricity, tdd.gas) == (ELECTRICITY_TDD, GAS_TDD)


def test_settled_consumption_is_scaled_to_a_year_by_the_tdd_weights() -> None:
    item = line("COMMODITY", "Silová elektřina", "1.000", "MWh", "2690.00")
    half_year = msgspec.structs.replace(item, period_to=dt.date(2026, 6, 30))
    # January … June weigh 0.517 of the year: 1.000 / 0.517 = 1.93424 → 1.934 MWh (by days: 2.017).
    assert plan.settled_consumption("electricity", settle([half_year]), ELECTRICITY_TDD) == Consumption(
        mwh=Decimal("1.934"))
    short = msgspec.structs.replace(item, period_to=dt.date(2026, 1, 10))
    assert plan.settled_consumption("electricity", settle([short]), ELECTRICITY_TDD) is None


def test_a_summers_gas_is_a_small_share_of_its_year() -> None:
    item = line("COMMODITY", "Zemní plyn", "5.300", "MWh", "1450.00")
    summer = msgspec.structs.replace(item, period_from=dt.date(2026, 6, 1), period_to=dt.date(2026, 8, 31))
    # June … August weigh 0.020 + 0.015 + 0.015 = 0.050: 5.300 / 0.050 = 106 MWh (by days 92 of 365: 21.03).
    assert plan.settled_consumption("gas", settle([summer]), GAS_TDD) == Consumption(kwh=Decimal("106000"))
    # Part months weigh their days: 16 January … 15 July = 16/31 × 0.175 + 0.415 + 15/31 × 0.015
    # = 0.512580…; 10.000 / 0.512580… = 19.5091 → 19.509 MWh.
    winter = msgspec.structs.replace(item, quantity=Decimal("10.000"), period_from=dt.date(2026, 1, 16),
                                     period_to=dt.date(2026, 7, 15))
    assert plan.settled_consumption("gas", settle([winter]), GAS_TDD) == Consumption(kwh=Decimal("19509"))


def test_a_product_is_found_by_code_or_by_its_name() -> None:
    prices = load_price_list(default_list(PRICES))
    assert plan.product_code(prices, "electricity", "E-STANDARD") == "E-STANDARD"
    assert plan.product_code(prices, "electricity", "elektrina  standard") == "E-STANDARD"
    with pytest.raises(InvalidField) as caught:
        plan.product_code(prices, "gas", "E-STANDARD")
    assert (caught.value.field, caught.value.value) == ("product", "E-STANDARD")
