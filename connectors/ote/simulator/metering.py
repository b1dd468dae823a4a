"""Generated metered data: electricity register readings (CDSDATA) and gas daily values (CDSGASPOF, GP6).

Consumption is made up but reproducible: each day's amount is the OPM's average times a factor drawn from a
hash of the OPM and the date, so the same run sends the same numbers and tests can assert them. Meter
states only grow. Reading a period moves the OPM's ``read_until`` and states forward, so no day is sent
twice as new data.

Gas: the daily volume (m³) follows the heating season; the gross calorific value is about 10.6 kWh/m³
([C] ote-market.md §7: "1 m³ ≈ 10.55 kWh"; the sample has 10.6649) and energy = volume × calorific value
(the volume correction factor is taken as 1, as in the sample, [C] §7).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from decimal import Decimal
from typing import Final

from connectors.ote.simulator import codes
from connectors.ote.simulator.registry import Opm
from gateway.errors import InvalidField
from gateway.process.calendar import PRAGUE
from schemas.ote import ElectricityReading, Envelope, GasDayValue, GasMeter, GasSegment, MeteredGas
from schemas.ote.metered import Register, RegisterReading

#: One period read at once at most (ten years of days); a longer one is a seeding mistake.
PERIOD_DAYS_MAX: Final = 3_660
#: Daily amounts vary by ± this share around the average.
DAILY_SPREAD: Final = 0.3
#: [I] Share of a two-rate meter's consumption in the high tariff.
HIGH_TARIFF_SHARE: Final = Decimal("0.42")
KWH: Final = Decimal("0.001")
M3: Final = Decimal("0.001")
CALORIFIC: Final = Decimal("0.0001")
CALORIFIC_KWH_PER_M3: Final = 10.6
CALORIFIC_SPREAD_KWH_PER_M3: Final = 0.08
#: Gas use in midwinter over the yearly average (and under it in midsummer): heating.
GAS_SEASON_AMPLITUDE: Final = 0.7
#: [C] A gas day starts at 06:00 local time (ote-market.md §4 sample ``gasDay``).
GAS_DAY_START: Final = dt.time(6, 0)


def _unit(*parts: object) -> float:
    """A number in [0, 1) fixed by ``parts``: the same OPM and day always draw the same."""
    digest = hashlib.sha256(":".join(str(part) for part in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _factor(opm: str, day: dt.date) -> float:
    return 1.0 + DAILY_SPREAD * (2 * _unit(opm, day) - 1)


def _days(first: dt.date, last: dt.date) -> list[dt.date]:
    count = (last - first).days + 1
    if count > PERIOD_DAYS_MAX:
        raise InvalidField("date_to", last, f"reads {count} days at once; at most {PERIOD_DAYS_MAX}")
    return [first + dt.timedelta(days=offset) for offset in range(max(count, 0))]


def _shares(registers: tuple[str, ...]) -> dict[str, Decimal]:
    if len(registers) == 1:
        return {registers[0]: Decimal(1)}
    high, rest = HIGH_TARIFF_SHARE, (1 - HIGH_TARIFF_SHARE) / (len(registers) - 1)
    return {register: high if register == Register.VT else rest for register in registers}


def electricity_reading(opm: Opm, last: dt.date, *, reason: str) -> ElectricityReading:
    """The register reading from the day after ``read_until`` to ``last``, moving the OPM on to ``last``.

    Nothing left to read (``read_until`` is ``last`` or later): a reading of ``last`` alone with no
    consumption, as a switch or final reading must still state the meter.
    """
    first = opm.read_until + dt.timedelta(days=1)
    days = _days(first, last)
    total = sum((opm.daily * Decimal(repr(_factor(opm.code, day))) for day in days), Decimal(0))
    registers = []
    for register, share in _shares(opm.registers).items():
        start = opm.states[register]
        used = (total * share).quantize(KWH)
        opm.states[register] = start + used
        registers.append(RegisterReading(
            register=Register(register), start_state_kwh=start, end_state_kwh=start + used,
            consumption_kwh=used,
        ))
    opm.read_until = max(opm.read_until, last)
    return ElectricityReading(
        opm=opm.code, meter_id=opm.meter_id, date_from=min(first, last), date_to=last,
        reading_type=codes.READING_TYPE_ACTUAL, reading_reason=reason, registers=tuple(registers),
    )


def initial_reading(opm: Opm, day: dt.date) -> ElectricityReading:
    """The meter as the new supplier takes it over on ``day``: states only, no consumption."""
    return ElectricityReading(
        opm=opm.code, meter_id=opm.meter_id, date_from=day, date_to=day,
        reading_type=codes.READING_TYPE_ACTUAL, reading_reason=codes.READING_REASON_SWITCH,
        registers=tuple(
            RegisterReading(
                register=Register(register), start_state_kwh=state, end_state_kwh=state,
                consumption_kwh=Decimal("0.000"),
            )
            for register, state in opm.states.items()
        ),
    )


def _gas_day(opm: Opm, day: dt.date) -> GasDayValue:
    season = 1 + GAS_SEASON_AMPLITUDE * math.cos(2 * math.pi * (day.timetuple().tm_yday - 15) / 365.25)
    volume = (opm.daily * Decimal(repr(season * _factor(opm.code, day)))).quantize(M3)
    calorific = Decimal(repr(
        CALORIFIC_KWH_PER_M3 + CALORIFIC_SPREAD_KWH_PER_M3 * (2 * _unit("cv", day) - 1)
    )).quantize(CALORIFIC)
    return GasDayValue(
        gas_day=dt.datetime.combine(day, GAS_DAY_START, tzinfo=PRAGUE), volume_m3=volume,
        calorific_value_kwh_per_m3=calorific, energy_kwh=(volume * calorific).quantize(KWH),
    )


def gas_document(opm: Opm, last: dt.date, *, envelope: Envelope, segment: GasSegment) -> MeteredGas | None:
    """GP6 daily values from the day after ``read_until`` to ``last``; None when no day is left to send."""
    first = opm.read_until + dt.timedelta(days=1)
    days = tuple(_gas_day(opm, day) for day in _days(first, last))
    if not days:
        return None
    opm.states[opm.registers[0]] += sum((value.volume_m3 for value in days), Decimal(0))
    opm.read_until = last
    meter = GasMeter(meter_id=opm.meter_id, date_from=first, date_to=last, days=days)
    return MeteredGas(
        envelope=envelope, pof_id=envelope.id, version=1, period_from=first, period_to=last,
        segment=segment, number=envelope.id[:20], opm=opm.code, meters=(meter,),
    )
