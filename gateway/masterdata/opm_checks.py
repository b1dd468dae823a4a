"""Checks of OPM input: the code decides the commodity, and technical data, meters and readings must fit it.

Every check raises ``InvalidField`` with the path of the field from the root of the document it was given
(``technical.distribution_rate`` when creating an OPM, ``distribution_rate`` when setting technical data).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Final

from gateway.errors import InvalidField
from gateway.masterdata.energy import EAN_OPM_LENGTH, EAN_PARTICIPANT_LENGTH, EIC_LENGTH
from gateway.masterdata.identifiers import validate_ean_opm, validate_ean_participant, validate_eic
from gateway.masterdata.service_base import checked
from schemas.masterdata.common import Commodity
from schemas.masterdata.opm import (
    ELECTRICITY_RATES,
    ELECTRICITY_TDD,
    GAS_BANDS,
    GAS_CONVERSION_FACTOR_DECIMALS_MAX,
    GAS_CONVERSION_FACTOR_MAX,
    GAS_CONVERSION_FACTOR_MIN,
    GAS_TDD,
    MeterIn,
    Register,
    Technical,
)

#: Distribution rates with a high (VT) and a low (NT) tariff: their meters count on two registers.
TWO_TARIFF_RATES: Final = frozenset({
    "D25d", "D26d", "D27d", "D35d", "D45d", "D56d", "D57d", "D61d",
    "C25d", "C26d", "C27d", "C35d", "C45d", "C46d", "C55d", "C56d", "C62d",
})
assert TWO_TARIFF_RATES < ELECTRICITY_RATES
UNIT_BY_COMMODITY: Final[Mapping[Commodity, str]] = {"electricity": "kWh", "gas": "m3"}
#: Quantities are stored as NUMERIC(17, 3): 14 digits before the point, 3 after.
QUANTITY_DECIMALS_MAX: Final = 3
ANNUAL_CONSUMPTION_KWH_MAX: Final = Decimal(10) ** 14

_TWO_REGISTERS: Final = ("NT", "VT")
_AREA: Final = re.compile(r"[A-Za-z0-9_-]+")
_ONE_REGISTER: Final = ("SINGLE",)


def at(prefix: str, name: str) -> str:
    """The path of field ``name`` inside ``prefix`` (the document root when empty)."""
    return f"{prefix}.{name}" if prefix else name


def opm_code(field: str, value: str) -> tuple[str, Commodity]:
    """The canonical OPM code and the commodity it implies: 18 digits are an electricity EAN, 16 characters
    a gas EIC."""
    text = "".join(value.split())
    if len(text) == EAN_OPM_LENGTH and text.isascii() and text.isdigit():
        return checked(field, validate_ean_opm, value), "electricity"
    if len(text) == EIC_LENGTH:
        return checked(field, validate_eic, value), "gas"
    reason = (
        f"is neither an electricity OPM EAN ({EAN_OPM_LENGTH} digits) "
        f"nor a gas OPM EIC ({EIC_LENGTH} characters); it has {len(text)} characters"
    )
    raise InvalidField(field, value, reason)


def lookup_code(value: str) -> str:
    """The stored spelling of a code asked for: no whitespace, EIC letters upper-case (as validation)."""
    return "".join(value.split()).upper()


def check_dso(field: str, value: str) -> str:
    """A DSO given by its 13-digit participant EAN must carry a valid one; a name is taken as it is."""
    text = "".join(value.split())
    if len(text) == EAN_PARTICIPANT_LENGTH and text.isascii() and text.isdigit():
        return checked(field, validate_ean_participant, value)
    return value


def check_quantity(field: str, value: Decimal, limit: Decimal) -> None:
    """A finite quantity in ``[0, limit)`` with at most the decimals the columns keep."""
    if not value.is_finite():
        raise InvalidField(field, str(value), "is not a finite number")
    if value < 0:
        raise InvalidField(field, str(value), "is negative")
    if value >= limit:
        raise InvalidField(field, str(value), f"is not below {limit}")
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int), "finite decimals have an integer exponent"
    if -exponent > QUANTITY_DECIMALS_MAX:
        raise InvalidField(field, str(value), f"has more than {QUANTITY_DECIMALS_MAX} decimal places")


def check_technical(prefix: str, commodity: Commodity, technical: Technical) -> None:
    """Electricity needs a distribution rate and a breaker, gas a band; neither carries the other's data."""
    if commodity == "electricity":
        _check_electricity(prefix, technical)
        tdd_classes = ELECTRICITY_TDD
    else:
        _check_gas(prefix, technical)
        tdd_classes = GAS_TDD
    if technical.tdd_class is not None and technical.tdd_class not in tdd_classes:
        reason = f"is not a {commodity} load profile class (one of {', '.join(sorted(tdd_classes))})"
        raise InvalidField(at(prefix, "tdd_class"), technical.tdd_class, reason)
    if technical.annual_consumption_kwh is not None:
        check_quantity(
            at(prefix, "annual_consumption_kwh"), technical.annual_consumption_kwh, ANNUAL_CONSUMPTION_KWH_MAX
        )


