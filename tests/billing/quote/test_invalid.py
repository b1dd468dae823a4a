"""Requests the calculator refuses: each refusal names the field (dotted path) and repeats the value."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from gateway.billing.quote import decode_quote, quote
from gateway.errors import InvalidField
from gateway.http.views import BadParameter
from tests.billing.quote.support import PRICES, electricity, gas

READINGS = [{"register": "vt", "date": "2026-01-01", "value": "1000.0"},
            {"register": "vt", "date": "2026-12-31", "value": "3100.4"}]


def refusal(request: dict[str, Any] | bytes) -> InvalidField:
    body = request if isinstance(request, bytes) else msgspec.json.encode(request)
    with pytest.raises(InvalidField) as caught:
        quote(decode_quote(body), PRICES)
    return caught.value


@pytest.mark.parametrize(("request_", "field", "value"), [
    (electricity(consumption={"vt_mwh": "-1.000"}), "consumption.vt_mwh", "-1.000"),
    (electricity(consumption={"vt_mwh": "2.1004"}), "consumption.vt_mwh", "2.1004"),
    (electricity(consumption={"vt_mwh": "NaN"}), "consumption.vt_mwh", "NaN"),
    (electricity(consumption={"vt_mwh": "1", "nt_mwh": "1"}), "consumption.nt_mwh", "1"),
    (electricity(consumption={"vt_mwh": "1", "mwh": "1"}), "consumption.vt_mwh", "1"),
    (electricity(consumption={"kwh": "100"}), "consumption.kwh", "100"),
    (electricity(consumption={}), "consumption", None),
    (electricity(opm={"dso": "CEZ", "rate": "D25d", "breaker_phases": 3, "breaker_amps": 25},
                 consumption={"mwh": "2"}), "consumption.mwh", "2"),
    (electricity(product="NOPE"), "product", "NOPE"),
    (electricity(product="G-STANDARD"), "product", "G-STANDARD"),
    (electricity(opm={"dso": "XYZ", "rate": "D02d", "breaker_phases": 3, "breaker_amps": 25}),
     "opm.dso", "XYZ"),
    (electricity(opm={"dso": "CEZ", "rate": "D99d", "breaker_phases": 3, "breaker_amps": 25}),
     "opm.rate", "D99d"),
    (electricity(opm={"dso": "CEZ", "rate": "D02d", "breaker_phases": 2, "breaker_amps": 25}),
     "opm.breaker_amps", 25),
    (electricity(opm={"dso": "CEZ", "rate": "D02d", "breaker_phases": 3}), "opm.breaker_amps", None),
    (electricity(opm={"dso": "CEZ", "rate": "D02d", "breaker_phases": 3, "breaker_amps": 25, "band": "x"}),
     "opm.band", "x"),
    (electricity(period_to="2025-12-31"), "period_to", "2025-12-31"),
    (electricity(period_from="2025-12-01"), "period_from", "2025-12-01"),
    (electricity(period_to="2027-01-01"), "period_to", "2027-01-01"),
    (electricity(readings=READINGS), "consumption", "both"),
    (electricity(consumption=None), "consumption", None),
    (electricity(advances_paid="-5"), "advances_paid", "-5"),
    (electricity(advances_paid="5.001"), "advances_paid", "5.001"),
    (electricity(price_list="../../etc"), "price_list", "../../etc"),
    (electricity(gas_tax_exempt=True), "gas_tax_exempt", True),
    (gas(opm={"dso": "GASNET", "band": "huge"}), "opm.band", "huge"),
    (gas(opm={"dso": "CEZ", "band": "7.56-15"}), "opm.dso", "CEZ"),
    (gas(opm={"dso": "GASNET", "band": "7.56-15", "rate": "D02d"}), "opm.rate", "D02d"),
    (gas(consumption={"kwh": "100.5"}), "consumption.kwh", "100.5"),
    (gas(consumption={"mwh": "1"}), "consumption.mwh", "1"),
    (gas(consumption={"kwh": "1"},
         gas_conversion={"conversion_factor": "1", "calorific_value_kwh_per_m3": "10"}),
     "gas_conversion", "given"),
])
def test_refused_naming_the_field(request_: dict[str, Any], field: str, value: object) -> None:
    refused = refusal(request_)
    assert (refused.field, refused.value) == (field, value), refused.message


@pytest.mark.parametrize(("readings", "field", "value"), [
    # A lower state than the one before: a roll-over or a wrong reading.
    ([*READINGS, {"register": "vt", "date": "2026-06-30", "value": "9999.0"}],
     "readings[1].value", "3100.4"),
    ([READINGS[0]], "readings", "single"),
    ([*READINGS, {"register": "vt", "date": "2026-01-01", "value": "1000.0"}],
     "readings[2].date", "2026-01-01"),
    ([*READINGS, {"register": "nt", "date": "2026-01-01", "value": "1.0"}], "readings[2].register", "nt"),
    ([{**READINGS[0], "date": "2025-12-31"}, READINGS[1]], "readings[0].date", "2025-12-31"),
    ([READINGS[0], {**READINGS[1], "value": "-1"}], "readings[1].value", "-1"),
    ([READINGS[0], {**READINGS[1], "register": "dual"}], "readings[1].register", "dual"),
])
def test_refused_readings(readings: list[dict[str, str]], field: str, value: object) -> None:
    refused = refusal(electricity(consumption=None, readings=readings))
    assert (refused.field, refused.value) == (field, value), refused.message


def test_gas_readings_need_the_conversion_data_and_positive_values() -> None:
    readings = [{"register": "single", "date": "2026-01-01", "value": "0"},
                {"register": "single", "date": "2026-02-01", "value": "10"}]
    assert refusal(gas(consumption=None, readings=readings)).field == "gas_conversion"
    conversion = {"conversion_factor": "0", "calorific_value_kwh_per_m3": "10.5"}
    refused = refusal(gas(consumption=None, readings=readings, gas_conversion=conversion))
    assert (refused.field, refused.value) == ("gas_conversion.conversion_factor", "0")


@pytest.mark.parametrize(("body", "field", "value"), [
    # A JSON number where a decimal belongs, float or integer: refused, not guessed.
    (b'"advances_paid": 9000.5', "advances_paid", 9000.5),
    (b'"advances_paid": 9000', "advances_paid", 9000),
    (b'"consumption": {"vt_mwh": 2.1}', "consumption.vt_mwh", 2.1),
    (b'"consumption": {"vt_mwh": "2.1", "extra": "1"}', "consumption.extra", None),
    (b'"commodity": "water"', "commodity", "water"),
    (b'"opm": {"dso": "CEZ", "rate": "D02d", "breaker_phases": 3, "breaker_amps": 25.5}',
     "opm.breaker_amps", 25.5),
    (b'"period_to": "2026-02-30"', "period_to", "2026-02-30"),
])
def test_the_decoder_names_the_field(body: bytes, field: str, value: object) -> None:
    base = msgspec.json.encode(electricity(commodity="electricity")).decode()
    # The changed key last: JSON objects keep the last of duplicate keys out of msgspec; build a clean one.
    document = msgspec.json.decode(base)
    document.update(msgspec.json.decode(b"{" + body + b"}"))
    encoded = msgspec.json.encode(document)
    refused = refusal(encoded)
    assert refused.field == field, refused.message
    if value is not None:
        assert refused.value == value


def test_not_json_is_a_bad_parameter() -> None:
    with pytest.raises(BadParameter):
        decode_quote(b"{not json")
