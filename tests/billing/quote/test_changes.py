"""Golden quotes across a change inside the period, worked out by hand: a VAT rate change (price lists
copied from the SAMPLE list with ``[[vat_rate]]`` versions), technical data changing (breaker, rate, gas
band: ``opm_changes``) and gas read in m³ converted with monthly calorific values.

Quantities are shared by days (or TDD weights) with cumulative rounding to whole kWh, months of a fee are
the calendar month's share to 4 places; amount = quantity × unit price, half-up to 0.01.
"""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec

from gateway.billing.quote import decode_quote, quote
from schemas.billing.settlement import Settlement
from tests.billing.quote.support import PRICES, electricity, gas, rows, settle

VAT_JULY = """[[vat_rate]]
valid_from = 2026-01-01
percent = 21

[[vat_rate]]
valid_from = 2026-07-01
percent = 12
"""


def price_list(tmp_path: Path, vat: str, *, start: str = "2026-01-01") -> Path:
    """The SAMPLE list copied with ``vat`` for its VAT rate; ``start``: the list (and every first version)
    begins then instead of on 1 January 2026."""
    directory = tmp_path / "sample-2026"
    shutil.copytree(PRICES / "sample-2026", directory)
    for path in directory.glob("*.toml"):
        text = path.read_text(encoding="utf-8").replace("2026-01-01", start)
        if path.name == "list.toml":
            text = text.replace("vat_rate = 21  # percent\n", "").replace("\n# Taxes", f"\n{vat}\n# Taxes", 1)
        path.write_text(text, encoding="utf-8")
    return directory


def settle_with(directory: Path, request: dict[str, Any]) -> Settlement:
    body = msgspec.json.encode({**request, "price_list": str(directory)})
    return quote(decode_quote(body), PRICES, paths_allowed=True)


def recap(settlement: Settlement) -> list[tuple[str, str, str]]:
    return [(str(entry.rate), str(entry.base), str(entry.vat)) for entry in settlement.vat]


def test_a_vat_change_on_1_july_splits_every_line_and_the_recap(tmp_path: Path) -> None:
    settlement = settle_with(price_list(tmp_path, VAT_JULY), electricity())
    rates = [str(line.vat_rate) for line in settlement.lines]
    by_rate = list(zip(rows(settlement), rates, strict=True))
    # 2.100 MWh: 1.041 until 30 June (181/365), 1.059 after; each component's line splits at 1 July.
    assert by_rate == [
        (("COMMODITY", "2026-01-01", "2026-06-30", "1.041", "MWh", "2690.00", "2800.29"), "21"),
        (("COMMODITY", "2026-07-01", "2026-12-31", "1.059", "MWh", "2490.00", "2636.91"), "12"),
        (("SUPPLY_FEE", "2026-01-01", "2026-06-30", "6.0000", "month", "129.00", "774.00"), "21"),
        (("SUPPLY_FEE", "2026-07-01", "2026-12-31", "6.0000", "month", "129.00", "774.00"), "12"),
        (("DISTRIBUTION", "2026-01-01", "2026-06-30", "1.041", "MWh", "2050.00", "2134.05"), "21"),
        (("DISTRIBUTION", "2026-07-01", "2026-12-31", "1.059", "MWh", "2050.00", "2170.95"), "12"),
        (("BREAKER", "2026-01-01", "2026-06-30", "6.0000", "month", "240.00", "1440.00"), "21"),
        (("BREAKER", "2026-07-01", "2026-12-31", "6.0000", "month", "240.00", "1440.00"), "12"),
        (("SYSTEM_SERVICES", "2026-01-01", "2026-06-30", "1.041", "MWh", "158.00", "164.48"), "21"),  # .478
        (("SYSTEM_SERVICES", "2026-07-01", "2026-12-31", "1.059", "MWh", "158.00", "167.32"), "12"),  # .322
        (("MARKET_OPERATOR", "2026-01-01", "2026-06-30", "6.0000", "month", "4.60", "27.60"), "21"),
        (("MARKET_OPERATOR", "2026-07-01", "2026-12-31", "6.0000", "month", "4.60", "27.60"), "12"),
        (("ELECTRICITY_TAX", "2026-01-01", "2026-06-30", "1.041", "MWh", "28.30", "29.46"), "21"),  # .4603
        (("ELECTRICITY_TAX", "2026-07-01", "2026-12-31", "1.059", "MWh", "28.30", "29.97"), "12"),  # .9697
        # POZE per VAT part: 515.295 < 6 × 330, 524.205 < 6 × 330.
        (("POZE", "2026-01-01", "2026-06-30", "1.041", "MWh", "495.00", "515.30"), "21"),
        (("POZE", "2026-07-01", "2026-12-31", "1.059", "MWh", "495.00", "524.21"), "12"),
        # 7885.18 + 1655.89 + 7770.96 + 932.52 = 18244.55 → 18245.
        (("ROUNDING", "2026-01-01", "2026-12-31", "1", "CZK", "0.45", "0.45"), "0"),
    ]
    # VAT 21 %: 7885.18 × 0.21 = 1655.8878; 12 %: 7770.96 × 0.12 = 932.5152.
    assert recap(settlement) == [
        ("21", "7885.18", "1655.89"), ("12", "7770.96", "932.52"), ("0", "0.45", "0.00"),
    ]
    assert (settlement.total_base, settlement.total_vat) == (Decimal("15656.59"), Decimal("2588.41"))
    assert settlement.total == Decimal("18245.00")


