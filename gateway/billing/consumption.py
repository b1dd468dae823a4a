"""The consumption of a quote per register, in MWh to whole kWh, from ``consumption`` or from ``readings``.

Registers: ``single`` for single-rate electricity and for gas, ``vt`` and ``nt`` for two-rate electricity. A
single-rate meter's register may be sent as ``vt`` (as the DSOs report it), with ``nt`` zero or absent.
From readings, a register's consumption is its last minus its first meter state in the period: kWh for
electricity, m³ × conversion factor × calorific value for gas, rounded half-up to whole kWh. A state lower
than the one before is refused (a roll-over or a wrong reading: a meter change is settled in two parts).
Gas's calorific value is one for the period, or one per month (the request's or the price list's), the m³
shared to the months by the product's weights (``calorific``).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Final, Literal

from gateway.billing.calorific import gas_kwh, missing_months
from gateway.billing.split import MWH_STEP, half_up
from gateway.errors import InvalidField
from schemas.billing.settlement import Consumption, GasConversion, QuoteReading, QuoteRequest

Registers = Literal["single", "vt_nt"]

#: Consumption of one register in one quote at most (a large industrial OPM uses far less in a year).
CONSUMPTION_MWH_MAX: Final = Decimal("1000000")
#: A meter state at most (kWh or m³): more digits than any meter shows.
READING_VALUE_MAX: Final = Decimal("1000000000")
#: Readings in one quote at most.
READINGS_MAX: Final = 1_000
#: Bounds of the gas conversion data (the factor is near 1, the calorific value near 10.5 kWh/m³).
CONVERSION_FACTOR_MAX: Final = Decimal("2")
CALORIFIC_VALUE_MAX: Final = Decimal("20")
#: Calorific values (one a month) in one request at most: the months of the longest period and more.
CALORIFIC_VALUES_MAX: Final = 48
KWH_PER_MWH: Final = Decimal(1000)
_WHOLE: Final = Decimal(1)


@dataclass(frozen=True)
class GasMonths:
    """What converting gas m³ per month needs besides the request: the product's TDD weights (None: by
    days) and the price list's calorific values of the OPM's DSO (first day of a month → kWh/m³)."""

    tdd: Sequence[Decimal] | None
    listed: Mapping[dt.date, Decimal]
    price_list: str


def checked_decimal(field: str, value: Decimal, maximum: Decimal, places: int) -> Decimal:
    """``value`` if it is finite, from 0 to ``maximum`` and has at most ``places`` decimal places."""
    if not value.is_finite():
        raise InvalidField(field, str(value), "must be a finite decimal")
    if value < 0:
        raise InvalidField(field, str(value), "must not be negative")
    if value > maximum:
        raise InvalidField(field, str(value), f"must not be above {maximum}")
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    if -exponent > places and value != value.quantize(Decimal(1).scaleb(-places)):
        raise InvalidField(field, str(value), f"must have at most {places} decimal places")
    return value.quantize(Decimal(1).scaleb(-places))


def register_totals(
    request: QuoteRequest, registers: Registers, gas_months: GasMonths | None = None,
) -> dict[str, Decimal]:
    """MWh (3 places) per register: ``single``, or ``vt`` and ``nt``. ``gas_months``: for gas readings
    converted with monthly calorific values (without it, only one value for the period is accepted)."""
    if (request.consumption is None) == (request.readings is None):
        value = None if request.consumption is None else "both"
        raise InvalidField("consumption", value, "give either consumption or readings (exactly one of them)")
    if request.gas_conversion is not None and (request.commodity != "gas" or request.readings is None):
        raise InvalidField("gas_conversion", "given", "is only for gas readings in m³")
    if request.consumption is not None:
        if request.commodity == "gas":
            return _gas_consumption(request.consumption)
        return _electricity_consumption(request.consumption, registers)
    assert request.readings is not None
    return _from_readings(request, registers, gas_months)


def _electricity_consumption(consumption: Consumption, registers: Registers) -> dict[str, Decimal]:
    if consumption.kwh is not None:
        raise InvalidField("consumption.kwh", str(consumption.kwh), "is for gas; electricity is in MWh")
    names = ("vt_mwh", "nt_mwh", "mwh")
    given = {name: value for name in names if (value := getattr(consumption, name)) is not None}
    values = {
        name: checked_decimal(f"consumption.{name}", value, CONSUMPTION_MWH_MAX, 3)
        for name, value in given.items()
    }
    if not values:
        raise InvalidField("consumption", None, "needs mwh, or vt_mwh and nt_mwh")
    if registers == "vt_nt":
        if "mwh" in values:
            reason = "the rate is two-rate: give vt_mwh and nt_mwh"
            raise InvalidField("consumption.mwh", str(given["mwh"]), reason)
        return {"vt": values.get("vt_mwh", Decimal("0.000")), "nt": values.get("nt_mwh", Decimal("0.000"))}
    if values.get("nt_mwh", 0) != 0:
        raise InvalidField("consumption.nt_mwh", str(given["nt_mwh"]), "the rate is single-rate: no NT")
    if "mwh" in values and "vt_mwh" in values:
        raise InvalidField("consumption.vt_mwh", str(given["vt_mwh"]), "give mwh or vt_mwh, not both")
    return {"single": values.get("mwh", values.get("vt_mwh", Decimal("0.000")))}


def _gas_consumption(consumption: Consumption) -> dict[str, Decimal]:
    for name in ("vt_mwh", "nt_mwh", "mwh"):
        if getattr(consumption, name) is not None:
            raise InvalidField(f"consumption.{name}", str(getattr(consumption, name)), "gas is given in kwh")
    if consumption.kwh is None:
        raise InvalidField("consumption.kwh", None, "is required for gas")
    kwh = checked_decimal("consumption.kwh", consumption.kwh, CONSUMPTION_MWH_MAX * KWH_PER_MWH, 0)
    return {"single": (kwh / KWH_PER_MWH).quantize(MWH_STEP)}


def _from_readings(
    request: QuoteRequest, registers: Registers, gas_months: GasMonths | None,
) -> dict[str, Decimal]:
    readings = request.readings or []
    if len(readings) > READINGS_MAX:
        raise InvalidField("readings", len(readings), f"at most {READINGS_MAX} readings")
    by_register: dict[str, list[tuple[int, QuoteReading]]] = defaultdict(list)
    for index, reading in enumerate(readings):
        register = _register(request, registers, index, reading)
        if not request.period_from <= reading.date <= request.period_to:
            raise InvalidField(f"readings[{index}].date", str(reading.date), "is outside the period")
        checked_decimal(f"readings[{index}].value", reading.value, READING_VALUE_MAX, 6)
        by_register[register].append((index, reading))
    expected = ["single"] if request.commodity == "gas" or registers == "single" else ["vt", "nt"]
    totals = {}
    for register in expected:
        totals[register] = _register_total(request, register, by_register.get(register, []), gas_months)
    return totals


def _register(request: QuoteRequest, registers: Registers, index: int, reading: QuoteReading) -> str:
    """The register a reading counts for; ``vt`` of a single-rate meter is its only register."""
    field = f"readings[{index}].register"
    if request.commodity == "gas":
        if reading.register != "single":
            raise InvalidField(field, reading.register, "a gas meter has the register 'single'")
        return "single"
    if registers == "vt_nt":
        if reading.register == "single":
            raise InvalidField(field, reading.register, "the rate is two-rate: registers are 'vt' and 'nt'")
        return reading.register
    if reading.register == "nt":
        reason = "the rate is single-rate: the register is 'single' or 'vt'"
        raise InvalidField(field, reading.register, reason)
    kinds = {other.register for other in request.readings or []} - {"nt"}
    if len(kinds) > 1:
        reason = "give a single-rate meter as 'single' or as 'vt', not both"
        raise InvalidField(field, reading.register, reason)
    return "single"


def _register_total(
    request: QuoteRequest, register: str, readings: list[tuple[int, QuoteReading]],
    gas_months: GasMonths | None,
) -> Decimal:
    if len(readings) < 2:
        raise InvalidField("readings", register, "needs at least two readings of the register")
    readings = sorted(readings, key=lambda item: item[1].date)
    for (_, before), (index, after) in itertools.pairwise(readings):
        if after.date == before.date:
            reason = "the register has two readings that day"
            raise InvalidField(f"readings[{index}].date", str(after.date), reason)
        if after.value < before.value:
            raise InvalidField(
                f"readings[{index}].value", str(after.value),
                f"is lower than the reading of {before.date} ({before.value}): a meter roll-over or a wrong "
                "reading; settle a meter change in two parts",
            )
    difference = readings[-1][1].value - readings[0][1].value
    if request.commodity == "gas":
        kwh = _gas_kwh(request, difference, gas_months)
    else:
        kwh = half_up(difference, _WHOLE)
    return checked_decimal("readings", kwh / KWH_PER_MWH, CONSUMPTION_MWH_MAX, 3)


def _gas_kwh(request: QuoteRequest, m3: Decimal, gas_months: GasMonths | None) -> Decimal:
    """Whole kWh of ``m3``: × conversion factor × calorific value (vyhláška 108/2011 Sb.), one value for
    the period or one per month (``calorific``)."""
    conversion = request.gas_conversion
    if conversion is None:
        raise InvalidField("gas_conversion", None, "is required with gas readings in m³")
    factor = _positive("gas_conversion.conversion_factor", conversion.conversion_factor,
                       CONVERSION_FACTOR_MAX)
    if conversion.calorific_value_kwh_per_m3 is not None:
        if conversion.calorific_values is not None:
            reason = "give calorific_value_kwh_per_m3 or calorific_values, not both"
            raise InvalidField("gas_conversion.calorific_values", "given", reason)
        field = "gas_conversion.calorific_value_kwh_per_m3"
        calorific = _positive(field, conversion.calorific_value_kwh_per_m3, CALORIFIC_VALUE_MAX)
        return half_up(m3 * factor * calorific, _WHOLE)
    values, source = _monthly_values(conversion, gas_months)
    period = (request.period_from, request.period_to)
    missing = missing_months(*period, values)
    if missing:
        reason = (f"{source} has no calorific value for {', '.join(f'{m:%Y-%m}' for m in missing)}: every "
                  "month of the period needs one (or give calorific_value_kwh_per_m3)")
        raise InvalidField("gas_conversion.calorific_values", f"{missing[0]:%Y-%m}", reason)
    return gas_kwh(m3, factor, values, period, gas_months.tdd if gas_months else None)


def _monthly_values(
    conversion: GasConversion, gas_months: GasMonths | None,
) -> tuple[Mapping[dt.date, Decimal], str]:
    """The request's calorific values per month (checked), else the price list's; and where they come from."""
    if conversion.calorific_values is None:
        if gas_months is None:
            raise InvalidField("gas_conversion.calorific_value_kwh_per_m3", None, "is required")
        return gas_months.listed, f"price list {gas_months.price_list}"
    if len(conversion.calorific_values) > CALORIFIC_VALUES_MAX:
        count = len(conversion.calorific_values)
        raise InvalidField("gas_conversion.calorific_values", count, f"at most {CALORIFIC_VALUES_MAX} months")
    values: dict[dt.date, Decimal] = {}
    for index, given in enumerate(conversion.calorific_values):
        field = f"gas_conversion.calorific_values[{index}]"
        year, number = given.month.split("-")
        month = dt.date(int(year), int(number), 1)
        if month in values:
            raise InvalidField(f"{field}.month", given.month, "is given twice")
        values[month] = _positive(f"{field}.kwh_per_m3", given.kwh_per_m3, CALORIFIC_VALUE_MAX)
    return values, "gas_conversion.calorific_values"


def _positive(field: str, value: Decimal, maximum: Decimal) -> Decimal:
    checked_decimal(field, value, maximum, 6)
    if value == 0:
        raise InvalidField(field, str(value), "must be greater than 0")
    return value
