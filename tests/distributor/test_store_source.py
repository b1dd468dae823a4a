"""The report's default source: the states we took (reading store, source ``manual``) with master data's
meter changes. Month-end states give CDSDATA, CS OTE's own readings are never sent back, an estimate waits
for a reading, gas states on consecutive days give gas days, and each (OPM, month) is sent once."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from connectors.ote import codec
from gateway.billing.readings.record import GAS_KWH_PER_M3_PROVISIONAL, record_reading, store_states
from gateway.clock import ManualClock
from gateway.distributor.report import run_report
from gateway.distributor.store_readings import START_STATE_DAYS_MAX, start_day
from gateway.masterdata.opm import create_opm
from gateway.masterdata.service_base import LOCAL_TIMEZONE
from gateway.month import Month
from gateway.readings import tables as rd
from schemas.billing.readings import ReadingIn
from schemas.masterdata.opm import Opm
from schemas.ote import AnyOteMessage, ElectricityReading, MeteredElectricity, MeteredGas, Register
from tests.billing.readings.support import dso_reading
from tests.distributor.support import (
    NOW,
    identity,
    new_dso_ean,
    opm_with_meter_change,
    queued_sends,
    two_tariff,
)
from tests.masterdata.supply_helpers import ACTOR, day, electricity_in, electricity_technical, gas_in

OCTOBER = Month(2026, 10)


async def _enter(engine: AsyncEngine, code: str, date: str, kind: str = "actual", meter: str | None = None,
                 **states: str) -> int:
    data = ReadingIn(date=day(date), registers={k: Decimal(v) for k, v in states.items()},  # type: ignore[misc]
                     meter=meter, kind=kind)  # type: ignore[arg-type]
    async with engine.begin() as conn:
        return (await record_reading(conn, NOW, code, data)).reading_id


async def _opm(engine: AsyncEngine, dso: str, *, gas: bool = False) -> Opm:
    async with engine.begin() as conn:
        if gas:
            return await create_opm(conn, ACTOR, NOW, gas_in(dso=dso))
        data = electricity_in(dso=dso, technical=electricity_technical("D25d"),
                              meters=[two_tariff("M1", "2020-01-01")])
        return await create_opm(conn, ACTOR, NOW, data)


async def _sent(engine: AsyncEngine, code: str) -> AnyOteMessage:
    [send] = await queued_sends(engine, code)
    message: AnyOteMessage = msgspec.convert(send.message, AnyOteMessage)
    assert codec.decode(codec.encode(message)) == message  # XSD-valid, as the sender will encode it
    return message


def _states(reading: ElectricityReading) -> dict[Register, tuple[Decimal, Decimal, Decimal]]:
    return {r.register: (r.start_state_kwh, r.end_state_kwh, r.consumption_kwh) for r in reading.registers}


def _d(text: str) -> Decimal:
    return Decimal(text)


async def test_month_end_states_we_took_are_sent_once_and_ote_readings_never(engine: AsyncEngine) -> None:
    dso = new_dso_ean()
    ours, ote_only = await _opm(engine, dso), await _opm(engine, dso)
    await _enter(engine, ours.code, "2026-09-30", vt="1000", nt="500")
    await _enter(engine, ours.code, "2026-10-15", kind="customer", vt="1050", nt="515")
    await _enter(engine, ours.code, "2026-10-31", vt="1100.5", nt="530")
    # CS OTE's readings of both OPMs (source ote): other states, never read by the report.
    for opm in (ours, ote_only):
        await dso_reading(engine, opm, "M1", "2026-10-01", "2026-10-31", "vt", "7000", "9000")
    clock = ManualClock(NOW)
    summary = await run_report(engine, clock, identity(dso), OCTOBER)
    assert (summary.opms, summary.messages, summary.counts["no_readings"], summary.ok) == (2, 1, 1, True)
    assert {note.opm: note.kind for note in summary.notes} == {ote_only.code: "no_readings"}
    message = await _sent(engine, ours.code)
    assert isinstance(message, MeteredElectricity)
    [reading] = message.readings
    assert (reading.opm, reading.meter_id, reading.date_from, reading.date_to) == (
        ours.code, "M1", dt.date(2026, 10, 1), dt.date(2026, 10, 31),
    )
    assert (reading.reading_type, reading.reading_reason) == ("1", "PE")
    assert _states(reading) == {
        Register.VT: (_d("1000"), _d("1100.5"), _d("100.5")), Register.NT: (_d("500"), _d("530"), _d("30")),
    }
    clock.advance(dt.timedelta(days=1))
    again = await run_report(engine, clock, identity(dso), OCTOBER)
    assert (again.messages, again.counts["already_reported"]) == (0, 1)
    assert len(await queued_sends(engine, ours.code)) == 1
    assert await queued_sends(engine, ote_only.code) == []


async def test_a_meter_change_in_the_month_counts_each_day_once(engine: AsyncEngine) -> None:
    dso = new_dso_ean()
    # M2 counted from 2026-03-02 (100.5 / 200) to its removal on 2026-10-15 (350.25 / 260); M3 from 0 / 0.
    code = await opm_with_meter_change(engine, dso)
    await _enter(engine, code, "2026-09-30", meter="M2", vt="300", nt="250")
    await _enter(engine, code, "2026-10-31", kind="customer", meter="M3", vt="40", nt="5")
    summary = await run_report(engine, ManualClock(NOW), identity(dso), OCTOBER)
    assert (summary.messages, summary.counts["gaps"]) == (1, 1)
    [note] = summary.notes
    assert "meter M2: master data's meter-change reading (2026-03-02 to 2026-10-15) is not sent" in note.text
    message = await _sent(engine, code)
    assert isinstance(message, MeteredElectricity)
    old, new = message.readings
    assert (old.meter_id, old.date_from, old.date_to, old.reading_reason) == (
        "M2", dt.date(2026, 10, 1), dt.date(2026, 10, 14), "MC",
    )
    assert _states(old) == {
        Register.VT: (_d("300"), _d("350.25"), _d("50.25")), Register.NT: (_d("250"), _d("260"), _d("10")),
    }
    assert (new.meter_id, new.date_from, new.date_to, new.reading_type) == (
        "M3", dt.date(2026, 10, 15), dt.date(2026, 10, 31), "3",  # a self-reading at its end
    )
    assert _states(new) == {
        Register.VT: (_d("0"), _d("40"), _d("40")), Register.NT: (_d("0"), _d("5"), _d("5")),
    }


async def test_an_estimate_is_not_sent_and_the_month_waits_for_a_reading(engine: AsyncEngine) -> None:
    dso = new_dso_ean()
    opm = await _opm(engine, dso)
    await _enter(engine, opm.code, "2026-09-30", vt="1000", nt="500")
    async with engine.begin() as conn:
        states = {"vt": _d("1200"), "nt": _d("600")}
        estimate = await store_states(conn, NOW, opm.code, day("2026-10-31"), states,  # type: ignore[arg-type]
                                      meter=None, kind="estimated", reason="periodic")
    clock = ManualClock(NOW)
    first = await run_report(engine, clock, identity(dso), OCTOBER)
    assert (first.messages, first.counts["no_readings"]) == (0, 1)
    [note] = first.notes
    assert f"estimated states of 2026-10-31 (reading {estimate.reading_id}) are not reported" in note.text
    assert await queued_sends(engine, opm.code) == []
    # The reader's state of the same day replaces the estimate: the next run sends the month.
    await _enter(engine, opm.code, "2026-10-31", vt="1180", nt="590")
    second = await run_report(engine, clock, identity(dso), OCTOBER)
    assert (second.messages, second.notes) == (1, [])
    message = await _sent(engine, opm.code)
    assert isinstance(message, MeteredElectricity)
    assert message.readings[0].reading_type == "1"
    assert _states(message.readings[0])[Register.VT] == (_d("1000"), _d("1180"), _d("180"))


async def test_gas_states_on_consecutive_days_give_gas_days(engine: AsyncEngine) -> None:
    dso = new_dso_ean()
    gas, monthly = await _opm(engine, dso, gas=True), await _opm(engine, dso, gas=True)
    for date, state in (("2026-09-30", "5000"), ("2026-10-01", "5012.5"), ("2026-10-02", "5030"),
                        ("2026-10-03", "5030"), ("2026-10-10", "5100")):
        await _enter(engine, gas.code, date, single=state)
    await _enter(engine, monthly.code, "2026-09-30", single="100")
    await _enter(engine, monthly.code, "2026-10-31", single="180")
    summary = await run_report(engine, ManualClock(NOW), identity(dso), OCTOBER)
    assert (summary.messages, summary.counts["no_readings"]) == (1, 1)
    notes = {(note.opm, note.kind): note.text for note in summary.notes}
    assert "no gas value for 28 days (2026-10-04, 2026-10-05" in notes[(gas.code, "gaps")]
    assert "provisional" in notes[(gas.code, "provisional")]
    assert "give no gas day" in notes[(monthly.code, "no_readings")]
    message = await _sent(engine, gas.code)
    assert isinstance(message, MeteredGas)
    assert (message.opm, message.pof_id) == (gas.code, f"202610{gas.code}")
    [meter] = message.meters
    assert (meter.meter_id, meter.date_from, meter.date_to) == ("M1", day("2026-10-01"), day("2026-10-03"))
    days: list[tuple[Any, ...]] = [
        (value.gas_day, value.volume_m3, value.calorific_value_kwh_per_m3, value.energy_kwh)
        for value in meter.days
    ]
    six = [dt.datetime(2026, 10, n, 6, tzinfo=LOCAL_TIMEZONE) for n in (1, 2, 3)]
    cv = GAS_KWH_PER_M3_PROVISIONAL
    assert days == [
        (six[0], _d("12.5"), cv, _d("131.875")), (six[1], _d("17.5"), cv, _d("184.625")),
        (six[2], _d("0"), cv, _d("0.000")),
    ]
    assert six[0].utcoffset() == dt.timedelta(hours=2)  # summer time: the gas day starts at 04:00 UTC


async def test_only_readings_in_force_count(engine: AsyncEngine) -> None:
    """A state corrected by a later entry of the same day: the correction is sent, not the first state."""
    dso = new_dso_ean()
    opm = await _opm(engine, dso)
    await _enter(engine, opm.code, "2026-09-30", vt="1000", nt="500")
    first = await _enter(engine, opm.code, "2026-10-31", vt="1999", nt="530")
    await _enter(engine, opm.code, "2026-10-31", vt="1100", nt="530")
    async with engine.connect() as conn:
        assert await conn.scalar(sa.select(rd.reading.c.superseded_by).where(rd.reading.c.id == first))
    await run_report(engine, ManualClock(NOW), identity(dso), OCTOBER)
    message = await _sent(engine, opm.code)
    assert isinstance(message, MeteredElectricity)
    assert _states(message.readings[0])[Register.VT] == (_d("1000"), _d("1100"), _d("100"))


def test_the_start_state_is_the_one_before_the_month_else_the_first_in_it() -> None:
    boundary, last = day("2026-09-30"), day("2026-10-31")
    near_before = boundary - dt.timedelta(days=START_STATE_DAYS_MAX)
    too_early = near_before - dt.timedelta(days=1)
    assert start_day([too_early, near_before, day("2026-10-02")], boundary, last) == near_before
    assert start_day([too_early, day("2026-10-02"), day("2026-10-05")], boundary, last) == day("2026-10-02")
    late = boundary + dt.timedelta(days=START_STATE_DAYS_MAX + 1)
    assert start_day([too_early, late], boundary, last) is None
