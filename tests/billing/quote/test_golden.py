"""Golden quotes with the SAMPLE prices, every line worked out by hand (the arithmetic is in the comments).

Quantities: consumption is shared by days (or TDD weight) with cumulative rounding to whole kWh; months of
a fee are the calendar month's share to 4 places. Amount = quantity × unit price, half-up to 0.01.
"""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import msgspec

from gateway.billing.quote import decode_quote, quote
from tests.billing.quote.support import PRICES, electricity, gas, rows, settle


def test_single_rate_year_with_a_product_price_change_and_rounding() -> None:
    settlement = settle(electricity())
    assert rows(settlement) == [
        # 2.100 MWh × 181/365 days = 1.04137 → 1.041; the rest, 1.059, after the change on 1 July.
        ("COMMODITY", "2026-01-01", "2026-06-30", "1.041", "MWh", "2690.00", "2800.29"),
        ("COMMODITY", "2026-07-01", "2026-12-31", "1.059", "MWh", "2490.00", "2636.91"),
        ("SUPPLY_FEE", "2026-01-01", "2026-06-30", "6.0000", "month", "129.00", "774.00"),
        ("SUPPLY_FEE", "2026-07-01", "2026-12-31", "6.0000", "month", "129.00", "774.00"),
        ("DISTRIBUTION", "2026-01-01", "2026-12-31", "2.100", "MWh", "2050.00", "4305.00"),
        ("BREAKER", "2026-01-01", "2026-12-31", "12.0000", "month", "240.00", "2880.00"),
        ("SYSTEM_SERVICES", "2026-01-01", "2026-12-31", "2.100", "MWh", "158.00", "331.80"),
        ("MARKET_OPERATOR", "2026-01-01", "2026-12-31", "12.0000", "month", "4.60", "55.20"),
        ("ELECTRICITY_TAX", "2026-01-01", "2026-12-31", "2.100", "MWh", "28.30", "59.43"),
        # POZE: 2.1 × 495 = 1039.50 beats 12 × 330 (3 × 25 A) = 3960.
        ("POZE", "2026-01-01", "2026-12-31", "2.100", "MWh", "495.00", "1039.50"),
        # 15656.13 + VAT 3287.79 (15656.13 × 0.21 = 3287.7873) = 18943.92 → 18944.
        ("ROUNDING", "2026-01-01", "2026-12-31", "1", "CZK", "0.08", "0.08"),
    ]
    assert [(str(v.rate), str(v.base), str(v.vat)) for v in settlement.vat] == [
        ("21", "15656.13", "3287.79"), ("0", "0.08", "0.00"),
    ]
    assert (settlement.total_base, settlement.total_vat) == (Decimal("15656.21"), Decimal("3287.79"))
    assert (settlement.total, settlement.balance) == (Decimal("18944.00"), Decimal("9944.00"))


def test_two_rate_partial_months_breaker_variant_of_poze() -> None:
    settlement = settle(electricity(
        period_from="2026-03-10", period_to="2026-05-20", product="E-FIX", advances_paid="0",
        opm={"dso": "PRE", "rate": "D25d", "breaker_phases": 1, "breaker_amps": 25},
        consumption={"vt_mwh": "0.800", "nt_mwh": "1.200"},
    ))
    # Months: March 1 − 9/31 (0.2903) = 0.7097, April 1, May 20/31 = 0.6452: 2.3549.
    assert rows(settlement) == [
        ("COMMODITY_VT", "2026-03-10", "2026-05-20", "0.800", "MWh", "2690.00", "2152.00"),
        ("COMMODITY_NT", "2026-03-10", "2026-05-20", "1.200", "MWh", "2290.00", "2748.00"),
        ("SUPPLY_FEE", "2026-03-10", "2026-05-20", "2.3549", "month", "99.00", "233.14"),  # 233.1351
        ("DISTRIBUTION_VT", "2026-03-10", "2026-05-20", "0.800", "MWh", "1620.00", "1296.00"),
        ("DISTRIBUTION_NT", "2026-03-10", "2026-05-20", "1.200", "MWh", "290.00", "348.00"),
        ("BREAKER", "2026-03-10", "2026-05-20", "2.3549", "month", "135.00", "317.91"),  # 317.9115
        ("SYSTEM_SERVICES", "2026-03-10", "2026-05-20", "2.000", "MWh", "158.00", "316.00"),
        ("MARKET_OPERATOR", "2026-03-10", "2026-05-20", "2.3549", "month", "4.60", "10.83"),  # 10.83254
        ("ELECTRICITY_TAX", "2026-03-10", "2026-05-20", "2.000", "MWh", "28.30", "56.60"),
        # POZE: 2.3549 × 110 (1 × 25 A) = 259.039 beats 2.0 × 495 = 990.
        ("POZE", "2026-03-10", "2026-05-20", "2.3549", "month", "110.00", "259.04"),
    ]
    assert settlement.total_base == Decimal("7737.52")
    assert settlement.total_vat == Decimal("1624.88")  # 1624.8792
    assert (settlement.total, settlement.balance) == (Decimal("9362.40"), Decimal("9362.40"))