def test_a_vat_change_on_1_january_within_a_list_from_july(tmp_path: Path) -> None:
    vat = VAT_JULY.replace("2026-07-01", "2026-01-01").replace("2026-01-01", "2025-07-01", 1)
    vat = vat.replace("percent = 12", "percent = 0")
    directory = price_list(tmp_path, vat, start="2025-07-01")
    settlement = settle_with(directory, electricity(
        period_from="2025-12-01", period_to="2026-01-31", product="E-FIX", advances_paid="0",
        consumption={"mwh": "0.620"},
    ))
    # 31 of 62 days in December: 0.310 MWh each side of the change; every price is the same both months.
    expected = []
    for start, end in (("2025-12-01", "2025-12-31"), ("2026-01-01", "2026-01-31")):
        expected += [
            ("COMMODITY", start, end, "0.310", "MWh", "2590.00", "802.90"),
            ("SUPPLY_FEE", start, end, "1.0000", "month", "99.00", "99.00"),
            ("DISTRIBUTION", start, end, "0.310", "MWh", "2050.00", "635.50"),
            ("BREAKER", start, end, "1.0000", "month", "240.00", "240.00"),
            ("SYSTEM_SERVICES", start, end, "0.310", "MWh", "158.00", "48.98"),
            ("MARKET_OPERATOR", start, end, "1.0000", "month", "4.60", "4.60"),
            ("ELECTRICITY_TAX", start, end, "0.310", "MWh", "28.30", "8.77"),  # 8.773
            ("POZE", start, end, "0.310", "MWh", "495.00", "153.45"),
        ]
    assert sorted(rows(settlement)) == sorted(expected)
    assert {str(line.vat_rate) for line in settlement.lines if str(line.period_from) < "2026"} == {"21"}
    assert {str(line.vat_rate) for line in settlement.lines if str(line.period_from) > "2026"} == {"0"}
    # Each half: 1993.20; VAT 21 %: 418.572 → 418.57.
    assert recap(settlement) == [("21", "1993.20", "418.57"), ("0", "1993.20", "0.00")]
    assert settlement.total == Decimal("4404.97")


def test_one_vat_version_is_the_scalar_rate(tmp_path: Path) -> None:
    directory = price_list(tmp_path, "[[vat_rate]]\nvalid_from = 2026-01-01\npercent = 21\n")
    for request in (electricity(), gas()):
        assert settle_with(directory, request) == settle(request)


