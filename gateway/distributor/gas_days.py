"""Gas days for the report (CDSGASPOF) from the states we took of a gas meter (``store_readings``).

A gas reading entered here is the meter's state in m³ on a day, filed under that day (the gas day ``D``,
06:00 on ``D`` to 06:00 the next day). Gas day ``D`` is sent when the meter has a state at the end of ``D``
and one at the end of ``D − 1``: its volume is their difference (across a roll-over when master data knows
the digits). A state whose previous one lies several days back spans several days, which GP6's daily values
cannot carry; those days are named as a gap, never spread over the days by a guess.

The calorific value: the store keeps none for the readings we take (only CS OTE's GP6 days carry one), and
proud has no intake of the measured values (the transmission system operator's). Each day is therefore sent
with ``GAS_KWH_PER_M3_PROVISIONAL`` [I], the figure the store already used for those readings' kWh, and
energy = m³ × that value (conversion factor 1, rounded as ``gateway.readings.gas``); the report names such
an OPM as sent with provisional values. Replace it by the measured calorific value once proud has it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from gateway.billing.readings import timeline as tl
from gateway.billing.readings.compute import difference
from gateway.billing.readings.record import GAS_KWH_PER_M3_PROVISIONAL
from gateway.distributor.readings import GasDay, GasMeterDays
from gateway.distributor.store_readings import boundaries, estimates_named, reported_states
from gateway.masterdata.service_base import LOCAL_TIMEZONE
from gateway.month import Month
from gateway.readings.gas import energy_kwh

#: [C] A gas day starts at 06:00 local time (GP6 ``gasDay``, e.g. ``2018-01-01T06:00:00+01:00``).
GAS_DAY_STARTS: Final = dt.time(6)
#: Days without a gas value listed by date in a gap (beyond it only counted): a month's worth is unreadable.
DAYS_LISTED_MAX: Final = 5
#: A gas meter counts on its one register.
GAS_REGISTER: Final = "single"
_NO_FACTOR: Final = Decimal(1)
_ONE_DAY: Final = dt.timedelta(days=1)


@dataclass(frozen=True, slots=True)
class MeterDays:
    """A gas meter's days and what in them is provisional, in words."""

    meter: GasMeterDays
    provisional: str


def gas_meter_days(
    timeline: tl.Timeline, meter: tl.MeterInfo, period: Month, gaps: list[str]
) -> MeterDays | None:
    """The meter's gas days of ``period`` with both states, or None; what is missing goes to ``gaps``."""
    boundary, last = boundaries(meter, period)
    states = reported_states(timeline, meter, GAS_REGISTER)
    estimates = estimates_named(timeline, meter, boundary, last)
    if estimates is not None:
        gaps.append(estimates)
    days: list[GasDay] = []
    missing: list[dt.date] = []
    day = boundary + _ONE_DAY
    while day <= last:
        before, after = states.get(day - _ONE_DAY), states.get(day)
        if before is None or after is None:
            missing.append(day)
        else:
            volume, _ = difference(before.state, after.state, meter.digits.get(GAS_REGISTER))
            if volume < 0:
                gaps.append(f"meter {meter.serial}: gas day {day} ends at {after.state} m3, below the state "
                            f"{before.state} m3 of the day before (not a roll-over)")
            else:
                days.append(_gas_day(day, volume))
        day += _ONE_DAY
    if not days:
        taken = sorted(found for found in states if boundary < found <= last)
        if taken:
            listed = ", ".join(str(found) for found in taken[:DAYS_LISTED_MAX])
            gaps.append(f"meter {meter.serial}: states of {listed} give no gas day: GP6 carries daily "
                        "values, which need states at the end of a day and of the day before")
        return None
    if missing:
        gaps.append(_missing(meter.serial, missing))
    provisional = (f"meter {meter.serial}: calorific value {GAS_KWH_PER_M3_PROVISIONAL} kWh/m3 is "
                   "provisional: proud has no measured calorific values")
    found = GasMeterDays(
        meter_id=meter.serial, date_from=days[0].gas_day.date(), date_to=days[-1].gas_day.date(),
        days=tuple(days),
    )
    return MeterDays(found, provisional)


def _gas_day(day: dt.date, volume: Decimal) -> GasDay:
    return GasDay(
        gas_day=dt.datetime.combine(day, GAS_DAY_STARTS, tzinfo=LOCAL_TIMEZONE), volume_m3=volume,
        calorific_value_kwh_per_m3=GAS_KWH_PER_M3_PROVISIONAL,
        energy_kwh=energy_kwh(volume, _NO_FACTOR, GAS_KWH_PER_M3_PROVISIONAL),
    )


def _missing(serial: str, days: list[dt.date]) -> str:
    listed = ", ".join(str(day) for day in days[:DAYS_LISTED_MAX])
    more = f" and {len(days) - DAYS_LISTED_MAX} more" if len(days) > DAYS_LISTED_MAX else ""
    return (f"meter {serial}: no gas value for {len(days)} days ({listed}{more}): no states at the end of "
            "the day and of the day before")