def test_two_rate_across_a_product_and_a_regulated_price_change() -> None:
    settlement = settle(electricity(
        period_from="2026-06-01", period_to="2026-07-31", advances_paid="6000",
        opm={"dso": "EGD", "rate": "D25d", "breaker_phases": 3, "breaker_amps": 25},
        consumption={"vt_mwh": "0.610", "nt_mwh": "0.305"},
    ))
    # June has 30 of 61 days: VT 0.610 × 30/61 = 0.300, NT 0.305 × 30/61 = 0.150.
    assert rows(settlement) == [
        ("COMMODITY_VT", "2026-06-01", "2026-06-30", "0.300", "MWh", "2790.00", "837.00"),
        ("COMMODITY_VT", "2026-07-01", "2026-07-31", "0.310", "MWh", "2590.00", "802.90"),
        ("COMMODITY_NT", "2026-06-01", "2026-06-30", "0.150", "MWh", "2350.00", "352.50"),
        ("COMMODITY_NT", "2026-07-01", "2026-07-31", "0.155", "MWh", "2190.00", "339.45"),
        ("SUPPLY_FEE", "2026-06-01", "2026-06-30", "1.0000", "month", "129.00", "129.00"),
        ("SUPPLY_FEE", "2026-07-01", "2026-07-31", "1.0000", "month", "129.00", "129.00"),
        ("DISTRIBUTION_VT", "2026-06-01", "2026-06-30", "0.300", "MWh", "1990.00", "597.00"),
        ("DISTRIBUTION_VT", "2026-07-01", "2026-07-31", "0.310", "MWh", "2049.70", "635.41"),  # 635.407
        ("DISTRIBUTION_NT", "2026-06-01", "2026-06-30", "0.150", "MWh", "330.00", "49.50"),
        ("DISTRIBUTION_NT", "2026-07-01", "2026-07-31", "0.155", "MWh", "339.90", "52.68"),  # 52.6845
        ("BREAKER", "2026-06-01", "2026-06-30", "1.0000", "month", "345.00", "345.00"),
        ("BREAKER", "2026-07-01", "2026-07-31", "1.0000", "month", "355.35", "355.35"),
        ("SYSTEM_SERVICES", "2026-06-01", "2026-07-31", "0.915", "MWh", "158.00", "144.57"),
        ("MARKET_OPERATOR", "2026-06-01", "2026-07-31", "2.0000", "month", "4.60", "9.20"),
        ("ELECTRICITY_TAX", "2026-06-01", "2026-07-31", "0.915", "MWh", "28.30", "25.89"),  # 25.8945
        ("POZE", "2026-06-01", "2026-07-31", "0.915", "MWh", "495.00", "452.93"),  # 452.925 < 660
        # 5257.38 + VAT 1104.05 (1104.0498) = 6361.43 → 6361.
        ("ROUNDING", "2026-06-01", "2026-07-31", "1", "CZK", "-0.43", "-0.43"),
    ]
    assert (settlement.total, settlement.balance) == (Decimal("6361.00"), Decimal("361.00"))


def test_gas_in_kwh_with_the_gas_tax() -> None:
    settlement = settle(gas())
    assert rows(settlement) == [
        # 12.000 MWh × 273/365 = 8.97534 → 8.975 until the change on 1 October.
        ("COMMODITY", "2026-01-01", "2026-09-30", "8.975", "MWh", "1390.00", "12475.25"),
        ("COMMODITY", "2026-10-01", "2026-12-31", "3.025", "MWh", "1290.00", "3902.25"),
        ("SUPPLY_FEE", "2026-01-01", "2026-09-30", "9.0000", "month", "119.00", "1071.00"),
        ("SUPPLY_FEE", "2026-10-01", "2026-12-31", "3.0000", "month", "119.00", "357.00"),
        ("DISTRIBUTION", "2026-01-01", "2026-12-31", "12.000", "MWh", "620.00", "7440.00"),
        ("DISTRIBUTION_FEE", "2026-01-01", "2026-12-31", "12.0000", "month", "360.00", "4320.00"),
        ("MARKET_OPERATOR", "2026-01-01", "2026-12-31", "12.000", "MWh", "2.20", "26.40"),
        ("GAS_TAX", "2026-01-01", "2026-12-31", "12.000", "MWh", "30.60", "367.20"),
        # 29959.10 + VAT 6291.41 (6291.411) = 36250.51 → 36251 (half-up).
        ("ROUNDING", "2026-01-01", "2026-12-31", "1", "CZK", "0.49", "0.49"),
    ]
    assert settlement.total == Decimal("36251.00")