def test_a_breaker_raised_mid_month_prices_the_breaker_fee_and_poze_per_part() -> None:
    settlement = settle(electricity(
        product="E-FIX", opm={"dso": "PRE", "rate": "D02d", "breaker_phases": 3, "breaker_amps": 25},
        consumption={"mwh": "12.000"}, opm_changes=[{"valid_from": "2026-04-16", "breaker_amps": 40}],
    ))
    # 1 January … 15 April is 105 days: 12 × 105/365 = 3.45205 → 3.452 MWh; months 3 + 15/30 = 3.5.
    assert rows(settlement) == [
        ("COMMODITY", "2026-01-01", "2026-12-31", "12.000", "MWh", "2590.00", "31080.00"),
        ("SUPPLY_FEE", "2026-01-01", "2026-12-31", "12.0000", "month", "99.00", "1188.00"),
        # Distribution does not depend on the breaker: one line.
        ("DISTRIBUTION", "2026-01-01", "2026-12-31", "12.000", "MWh", "1780.00", "21360.00"),
        ("BREAKER", "2026-01-01", "2026-04-15", "3.5000", "month", "215.00", "752.50"),
        ("BREAKER", "2026-04-16", "2026-12-31", "8.5000", "month", "344.00", "2924.00"),
        ("SYSTEM_SERVICES", "2026-01-01", "2026-12-31", "12.000", "MWh", "158.00", "1896.00"),
        ("MARKET_OPERATOR", "2026-01-01", "2026-12-31", "12.0000", "month", "4.60", "55.20"),
        ("ELECTRICITY_TAX", "2026-01-01", "2026-12-31", "12.000", "MWh", "28.30", "339.60"),
        # 3 × 25 A: 3.5 × 330 = 1155 beats 3.452 × 495 = 1708.74; 3 × 40 A: 8.548 × 495 = 4231.26 beats
        # 8.5 × 528 = 4488.
        ("POZE", "2026-01-01", "2026-04-15", "3.5000", "month", "330.00", "1155.00"),
        ("POZE", "2026-04-16", "2026-12-31", "8.548", "MWh", "495.00", "4231.26"),
    ]
    assert [line.text for line in settlement.lines if line.code == "BREAKER"] == [
        "Stálý plat za jistič 3 × 25 A", "Stálý plat za jistič 3 × 40 A",
    ]
    # 64981.56 × 0.21 = 13646.1276.
    assert (settlement.total_base, settlement.total_vat) == (Decimal("64981.56"), Decimal("13646.13"))
    assert settlement.total == Decimal("78627.69")


def test_a_rate_change_keeping_two_registers_prices_distribution_and_breaker_per_rate() -> None:
    settlement = settle(electricity(
        period_from="2026-05-01", period_to="2026-08-31", product="E-FIX", advances_paid="0",
        opm={"dso": "CEZ", "rate": "D25d", "breaker_phases": 3, "breaker_amps": 25},
        consumption={"vt_mwh": "1.230", "nt_mwh": "2.460"},
        opm_changes=[{"valid_from": "2026-07-01", "rate": "D57d"}],
    ))
    # 61 of 123 days before 1 July: VT 1.230 × 61/123 = 0.610, NT 2.460 × 61/123 = 1.220.
    assert rows(settlement) == [
        ("COMMODITY_VT", "2026-05-01", "2026-08-31", "1.230", "MWh", "2690.00", "3308.70"),
        ("COMMODITY_NT", "2026-05-01", "2026-08-31", "2.460", "MWh", "2290.00", "5633.40"),
        ("SUPPLY_FEE", "2026-05-01", "2026-08-31", "4.0000", "month", "99.00", "396.00"),
        ("DISTRIBUTION_VT", "2026-05-01", "2026-06-30", "0.610", "MWh", "1850.00", "1128.50"),
        ("DISTRIBUTION_VT", "2026-07-01", "2026-08-31", "0.620", "MWh", "590.00", "365.80"),
        ("DISTRIBUTION_NT", "2026-05-01", "2026-06-30", "1.220", "MWh", "310.00", "378.20"),
        ("DISTRIBUTION_NT", "2026-07-01", "2026-08-31", "1.240", "MWh", "320.00", "396.80"),
        # The breaker fee is the rate's: D25d 3 × 25 A 330, D57d 640.
        ("BREAKER", "2026-05-01", "2026-06-30", "2.0000", "month", "330.00", "660.00"),
        ("BREAKER", "2026-07-01", "2026-08-31", "2.0000", "month", "640.00", "1280.00"),
        ("SYSTEM_SERVICES", "2026-05-01", "2026-08-31", "3.690", "MWh", "158.00", "583.02"),
        ("MARKET_OPERATOR", "2026-05-01", "2026-08-31", "4.0000", "month", "4.60", "18.40"),
        ("ELECTRICITY_TAX", "2026-05-01", "2026-08-31", "3.690", "MWh", "28.30", "104.43"),  # 104.427
        # POZE follows the breaker only (unchanged): 4 × 330 = 1320 beats 3.690 × 495 = 1826.55.
        ("POZE", "2026-05-01", "2026-08-31", "4.0000", "month", "330.00", "1320.00"),
    ]
    # 15573.25 × 0.21 = 3270.3825.
    assert (settlement.total_base, settlement.total_vat) == (Decimal("15573.25"), Decimal("3270.38"))
    assert settlement.total == Decimal("18843.63")


def test_a_gas_band_change_prices_distribution_and_its_fixed_fee_per_band() -> None:
    settlement = settle(gas(opm_changes=[{"valid_from": "2026-04-01", "band": "15-20"}]))
    # 90 days until 31 March: 12 × 90/365 = 2.95890 → 2.959 MWh in band 7.56-15.
    assert rows(settlement) == [
        ("COMMODITY", "2026-01-01", "2026-09-30", "8.975", "MWh", "1390.00", "12475.25"),
        ("COMMODITY", "2026-10-01", "2026-12-31", "3.025", "MWh", "1290.00", "3902.25"),
        ("SUPPLY_FEE", "2026-01-01", "2026-09-30", "9.0000", "month", "119.00", "1071.00"),
        ("SUPPLY_FEE", "2026-10-01", "2026-12-31", "3.0000", "month", "119.00", "357.00"),
        ("DISTRIBUTION", "2026-01-01", "2026-03-31", "2.959", "MWh", "620.00", "1834.58"),
        ("DISTRIBUTION", "2026-04-01", "2026-12-31", "9.041", "MWh", "600.00", "5424.60"),
        ("DISTRIBUTION_FEE", "2026-01-01", "2026-03-31", "3.0000", "month", "360.00", "1080.00"),
        ("DISTRIBUTION_FEE", "2026-04-01", "2026-12-31", "9.0000", "month", "400.00", "3600.00"),
        ("MARKET_OPERATOR", "2026-01-01", "2026-12-31", "12.000", "MWh", "2.20", "26.40"),
        ("GAS_TAX", "2026-01-01", "2026-12-31", "12.000", "MWh", "30.60", "367.20"),
        # 30138.28 + VAT 6329.04 (6329.0388) = 36467.32 → 36467.
        ("ROUNDING", "2026-01-01", "2026-12-31", "1", "CZK", "-0.32", "-0.32"),
    ]
    assert [line.text for line in settlement.lines if line.code == "DISTRIBUTION"] == [
        "Distribuce plynu (pásmo 7.56-15 MWh/rok)", "Distribuce plynu (pásmo 15-20 MWh/rok)",
    ]
    assert settlement.total == Decimal("36467.00")


GAS_READINGS = [{"register": "single", "date": "2026-09-01", "value": "1000.0"},
                {"register": "single", "date": "2026-11-30", "value": "1300.0"}]


def test_gas_readings_with_monthly_calorific_values_split_by_tdd() -> None:
    settlement = settle(gas(
        period_from="2026-09-01", period_to="2026-11-30", product="G-PROFIL", gas_tax_exempt=True,
        opm={"dso": "GASNET", "band": "1.89-7.56"}, consumption=None, readings=GAS_READINGS,
        gas_conversion={"conversion_factor": "0.9823", "calorific_values": [
            {"month": "2026-09", "kwh_per_m3": "10.50"}, {"month": "2026-10", "kwh_per_m3": "10.60"},
            {"month": "2026-11", "kwh_per_m3": "10.70"}, {"month": "2026-12", "kwh_per_m3": "10.80"},
        ]},
    ))
    # The 300 m³ go to the months by the TDD weights 0.030, 0.075, 0.120 (of 0.225): the calorific value is
    # (0.030 × 10.50 + 0.075 × 10.60 + 0.120 × 10.70) / 0.225 = 2.394 / 0.225 = 10.64 on average, and
    # 300 × 0.9823 × 10.64 = 3135.5016 → 3136 kWh (December's value is not in the period). September then
    # gets 3.136 × 0.030 / 0.225 = 0.41813 → 0.418 MWh.
    assert rows(settlement) == [
        ("COMMODITY", "2026-09-01", "2026-09-30", "0.418", "MWh", "1350.00", "564.30"),
        ("COMMODITY", "2026-10-01", "2026-11-30", "2.718", "MWh", "1250.00", "3397.50"),
        ("SUPPLY_FEE", "2026-09-01", "2026-09-30", "1.0000", "month", "109.00", "109.00"),
        ("SUPPLY_FEE", "2026-10-01", "2026-11-30", "2.0000", "month", "109.00", "218.00"),
        ("DISTRIBUTION", "2026-09-01", "2026-11-30", "3.136", "MWh", "720.00", "2257.92"),
        ("DISTRIBUTION_FEE", "2026-09-01", "2026-11-30", "3.0000", "month", "230.00", "690.00"),
        ("MARKET_OPERATOR", "2026-09-01", "2026-11-30", "3.136", "MWh", "2.20", "6.90"),  # 6.8992
    ]
    # 7243.62 × 0.21 = 1521.1602.
    assert (settlement.total_base, settlement.total_vat) == (Decimal("7243.62"), Decimal("1521.16"))


def test_gas_readings_without_a_calorific_value_take_the_price_lists_months() -> None:
    request = gas(period_from="2026-01-15", period_to="2026-02-14", consumption=None, readings=[
        {"register": "single", "date": "2026-01-15", "value": "500"},
        {"register": "single", "date": "2026-02-14", "value": "600"},
    ], gas_conversion={"conversion_factor": "1"})
    # By days (G-STANDARD): 17 days of January at 10.58, 14 of February at 10.57 (the SAMPLE list's GasNet
    # values): 100 × (17 × 10.58 + 14 × 10.57) / 31 = 1057.548 → 1058 kWh.
    distribution = [row for row in rows(settle(request)) if row[0] == "DISTRIBUTION"]
    assert distribution == [("DISTRIBUTION", "2026-01-15", "2026-02-14", "1.058", "MWh", "620.00", "655.96")]


def test_equal_monthly_calorific_values_are_one_value_for_the_period() -> None:
    one = {"conversion_factor": "0.9823", "calorific_value_kwh_per_m3": "10.55"}
    months = [{"month": f"2026-{month:02}", "kwh_per_m3": "10.55"} for month in (9, 10, 11)]
    monthly = {"conversion_factor": "0.9823", "calorific_values": months}
    for product in ("G-STANDARD", "G-PROFIL"):
        request = gas(period_from="2026-09-01", period_to="2026-11-30", product=product, consumption=None,
                      readings=GAS_READINGS)
        assert settle({**request, "gas_conversion": monthly}) == settle({**request, "gas_conversion": one})
