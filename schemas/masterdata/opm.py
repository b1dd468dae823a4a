"""Point of delivery (OPM, odběrné místo): its code, DSO, supply address, technical data valid from a date,
and its meters with their registers."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated, Final, Literal

import msgspec

from schemas.masterdata.common import Address, Commodity, Text

#: Distribution rates (distribuční sazby) of the Czech price decision: D = households, C = businesses.
ELECTRICITY_RATES: Final = frozenset({
    "D01d", "D02d", "D25d", "D26d", "D27d", "D35d", "D45d", "D56d", "D57d", "D61d",
    "C01d", "C02d", "C03d", "C25d", "C26d", "C27d", "C35d", "C45d", "C46d", "C55d", "C56d", "C62d",
})
#: Gas consumption bands by yearly consumption in MWh (the DSO price lists' "pásma").
GAS_BANDS: Final = frozenset({"0-1.89", "1.89-7.56", "7.56-15", "15-20", "20-63", "63-630", "630+"})
#: Standard load profile classes (TDD): electricity 1-8, gas by segment and heating use.
ELECTRICITY_TDD: Final = frozenset(str(n) for n in range(1, 9))
GAS_TDD: Final = frozenset({"DOM1", "DOM2", "DOM3", "DOM4", "MO1", "MO2", "MO3", "MO4"})
#: A gas meter's conversion factor (objemový přepočítací koeficient, vyhláška 108/2011 Sb., příloha 1: the
#: metering pressure and temperature against the reference conditions) lies in this range: about 0.83 at
#: the highest Czech altitudes, just above 1 with an overpressure regulator; outside it, a typing error.
GAS_CONVERSION_FACTOR_MIN: Final = Decimal("0.5")
GAS_CONVERSION_FACTOR_MAX: Final = Decimal("1.5")
#: Decimal places of a conversion factor: the DSOs publish four; six leaves room, the column keeps six.
GAS_CONVERSION_FACTOR_DECIMALS_MAX: Final = 6
#: A calorific-value area's code (oblast spalného tepla): the key of the price list's ``area`` of the DSO.
GAS_AREA_CHARS_MAX: Final = 12
#: Largest main breaker accepted (A); above it the point is metered by a different regime.
BREAKER_AMPS_MAX: Final = 4000

RegisterCode = Literal["VT", "NT", "SINGLE"]
Unit = Literal["kWh", "m3"]


class Technical(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Technical data of an OPM valid from ``effective_from`` until the next version starts.

    Electricity needs ``distribution_rate`` and a breaker (phases x amps); gas needs ``gas_band``. Gas may
    carry the meter's ``gas_conversion_factor`` (billed as 1 without it) and the ``gas_area`` whose monthly
    calorific values convert its m³ (the DSO's default values without it; docs/billing.md).
    """

    effective_from: dt.date
    distribution_rate: str | None = None
    breaker_phases: Literal[1, 3] | None = None
    breaker_amps: Annotated[int, msgspec.Meta(ge=1, le=BREAKER_AMPS_MAX)] | None = None
    gas_band: str | None = None
    tdd_class: str | None = None
    annual_consumption_kwh: Decimal | None = None  # checked >= 0 by the service
    gas_conversion_factor: Decimal | None = None  # checked in its range by the service
    gas_area: Annotated[str, msgspec.Meta(min_length=1, max_length=GAS_AREA_CHARS_MAX)] | None = None


class Register(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    code: RegisterCode
    unit: Unit
    digits: Annotated[int, msgspec.Meta(ge=4, le=10)] = 6


class MeterIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    serial: Text
    installed_on: dt.date
    registers: Annotated[list[Register], msgspec.Meta(min_length=1, max_length=4)]


class MeterChange(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The meter ``removed_serial`` leaves on ``changed_on``; ``new_meter`` is installed that day."""

    removed_serial: Text
    changed_on: dt.date
    new_meter: MeterIn
    final_readings: dict[str, Decimal] = msgspec.field(default_factory=dict)
    initial_readings: dict[str, Decimal] = msgspec.field(default_factory=dict)


class Meter(msgspec.Struct, frozen=True, kw_only=True):
    serial: str
    installed_on: dt.date
    removed_on: dt.date | None
    registers: list[Register]
    #: Readings by register code when the meter was installed and removed (a meter change records both).
    initial_readings: dict[str, Decimal]
    final_readings: dict[str, Decimal]


class OpmIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A new OPM. ``code`` is the EAN (18 digits, electricity) or EIC (16 characters, gas); the commodity
    follows from it. ``dso`` is the distribution system operator's name or 13-digit participant EAN."""

    code: str
    dso: Text
    supply_address: Address
    technical: Technical
    meters: list[MeterIn] = msgspec.field(default_factory=list)


class OpmPatch(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    version: int
    dso: Text | msgspec.UnsetType = msgspec.UNSET
    supply_address: Address | msgspec.UnsetType = msgspec.UNSET


class SupplyPeriod(msgspec.Struct, frozen=True, kw_only=True):
    """Our supply to the OPM under ``contract`` from ``start`` to ``end`` (inclusive; None: open)."""

    contract: str
    start: dt.date
    end: dt.date | None


class Opm(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    code: str
    commodity: Commodity
    dso: str
    supply_address: Address
    technical: Technical | None  # as of the date asked (today by default); None before the first version
    technical_history: list[Technical]
    meters: list[Meter]
    supply: list[SupplyPeriod]
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime
