"""Refusals of the newer request fields (``opm_changes``, monthly calorific values) naming the field and the
value, and the price-list checks of VAT versions and calorific values."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import msgspec
import pytest

from gateway.billing.quote import decode_quote, quote
from gateway.errors import InvalidField
from tests.billing.quote.support import PRICES, electricity, gas
from tests.billing.quote.test_invalid import refusal
from tests.billing.quote.test_prices import broken

LAYOUT = "changes the register layout (D02d is single, D25d is vt_nt): the two parts need their own meter " \
         "readings; bill 2026-01-01 … 2026-06-30 and 2026-07-01 … 2026-12-31 separately"
READINGS = [{"register": "single", "date": "2026-09-01", "value": "1000.0"},
            {"register": "single", "date": "2026-11-30", "value": "1300.0"}]


def gas_read(conversion: dict[str, Any]) -> dict[str, Any]:
    return gas(period_from="2026-09-01", period_to="2026-11-30", consumption=None, readings=READINGS,
               gas_conversion=conversion)


def months(*values: tuple[str, str]) -> list[dict[str, str]]:
    return [{"month": month, "kwh_per_m3": value} for month, value in values]


@pytest.mark.parametrize(("request_", "field", "value"), [
    (electricity(opm_changes=[{"valid_from": "2026-01-01", "breaker_amps": 40}]),
     "opm_changes[0].valid_from", "2026-01-01"),
    (electricity(opm_changes=[{"valid_from": "2027-01-05", "breaker_amps": 40}]),
     "opm_changes[0].valid_from", "2027-01-05"),
    (electricity(opm_changes=[{"valid_from": "2026-07-01", "breaker_amps": 40},
                              {"valid_from": "2026-06-01", "breaker_amps": 32}]),
     "opm_changes[1].valid_from", "2026-06-01"),
    (electricity(opm_changes=[{"valid_from": "2026-07-01"}]), "opm_changes[0]", "2026-07-01"),
    (electricity(opm_changes=[{"valid_from": "2026-07-01", "band": "15-20"}]),
     "opm_changes[0].band", "15-20"),
    (electricity(opm_changes=[{"valid_from": "2026-07-01", "rate": "D99d"}]), "opm_changes[0].rate", "D99d"),
    (electricity(opm_changes=[{"valid_from": "2026-07-01", "rate": "D25d"}]), "opm_changes[0].rate", "D25d"),
    (electricity(opm_changes=[{"valid_from": "2026-07-01", "breaker_phases": 2}]),
     "opm_changes[0].breaker_amps", 25),
    (electricity(opm_changes=[{"valid_from": "2026-07-01", "breaker_amps": 40},
                              {"valid_from": "2026-09-01", "breaker_amps": 5000}]),
     "opm_changes[1].breaker_amps", 5000),
    (electricity(opm_changes=[{"valid_from": "2026-07-01", "breaker_amps": 40, "x": 1}]),
     "opm_changes[0].x", 1),
    (electricity(opm_changes=[{"valid_from": f"2026-03-{day:02}", "breaker_amps": 40} for day in range(1, 32)]
                 + [{"valid_from": f"2026-04-{day:02}", "breaker_amps": 40} for day in range(1, 7)]),
     "opm_changes", 37),
    (gas(opm_changes=[{"valid_from": "2026-07-01", "rate": "D02d"}]), "opm_changes[0].rate", "D02d"),
    (gas(opm_changes=[{"valid_from": "2026-07-01", "band": "huge"}]), "opm_changes[0].band", "huge"),
    (gas_read({"conversion_factor": "1",
               "calorific_values": months(("2026-09", "10.5"), ("2026-11", "10.6"))}),
     "gas_conversion.calorific_values", "2026-10"),
    (gas_read({"conversion_factor": "1",
               "calorific_values": months(("2026-09", "10.5"), ("2026-09", "10.6"))}),
     "gas_conversion.calorific_values[1].month", "2026-09"),
    (gas_read({"conversion_factor": "1", "calorific_values": months(("2026-13", "10.5"))}),
     "gas_conversion.calorific_values[0].month", "2026-13"),
    (gas_read({"conversion_factor": "1", "calorific_values": months(("2026-09", "0"))}),
     "gas_conversion.calorific_values[0].kwh_per_m3", "0"),
    (gas_read({"conversion_factor": "1", "calorific_values": months(("2026-09", "25"))}),
     "gas_conversion.calorific_values[0].kwh_per_m3", "25"),
    (gas_read({"conversion_factor": "1", "calorific_value_kwh_per_m3": "10.5",
               "calorific_values": months(("2026-09", "10.5"))}),
     "gas_conversion.calorific_values", "given"),
    (gas(consumption={"kwh": "1"}, gas_conversion={"conversion_factor": "1"}), "gas_conversion", "given"),
])
def test_refused_naming_the_field(request_: dict[str, Any], field: str, value: object) -> None:
    refused = refusal(request_)
    assert (refused.field, refused.value) == (field, value), refused.message


def test_a_register_layout_change_is_refused_saying_how_to_bill() -> None:
    refused = refusal(electricity(opm_changes=[{"valid_from": "2026-07-01", "rate": "D25d"}]))
    assert refused.reason == LAYOUT


def test_a_json_number_for_a_calorific_value_is_refused() -> None:
    values = [{"month": "2026-09", "kwh_per_m3": 10.5}]
    request = gas_read({"conversion_factor": "1", "calorific_values": values})
    refused = refusal(msgspec.json.encode(request))
    assert (refused.field, refused.value) == ("gas_conversion.calorific_values[0].kwh_per_m3", 10.5)


def test_a_month_missing_from_the_price_list_is_refused_naming_it(tmp_path: Path) -> None:
    directory = tmp_path / "sample-2026"
    shutil.copytree(PRICES / "sample-2026", directory)
    path = directory / "dso-GASNET.toml"
    path.write_text(path.read_text(encoding="utf-8").replace(
        '    { month = "2026-10", kwh_per_m3 = 10.57 },\n', ""), encoding="utf-8")
    body = msgspec.json.encode({**gas_read({"conversion_factor": "1"}), "price_list": str(directory)})
    with pytest.raises(InvalidField) as caught:
        quote(decode_quote(body), PRICES, paths_allowed=True)
    assert (caught.value.field, caught.value.value) == ("gas_conversion.calorific_values", "2026-10")
    assert "price list sample-2026 has no calorific value for 2026-10" in caught.value.reason


#: ``vat_rate = 21`` replaced by two versions (the rest of list.toml is tables, so they may stand there).
SCALAR = "vat_rate = 21  # percent"
VAT_VERSIONS = "[[vat_rate]]\nvalid_from = 2026-01-01\npercent = 21\n\n[[vat_rate]]\nvalid_from = {day}\n" \
               "percent = {rate}\n"


@pytest.mark.parametrize(("file", "old", "new", "problem"), [
    ("list.toml", SCALAR, VAT_VERSIONS.format(day="2026-07-01", rate="121"),
     "list.toml: vat_rate[1].percent: must be a percentage from 0 to 100 (value '121')"),
    ("list.toml", SCALAR, VAT_VERSIONS.format(day="2026-07-01", rate="12.125"),
     "list.toml: vat_rate[1].percent: has more than 2 decimal places (value '12.125')"),
    ("list.toml", SCALAR, VAT_VERSIONS.format(day="2026-01-01", rate="12"),
     "list.toml: vat_rate[1].valid_from: must be after the previous version's 2026-01-01 "
     "(value '2026-01-01')"),
    ("list.toml", SCALAR, VAT_VERSIONS.format(day="2027-01-01", rate="12"),
     "list.toml: vat_rate[1].valid_from: is outside the list (2026-01-01..2026-12-31) (value '2027-01-01')"),
    ("list.toml", SCALAR,
     VAT_VERSIONS.format(day="2026-07-01", rate="12").replace("2026-01-01", "2026-02-01", 1),
     "list.toml: vat_rate[0].valid_from: the first version must start with the list (2026-01-01) "
     "(value '2026-02-01')"),
    ("dso-GASNET.toml", '"2026-03", kwh_per_m3 = 10.55', '"2026-02", kwh_per_m3 = 10.55',
     "dso-GASNET.toml: calorific[2].month: must be after the previous month 2026-02 (value '2026-02')"),
    ("dso-GASNET.toml", '"2026-01", kwh_per_m3 = 10.58', '"2025-12", kwh_per_m3 = 10.58',
     "dso-GASNET.toml: calorific[0].month: is outside the list (2026-01-01..2026-12-31) (value '2025-12')"),
    ("dso-GASNET.toml", "kwh_per_m3 = 10.58", "kwh_per_m3 = 0",
     "dso-GASNET.toml: calorific[0].kwh_per_m3: must be above 0 and at most 20 kWh/m³ (value '0')"),
    ("dso-GASNET.toml", "kwh_per_m3 = 10.58", "kwh_per_m3 = 10.58123",
     "dso-GASNET.toml: calorific[0].kwh_per_m3: has more than 4 decimal places (value '10.58123')"),
    ("dso-GASNET.toml", '"2026-01", kwh_per_m3', '"2026-1", kwh_per_m3',
     "dso-GASNET.toml: calorific[0].month: expected `str` matching regex '^[0-9]{4}-(0[1-9]|1[0-2])$' "
     "(value '2026-1')"),
    ("dso-CEZ.toml", 'commodity = "electricity"', 'commodity = "electricity"\n'
     'calorific = [{ month = "2026-01", kwh_per_m3 = 10.5 }]',
     "dso-CEZ.toml: calorific: calorific values are for a gas DSO"),
    ("dso-GASNET.toml", '"2026-04", kwh_per_m3 = 10.66', '"2026-02", kwh_per_m3 = 10.66',
     "dso-GASNET.toml: area[0].calorific[3].month: must be after the previous month 2026-03 "
     "(value '2026-02')"),
    ("dso-GASNET.toml", "kwh_per_m3 = 10.71", "kwh_per_m3 = 21",
     "dso-GASNET.toml: area[0].calorific[0].kwh_per_m3: must be above 0 and at most 20 kWh/m³ (value '21')"),
    ("dso-GASNET.toml", '[[area]]\ncode = "SEVER"', '[[area]]\ncode = "SEVER"\n\n[[area]]\ncode = "SEVER"',
     "dso-GASNET.toml: area[1].code: is already defined (value 'SEVER')"),
    ("dso-CEZ.toml", 'commodity = "electricity"', 'commodity = "electricity"\n\n[[area]]\ncode = "X"',
     "dso-CEZ.toml: area: calorific values are for a gas DSO"),
])
def test_vat_versions_and_calorific_values_are_checked(
    tmp_path: Path, file: str, old: str, new: str, problem: str,
) -> None:
    assert problem in broken(tmp_path, file, old, new)
