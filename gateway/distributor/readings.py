"""The report's readings: what a source holds for an OPM and month (``PeriodReadings``); master data's part.

A source is any ``ReadingsSource``: ``(conn, opm, period) -> PeriodReadings``. The report's default is
``gateway.distributor.sources.readings_for_period``, the combination of two:

* master data (``masterdata_readings``, here): the meter readings it stores when a meter is changed
  (``gateway.masterdata.opm.change_meter``: the removed meter's final readings, the new meter's initial
  ones). A meter with both gives one reading for the time it was installed, reported in the month it was
  removed;
* the reading store (``gateway.distributor.store_readings``: tables ``rd_reading`` and ``rd_register``,
  ``gateway.readings.tables``), of which only the readings this install took count (source ``manual``),
  never those CS OTE sent us (source ``ote``): a DSO does not send CS OTE its own data back.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final, Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.masterdata import tables as t
from gateway.month import Month

#: Reading kinds and causes of our own vocabulary (``codes`` maps them to OTE's codes); ``customer`` is a
#: customer's self-reading the DSO accepted.
ReadingKind = Literal["actual", "customer", "estimated"]
ReadingCause = Literal["periodic", "switch", "final", "move", "control", "meter_change"]


@dataclass(frozen=True, slots=True)
class OpmRef:
    """An OPM the report covers: its row id, code and commodity."""

    id: uuid.UUID
    code: str
    commodity: Literal["electricity", "gas"]


@dataclass(frozen=True, slots=True)
class RegisterPeriod:
    """One register over a reading period: master data's register code, both states, the consumption."""

    register: str
    start_state: Decimal
    end_state: Decimal
    consumption: Decimal


@dataclass(frozen=True, slots=True)
class MeterPeriod:
    """One electricity meter read over ``date_from``–``date_to``."""

    meter_id: str
    date_from: dt.date
    date_to: dt.date
    kind: ReadingKind
    cause: ReadingCause
    registers: tuple[RegisterPeriod, ...]


@dataclass(frozen=True, slots=True)
class GasDay:
    """One gas day of a gas meter: volume (m³), calorific value (kWh/m³) and energy (kWh)."""

    gas_day: dt.datetime
    volume_m3: Decimal
    calorific_value_kwh_per_m3: Decimal
    energy_kwh: Decimal


@dataclass(frozen=True, slots=True)
class GasMeterDays:
    meter_id: str | None
    date_from: dt.date
    date_to: dt.date
    days: tuple[GasDay, ...]


@dataclass(frozen=True, slots=True)
class PeriodReadings:
    """What a source holds for one OPM and month; ``gaps`` says, in words, what it could not use and why;
    ``provisional`` what it sends that is not measured (the report names both in its summary)."""

    electricity: tuple[MeterPeriod, ...] = ()
    gas: tuple[GasMeterDays, ...] = ()
    gaps: tuple[str, ...] = ()
    provisional: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.electricity and not self.gas


ReadingsSource = Callable[[AsyncConnection, OpmRef, Month], Awaitable[PeriodReadings]]

#: What master data lacks for a gas report, in the words of a skipped OPM.
GAS_NOT_IN_MASTERDATA: Final = (
    "master data keeps no gas-day values (volume, calorific value, energy); the readings store does"
)


async def masterdata_readings(conn: AsyncConnection, opm: OpmRef, period: Month) -> PeriodReadings:
    """The readings of ``opm`` for ``period`` from master data: each meter removed in the period that has
    both an initial and a final reading gives one ``meter_change`` reading over its time installed."""
    if opm.commodity == "gas":
        return PeriodReadings(gaps=(GAS_NOT_IN_MASTERDATA,))
    m = t.meter.c
    rows = (await conn.execute(
        sa.select(m.serial, m.installed_on, m.removed_on, m.initial_readings, m.final_readings)
        .where(m.opm_id == opm.id, m.removed_on >= period.first_day, m.removed_on <= period.last_day)
        .order_by(m.removed_on, m.serial)
    )).all()
    periods: list[MeterPeriod] = []
    gaps: list[str] = []
    for row in rows:
        found = _meter_period(row)
        if isinstance(found, str):
            gaps.append(found)
        else:
            periods.append(found)
    return PeriodReadings(electricity=tuple(periods), gaps=tuple(gaps))


def _meter_period(row: Any) -> MeterPeriod | str:
    """The reading of one removed meter, or why there is none."""
    initial: Mapping[str, str] = row.initial_readings or {}
    final: Mapping[str, str] = row.final_readings or {}
    meter = f"meter {row.serial} (removed on {row.removed_on})"
    if not initial:
        return f"{meter}: no reading at its installation on {row.installed_on}, so no start state"
    if set(initial) != set(final):
        return f"{meter}: registers {sorted(initial)} at installation but {sorted(final)} at removal"
    registers = []
    for code in sorted(final):
        start, end = Decimal(initial[code]), Decimal(final[code])
        if end < start:
            return f"{meter}: register {code} ends at {end}, below its start {start} (rollover or error)"
        registers.append(RegisterPeriod(code, start, end, end - start))
    return MeterPeriod(
        meter_id=row.serial, date_from=row.installed_on, date_to=row.removed_on, kind="actual",
        cause="meter_change", registers=tuple(registers),
    )
