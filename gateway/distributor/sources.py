"""Where the monthly report gets its readings: ``readings_for_period(conn, opm, period)``, one boundary (a
``ReadingsSource``), the report's default.

It combines the reading store's states we took (``store_readings_for_period``) with master data's meter-change
readings (``readings.masterdata_readings``) without counting a day twice. A meter we took states of is
reported month by month from them, with master data's change states as the start of a meter installed and
the end of one removed; master data's meter-change reading of such a meter (one reading over its whole time
installed, sent in the month it left) would repeat those months' days, so it is left out, and named. A
meter we never read ourselves is still reported by its meter-change reading. Gas comes from the store alone:
master data keeps no gas days.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.billing.readings.record import SOURCE_MANUAL
from gateway.distributor.gas_days import gas_meter_days
from gateway.distributor.readings import MeterPeriod, OpmRef, PeriodReadings, masterdata_readings
from gateway.distributor.store_readings import REPORTED_KINDS, counting, electricity_periods, load
from gateway.month import Month
from gateway.readings import tables as rd


async def store_readings_for_period(conn: AsyncConnection, opm: OpmRef, period: Month) -> PeriodReadings:
    """The readings we took of ``opm`` for ``period`` (a ``ReadingsSource``): electricity periods or gas
    days, one per meter."""
    loaded = await load(conn, opm, period)
    if opm.commodity == "electricity":
        return electricity_periods(loaded, period)
    gaps: list[str] = []
    meters, provisional = [], []
    for meter in counting(loaded.timeline, period):
        found = gas_meter_days(loaded.timeline, meter, period, gaps)
        if found is not None:
            meters.append(found.meter)
            provisional.append(found.provisional)
    return PeriodReadings(gas=tuple(meters), gaps=tuple(gaps), provisional=tuple(provisional))


async def readings_for_period(conn: AsyncConnection, opm: OpmRef, period: Month) -> PeriodReadings:
    """The store's readings of ``opm`` for ``period`` and master data's meter changes of meters we did not
    read ourselves."""
    stored = await store_readings_for_period(conn, opm, period)
    if opm.commodity == "gas":
        return stored
    changes = await masterdata_readings(conn, opm, period)
    kept: list[MeterPeriod] = []
    gaps = list(stored.gaps)
    for change in changes.electricity:
        if await _read_by_us(conn, opm, change):
            gaps.append(
                f"meter {change.meter_id}: master data's meter-change reading ({change.date_from} to "
                f"{change.date_to}) is not sent: the states we took of it are reported month by month"
            )
        else:
            kept.append(change)
    gaps.extend(changes.gaps)
    return PeriodReadings(
        electricity=(*stored.electricity, *kept), gaps=tuple(gaps), provisional=stored.provisional
    )


async def _read_by_us(conn: AsyncConnection, opm: OpmRef, change: MeterPeriod) -> bool:
    """Whether the store holds a state we took of the changed meter while it was installed."""
    r = rd.reading.c
    query = sa.select(r.id).where(
        r.opm == opm.code, r.meter_id == change.meter_id, r.source == SOURCE_MANUAL,
        r.superseded_by.is_(None), r.status != "duplicate", r.kind.in_(REPORTED_KINDS),
        r.date_to >= change.date_from, r.date_to < change.date_to,
    ).limit(1)
    return (await conn.scalar(query)) is not None
