"""An OPM's master-data rows as its structs: the supply address (``md_address``), a version of the technical
data (``md_opm_technical``) and a meter (``md_meter``). Compiled (``gateway.compiled``): a mass run builds
them for every OPM of a batch, the services for one."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec

from schemas.masterdata.common import Address
from schemas.masterdata.opm import Meter, Register, Technical


def address_from_row(row: Any) -> Address:
    return Address(
        street=row.street, house_number=row.house_number, city=row.city, city_part=row.city_part,
        postal_code=row.postal_code, country=row.country,
    )


def technical_from(row: Any) -> Technical:
    return Technical(
        effective_from=row.effective_from, distribution_rate=row.distribution_rate,
        breaker_phases=row.breaker_phases, breaker_amps=row.breaker_amps, gas_band=row.gas_band,
        tdd_class=row.tdd_class, annual_consumption_kwh=row.annual_consumption_kwh,
        gas_conversion_factor=row.gas_conversion_factor, gas_area=row.gas_area,
    )


def meter_from(row: Any) -> Meter:
    return Meter(
        serial=row.serial, installed_on=row.installed_on, removed_on=row.removed_on,
        registers=msgspec.convert(row.registers, list[Register]),
        initial_readings={code: Decimal(value) for code, value in (row.initial_readings or {}).items()},
        final_readings={code: Decimal(value) for code, value in (row.final_readings or {}).items()},
    )
