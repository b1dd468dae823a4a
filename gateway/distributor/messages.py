"""The report's messages: one OPM's readings for a month as CDSDATA (electricity) or CDSGASPOF (gas). Pure.

One message per OPM and month, so that the ``ote.outbound`` key (the OPM) orders it with the OPM's other
messages and the report can remember it per (OPM, month).
"""

from __future__ import annotations

import datetime as dt

from gateway.distributor.codes import (
    GAS_POF_FIRST_VERSION,
    MESSAGE_CODE_METERED_ELECTRICITY,
    MESSAGE_CODE_METERED_GAS,
    READING_REASON_BY_CAUSE,
    READING_TYPE_BY_KIND,
    REGISTER_BY_MASTERDATA_CODE,
)
from gateway.distributor.identity import DistributorIdentity
from gateway.distributor.readings import GasMeterDays, MeterPeriod, OpmRef, PeriodReadings
from gateway.month import Month
from schemas.ote import (
    ElectricityReading,
    GasDayValue,
    GasMeter,
    GasSegment,
    MeteredElectricity,
    MeteredGas,
    RegisterReading,
)


def report_message(
    identity: DistributorIdentity, opm: OpmRef, period: Month, readings: PeriodReadings, now: dt.datetime
) -> MeteredElectricity | MeteredGas:
    """The message of ``opm``'s readings (not empty) for ``period``, from us to CS OTE, dated ``now``."""
    assert not readings.empty, opm.code
    if opm.commodity == "electricity":
        assert not readings.gas, f"OPM {opm.code} is electricity but has gas days"
        return MeteredElectricity(
            envelope=identity.envelope(MESSAGE_CODE_METERED_ELECTRICITY, now),
            readings=tuple(_electricity(opm.code, meter) for meter in readings.electricity),
        )
    assert not readings.electricity, f"OPM {opm.code} is gas but has electricity readings"
    # [I] The DSO's document ids: deterministic per OPM and month, so a resend of the same report is
    # recognisable; bounded by DocumentId (35 characters): 6 + 16 for a gas EIC.
    document = f"{period.year:04d}{period.month:02d}{opm.code}"
    return MeteredGas(
        envelope=identity.envelope(MESSAGE_CODE_METERED_GAS, now), pof_id=document,
        version=GAS_POF_FIRST_VERSION, period_from=period.first_day, period_to=period.last_day,
        segment=GasSegment.INV, number=document, opm=opm.code,
        meters=tuple(_gas(meter) for meter in readings.gas),
    )


def _electricity(opm: str, meter: MeterPeriod) -> ElectricityReading:
    registers = tuple(
        RegisterReading(
            register=REGISTER_BY_MASTERDATA_CODE[register.register], start_state_kwh=register.start_state,
            end_state_kwh=register.end_state, consumption_kwh=register.consumption,
        )
        for register in meter.registers
    )
    return ElectricityReading(
        opm=opm, meter_id=meter.meter_id, date_from=meter.date_from, date_to=meter.date_to,
        reading_type=READING_TYPE_BY_KIND[meter.kind], reading_reason=READING_REASON_BY_CAUSE[meter.cause],
        registers=registers,
    )


def _gas(meter: GasMeterDays) -> GasMeter:
    days = tuple(
        GasDayValue(
            gas_day=day.gas_day, volume_m3=day.volume_m3,
            calorific_value_kwh_per_m3=day.calorific_value_kwh_per_m3, energy_kwh=day.energy_kwh,
        )
        for day in meter.days
    )
    return GasMeter(meter_id=meter.meter_id, date_from=meter.date_from, date_to=meter.date_to, days=days)