def _check_electricity(prefix: str, technical: Technical) -> None:
    rate = technical.distribution_rate
    if rate is None:
        raise InvalidField(at(prefix, "distribution_rate"), None, "is required for electricity")
    if rate not in ELECTRICITY_RATES:
        reason = f"is not a distribution rate (one of {', '.join(sorted(ELECTRICITY_RATES))})"
        raise InvalidField(at(prefix, "distribution_rate"), rate, reason)
    if technical.breaker_phases is None:
        raise InvalidField(at(prefix, "breaker_phases"), None, "is required for electricity")
    if technical.breaker_amps is None:
        raise InvalidField(at(prefix, "breaker_amps"), None, "is required for electricity")
    for name in ("gas_band", "gas_conversion_factor", "gas_area"):
        value = getattr(technical, name)
        if value is not None:
            raise InvalidField(at(prefix, name), str(value), "is for gas; this OPM is electricity")


def _check_gas(prefix: str, technical: Technical) -> None:
    if technical.gas_band is None:
        raise InvalidField(at(prefix, "gas_band"), None, "is required for gas")
    if technical.gas_band not in GAS_BANDS:
        reason = f"is not a gas consumption band (one of {', '.join(sorted(GAS_BANDS))})"
        raise InvalidField(at(prefix, "gas_band"), technical.gas_band, reason)
    for name in ("distribution_rate", "breaker_phases", "breaker_amps"):
        value = getattr(technical, name)
        if value is not None:
            raise InvalidField(at(prefix, name), value, "is for electricity; this OPM is gas")
    factor = technical.gas_conversion_factor
    if factor is not None:
        field = at(prefix, "gas_conversion_factor")
        if not (factor.is_finite() and GAS_CONVERSION_FACTOR_MIN <= factor <= GAS_CONVERSION_FACTOR_MAX):
            reason = f"must be from {GAS_CONVERSION_FACTOR_MIN} to {GAS_CONVERSION_FACTOR_MAX} (about 1)"
            raise InvalidField(field, str(factor), reason)
        exponent = factor.as_tuple().exponent
        assert isinstance(exponent, int), "finite decimals have an integer exponent"
        if -exponent > GAS_CONVERSION_FACTOR_DECIMALS_MAX:
            reason = f"has more than {GAS_CONVERSION_FACTOR_DECIMALS_MAX} decimal places"
            raise InvalidField(field, str(factor), reason)
    if technical.gas_area is not None and not _AREA.fullmatch(technical.gas_area):
        reason = "must be letters, digits, '-' or '_' (the area's code in the DSO's price list)"
        raise InvalidField(at(prefix, "gas_area"), technical.gas_area, reason)


def expected_registers(commodity: Commodity, rate: str | None) -> tuple[tuple[str, ...], str]:
    """The register codes a meter needs (sorted) and why, in words for the error."""
    if commodity == "gas":
        return _ONE_REGISTER, "a gas meter"
    assert rate is not None, "electricity technical data always has a rate"
    if rate in TWO_TARIFF_RATES:
        return _TWO_REGISTERS, f"the two-tariff rate {rate}"
    return _ONE_REGISTER, f"the single-tariff rate {rate}"


def check_meter(prefix: str, commodity: Commodity, rate: str | None, meter: MeterIn) -> None:
    """The registers count in the commodity's unit, and are the ones the distribution rate bills."""
    registers = at(prefix, "registers")
    unit = UNIT_BY_COMMODITY[commodity]
    for index, register in enumerate(meter.registers):
        if register.unit != unit:
            raise InvalidField(f"{registers}[{index}].unit", register.unit, f"must be {unit} for {commodity}")
    codes = tuple(sorted(register.code for register in meter.registers))
    expected, why = expected_registers(commodity, rate)
    if codes != expected:
        reason = f"must be the registers {' and '.join(expected)} (each once) for {why}"
        raise InvalidField(registers, list(codes), reason)


def check_new_meters(prefix: str, commodity: Commodity, rate: str | None, meters: Iterable[MeterIn]) -> None:
    """Each meter fits the rate, and no serial is listed twice."""
    serials: set[str] = set()
    for index, meter in enumerate(meters):
        path = f"{prefix}[{index}]"
        if meter.serial in serials:
            raise InvalidField(f"{path}.serial", meter.serial, "is listed twice")
        serials.add(meter.serial)
        check_meter(path, commodity, rate, meter)


def check_readings(field: str, readings: Mapping[str, Decimal], registers: list[Register]) -> dict[str, str]:
    """Readings name exactly the meter's registers and fit its digits; returned as decimal strings by code
    (the JSON the meter row keeps)."""
    by_code: dict[str, Register] = {register.code: register for register in registers}
    if set(readings) != set(by_code):
        reason = f"must give one reading for each register of the meter: {', '.join(sorted(by_code))}"
        raise InvalidField(field, sorted(readings), reason)
    for code, value in readings.items():
        check_quantity(f"{field}.{code}", value, Decimal(10) ** by_code[code].digits)
    return {code: str(value) for code, value in sorted(readings.items())}