def test_gas_from_m3_readings_split_by_tdd_and_exempt_from_the_tax() -> None:
    settlement = settle(gas(
        period_from="2026-09-01", period_to="2026-11-30", product="G-PROFIL", gas_tax_exempt=True,
        opm={"dso": "GASNET", "band": "1.89-7.56"}, consumption=None, advances_paid="9000",
        readings=[{"register": "single", "date": "2026-09-01", "value": "1000.0"},
                  {"register": "single", "date": "2026-11-30", "value": "1300.0"},
                  {"register": "single", "date": "2026-10-15", "value": "1080.5"}],
        gas_conversion={"conversion_factor": "0.9823", "calorific_value_kwh_per_m3": "10.55"},
    ))
    # 300 m³ × 0.9823 × 10.55 = 3108.9795 → 3109 kWh. TDD weights Sep 0.030, Oct 0.075, Nov 0.120: September
    # gets 3.109 × 0.030 / 0.225 = 0.41453 → 0.415 MWh.
    assert rows(settlement) == [
        ("COMMODITY", "2026-09-01", "2026-09-30", "0.415", "MWh", "1350.00", "560.25"),
        ("COMMODITY", "2026-10-01", "2026-11-30", "2.694", "MWh", "1250.00", "3367.50"),
        ("SUPPLY_FEE", "2026-09-01", "2026-09-30", "1.0000", "month", "109.00", "109.00"),
        ("SUPPLY_FEE", "2026-10-01", "2026-11-30", "2.0000", "month", "109.00", "218.00"),
        ("DISTRIBUTION", "2026-09-01", "2026-11-30", "3.109", "MWh", "720.00", "2238.48"),
        ("DISTRIBUTION_FEE", "2026-09-01", "2026-11-30", "3.0000", "month", "230.00", "690.00"),
        ("MARKET_OPERATOR", "2026-09-01", "2026-11-30", "3.109", "MWh", "2.20", "6.84"),  # 6.8398
    ]
    assert (settlement.total_base, settlement.total_vat) == (Decimal("7190.07"), Decimal("1509.91"))
    assert (settlement.total, settlement.balance) == (Decimal("8699.98"), Decimal("-300.02"))


def test_electricity_readings_give_the_same_settlement_as_their_consumption() -> None:
    readings = [{"register": "vt", "date": "2026-01-01", "value": "1000.0"},
                {"register": "vt", "date": "2026-06-30", "value": "2044.1"},
                {"register": "vt", "date": "2026-12-31", "value": "3100.4"}]  # 2100.4 kWh → 2.100 MWh
    assert settle(electricity(consumption=None, readings=readings)) == settle(electricity())


def test_a_poze_price_change_cuts_the_period_too(tmp_path: Path) -> None:
    prices = tmp_path / "sample-2026"
    shutil.copytree(PRICES / "sample-2026", prices)
    head = prices / "list.toml"
    text = head.read_text(encoding="utf-8")
    breaker = text[text.index("breaker = ["):text.index("[[electricity_market_operator]]")]
    later = f"[[poze]]\nvalid_from = 2026-04-15\nmwh = 450.00\n{breaker}"
    text = text.replace("[[electricity_market_operator]]", later + "[[electricity_market_operator]]")
    head.write_text(text, encoding="utf-8")
    request = msgspec.json.encode(electricity(price_list=str(prices)))
    settlement = quote(decode_quote(request), PRICES, paths_allowed=True)
    # Mid-month, so only the POZE change cuts there: 1 January to 14 April, 2.100 × 104/365 = 0.59836 →
    # 0.598 MWh; the rest at the new price. The commodity's lines are as without the change.
    assert [row for row in rows(settlement) if row[0] in ("POZE", "COMMODITY")] == [
        ("COMMODITY", "2026-01-01", "2026-06-30", "1.041", "MWh", "2690.00", "2800.29"),
        ("COMMODITY", "2026-07-01", "2026-12-31", "1.059", "MWh", "2490.00", "2636.91"),
        ("POZE", "2026-01-01", "2026-04-14", "0.598", "MWh", "495.00", "296.01"),
        ("POZE", "2026-04-15", "2026-12-31", "1.502", "MWh", "450.00", "675.90"),
    ]
