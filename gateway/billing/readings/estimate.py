"""Estimating a missing reading: the states of the meter counting on a day, stored as kind ``estimated``.

Each register's state is its last state before the day that is not an estimate (``base``), plus:

* **history**: the register's average consumption per day over about a year before ``base`` (the state
  nearest a year earlier, at least ``HISTORY_SPAN_DAYS_MIN`` before), times the days between; or, without
  such history,
* **profile**: the OPM's expected annual consumption (``md_opm_technical.annual_consumption_kwh``) times
  the register's share (``profile.REGISTER_SHARES_SAMPLE``) times the TDD class's share of the days between
  (``profile.share_between``); gas in m³ at the provisional kWh per m³.

Rounded half-up to whole units (``ESTIMATE_QUANTUM``), as a meter shows them; a state past the register's
range wraps. The estimate is stored through ``record.store_states`` (a ``meter.reading`` with kind
``estimated``) and replaced by the first reading that is not an estimate within
``ESTIMATE_REPLACED_WITHIN_DAYS`` (``gateway.readings.estimates``) of its day. Where such a reading exists
already, no estimate is made (``Conflict``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.billing.readings import profile, record
from gateway.billing.readings import timeline as tl
from gateway.billing.readings.compute import difference
from gateway.errors import Conflict
from gateway.masterdata import tables as md
from gateway.readings.estimates import ESTIMATE_REPLACED_WITHIN_DAYS
from schemas.billing.readings import Estimate, EstimatedRegister, EstimateIn, EstimateMethod
from schemas.readings import Register

#: The history an estimate averages over: about a year before the last state.
HISTORY_DAYS: Final = 365
#: Fewer days between two states than this are no history for a year's average (a season is not a year).
HISTORY_SPAN_DAYS_MIN: Final = 90
#: States farther than this from a year before the last state do not stand for "a year ago".
HISTORY_SLACK_DAYS: Final = 60
#: An estimated state is rounded to whole units, as a meter shows them.
ESTIMATE_QUANTUM: Final = Decimal(1)
#: States before the day read for an estimate: a year of history before a last state up to a year old.
STATES_READ_DAYS: Final = 2 * HISTORY_DAYS + HISTORY_SLACK_DAYS

assert HISTORY_SPAN_DAYS_MIN < HISTORY_DAYS - HISTORY_SLACK_DAYS


async def estimate_reading(conn: AsyncConnection, now: dt.datetime, code: str, data: EstimateIn) -> Estimate:
    """Estimate and store the states of the meter counting at OPM ``code`` on ``data.date``."""
    day = data.date
    opm = await record.opm_row(conn, code)
    meter = await record.meter_on(conn, opm, day, None)
    tolerance = dt.timedelta(days=ESTIMATE_REPLACED_WITHIN_DAYS)
    timeline = await tl.load(conn, opm.code, day - dt.timedelta(days=STATES_READ_DAYS), day + tolerance)
    info = timeline.meter(meter.serial)
    assert info is not None, meter.serial
    technical = await _technical_on(conn, opm.id, day)
    registers = tuple(
        estimate_register(timeline, info, register, day, technical) for register in sorted(info.digits)
    )
    states = {estimated.register: estimated.state for estimated in registers}
    reading = await record.store_states(
        conn, now, opm.code, day, states, meter=meter.serial, kind="estimated", reason=data.reason,
    )
    return Estimate(reading=reading, registers=registers)


def estimate_register(
    timeline: tl.Timeline, meter: tl.MeterInfo, register: Register, day: dt.date, technical: Any | None
) -> EstimatedRegister:
    """One register's estimated state on ``day`` (pure: the timeline and the technical data in force)."""
    states = [point for point in timeline.points_of(meter.serial, register) if point.kind != "estimated"]
    near = [point for point in states if abs((point.day - day).days) <= ESTIMATE_REPLACED_WITHIN_DAYS]
    if near:
        raise Conflict(
            f"OPM {timeline.opm} meter {meter.serial} {register} has a {near[0].kind} state of "
            f"{near[0].day}: no estimate is needed"
        )
    before = [point for point in states if point.day < day]
    if not before:
        raise Conflict(f"OPM {timeline.opm} meter {meter.serial} {register} has no state before {day}")
    base = before[-1]
    digits = meter.digits.get(register)
    daily = _daily_from_history(before, digits)
    method: EstimateMethod = "history" if daily is not None else "profile"
    if daily is not None:
        consumption = daily * (day - base.day).days
    else:
        consumption = _from_profile(timeline, register, base.day, day, technical)
    consumption = consumption.quantize(ESTIMATE_QUANTUM, rounding=ROUND_HALF_UP)
    state = base.state + consumption
    if digits is not None and state >= Decimal(10) ** digits:
        state -= Decimal(10) ** digits  # the register rolls over
    return EstimatedRegister(
        register=register, state=state, method=method, base=base.used(), consumption=consumption
    )


def _daily_from_history(before: list[tl.Point], digits: int | None) -> Decimal | None:
    """Average consumption per day from the state nearest a year before the last one to the last one."""
    base = before[-1]
    target = base.day - dt.timedelta(days=HISTORY_DAYS)
    candidates = [
        point for point in before[:-1]
        if abs((point.day - target).days) <= HISTORY_SLACK_DAYS
        and (base.day - point.day).days >= HISTORY_SPAN_DAYS_MIN
    ]
    if not candidates:
        return None
    old = min(candidates, key=lambda point: abs((point.day - target).days))
    used, _ = difference(old.state, base.state, digits)
    if used < 0:
        return None  # an implausible history is no basis
    return used / (base.day - old.day).days


def _from_profile(
    timeline: tl.Timeline, register: Register, after: dt.date, through: dt.date, technical: Any | None
) -> Decimal:
    annual = None if technical is None else technical.annual_consumption_kwh
    tdd_class: str | None = None if technical is None else technical.tdd_class
    if annual is None or tdd_class is None or tdd_class not in profile.MONTHLY_SHARES_SAMPLE:
        missing = "annual_consumption_kwh" if annual is None else "tdd_class"
        raise Conflict(
            f"OPM {timeline.opm} {register}: no history of a year and no technical.{missing} to estimate from"
        )
    share = profile.share_between(tdd_class, after, through) * profile.REGISTER_SHARES_SAMPLE[register]
    consumption: Decimal = Decimal(annual) * share
    if timeline.unit == "m3":
        consumption /= record.GAS_KWH_PER_M3_PROVISIONAL
    return consumption


async def _technical_on(conn: AsyncConnection, opm_id: uuid.UUID, day: dt.date) -> Any | None:
    tech = md.opm_technical.c
    return (await conn.execute(
        sa.select(tech.tdd_class, tech.annual_consumption_kwh)
        .where(tech.opm_id == opm_id, tech.effective_from <= day)
        .order_by(tech.effective_from.desc()).limit(1)
    )).first()
