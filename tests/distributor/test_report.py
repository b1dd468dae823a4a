"""The monthly report: one XSD-valid message per OPM we distribute and month, queued once; a dry run queues
nothing; OPMs without readings are skipped with the reason."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import msgspec
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from connectors.ote import codec
from gateway.clock import ManualClock
from gateway.distributor import report as report_module
from gateway.distributor.readings import (
    GasDay,
    GasMeterDays,
    MeterPeriod,
    Month,
    OpmRef,
    PeriodReadings,
    RegisterPeriod,
)
from gateway.distributor.report import run_report
from gateway.distributor.tables import distributor_report
from gateway.errors import InvalidField
from gateway.masterdata.opm import create_opm
from schemas.ote import AnyOteMessage, MeteredElectricity, MeteredGas, Register
from schemas.ote.events import OteSend
from tests.distributor.support import (
    NOW,
    OTHER_DSO_EAN,
    identity,
    new_dso_ean,
    opm_with_meter_change,
    queued_sends,
)
from tests.masterdata.supply_helpers import ACTOR, electricity_in, gas_in

OCTOBER = Month(2026, 10)


def _message(send: OteSend) -> AnyOteMessage:
    assert send.process == "distributor-report"
    message: AnyOteMessage = msgspec.convert(send.message, AnyOteMessage)
    # What the sender will do: encode (XSD-validated) and, as CS OTE would, read it back.
    assert codec.decode(codec.encode(message)) == message
    return message


async def _reported_rows(engine: AsyncEngine, code: str) -> int:
    async with engine.connect() as conn:
        query = sa.select(sa.func.count()).where(distributor_report.c.opm_code == code)
        return int(await conn.scalar(query) or 0)


async def test_our_opm_is_reported_once_as_valid_cdsdata(engine: AsyncEngine) -> None:
    dso = new_dso_ean()
    code = await opm_with_meter_change(engine, dso)
    async with engine.begin() as conn:
        await create_opm(conn, ACTOR, NOW, electricity_in(dso=OTHER_DSO_EAN))  # not ours: not even counted
    clock = ManualClock(NOW)
    summary = await run_report(engine, clock, identity(dso), OCTOBER)
    assert (summary.opms, summary.messages, summary.skipped, summary.ok) == (1, 1, 0, True)
    [send] = await queued_sends(engine, code)
    message = _message(send)
    assert isinstance(message, MeteredElectricity)
    assert (message.envelope.message_code, message.envelope.sender.ean) == ("521", dso)
    [reading] = message.readings
    assert (reading.opm, reading.meter_id) == (code, "M2")
    assert (reading.reading_type, reading.reading_reason) == ("1", "MC")
    assert (reading.date_from, reading.date_to) == (dt.date(2026, 3, 2), dt.date(2026, 10, 15))
    by_register = {
        r.register: (r.start_state_kwh, r.end_state_kwh, r.consumption_kwh) for r in reading.registers
    }
    assert by_register == {
        Register.VT: (Decimal("100.5"), Decimal("350.25"), Decimal("249.75")),
        Register.NT: (Decimal("200"), Decimal("260"), Decimal("60")),
    }

    clock.advance(dt.timedelta(days=1))
    again = await run_report(engine, clock, identity(dso), OCTOBER)
    assert (again.opms, again.messages, again.counts["already_reported"]) == (1, 0, 1)
    assert message.envelope.id in again.notes[0].text
    assert len(await queued_sends(engine, code)) == 1 and await _reported_rows(engine, code) == 1


async def test_a_dry_run_queues_nothing_then_a_run_does(engine: AsyncEngine) -> None:
    dso = new_dso_ean()
    code = await opm_with_meter_change(engine, dso)
    dry = await run_report(engine, ManualClock(NOW), identity(dso), OCTOBER, dry_run=True)
    assert (dry.opms, dry.messages, dry.dry_run) == (1, 1, True)
    assert await queued_sends(engine, code) == [] and await _reported_rows(engine, code) == 0
    real = await run_report(engine, ManualClock(NOW), identity(dso), OCTOBER)
    assert real.messages == 1 and len(await queued_sends(engine, code)) == 1


async def test_opms_without_readings_are_skipped_with_the_reason(engine: AsyncEngine) -> None:
    dso = new_dso_ean()
    async with engine.begin() as conn:
        electricity = await create_opm(conn, ACTOR, NOW, electricity_in(dso=dso))
        gas = await create_opm(conn, ACTOR, NOW, gas_in(dso=dso))
    with_readings = await opm_with_meter_change(engine, dso)
    september = await run_report(engine, ManualClock(NOW), identity(dso), Month(2026, 9))
    assert (september.opms, september.messages, september.counts["no_readings"]) == (3, 0, 3)
    reasons = {note.opm: note.text for note in september.notes}
    assert reasons[electricity.code] == "no readings for 2026-09"
    assert reasons[gas.code] == "no readings for 2026-09"  # no gas states in the store (master data has none)
    march = await run_report(engine, ManualClock(NOW), identity(dso), Month(2026, 3))
    # Meter M1 left on 2026-03-02 with a final reading, but it was installed with the OPM: no start state.
    assert march.messages == 0 and "meter M1" in {n.opm: n.text for n in march.notes}[with_readings]
    assert "no start state" in {n.opm: n.text for n in march.notes}[with_readings]


async def test_a_month_not_ended_is_refused(engine: AsyncEngine) -> None:
    with pytest.raises(InvalidField) as info:
        await run_report(engine, ManualClock(NOW), identity(new_dso_ean()), Month(2026, 11))
    assert (info.value.field, info.value.value) == ("month", "2026-11")


def _gas_days(first: dt.date, count: int) -> tuple[GasDay, ...]:
    prague = dt.timezone(dt.timedelta(hours=1))
    return tuple(
        GasDay(gas_day=dt.datetime.combine(first + dt.timedelta(days=n), dt.time(6), prague),
               volume_m3=Decimal("12.5"), calorific_value_kwh_per_m3=Decimal("10.6649"),
               energy_kwh=Decimal("133.311"))
        for n in range(count)
    )


async def _store_source(conn: AsyncConnection, opm: OpmRef, period: Month) -> PeriodReadings:
    """A stand-in for the readings store: gas days for gas, one bad meter id for electricity."""
    if opm.commodity == "gas":
        days = _gas_days(period.first_day, 31)
        meter = GasMeterDays(meter_id="GM-1", date_from=period.first_day, date_to=period.last_day, days=days)
        return PeriodReadings(gas=(meter,))
    register = RegisterPeriod("SINGLE", Decimal("1"), Decimal("2"), Decimal("1"))
    bad = MeterPeriod(meter_id="no spaces allowed", date_from=period.first_day, date_to=period.last_day,
                      kind="actual", cause="periodic", registers=(register,))
    return PeriodReadings(electricity=(bad,))


async def test_gas_from_the_store_is_valid_cdsgaspof_and_an_invalid_message_is_named_not_queued(
    engine: AsyncEngine,
) -> None:
    dso = new_dso_ean()
    async with engine.begin() as conn:
        gas = await create_opm(conn, ACTOR, NOW, gas_in(dso=dso))
        electricity = await create_opm(conn, ACTOR, NOW, electricity_in(dso=dso))
    summary = await run_report(engine, ManualClock(NOW), identity(dso), OCTOBER, source=_store_source)
    assert (summary.messages, summary.counts["invalid"], summary.ok) == (1, 1, False)
    [note] = summary.notes
    assert note.opm == electricity.code and "meter-id" in note.text
    assert await queued_sends(engine, electricity.code) == []
    [send] = await queued_sends(engine, gas.code)
    message = _message(send)
    assert isinstance(message, MeteredGas)
    assert (message.envelope.message_code, message.opm) == ("GP6", gas.code)
    assert message.pof_id == message.number == f"202610{gas.code}"
    assert (message.period_from, message.period_to) == (dt.date(2026, 10, 1), dt.date(2026, 10, 31))
    assert len(message.meters[0].days) == 31


async def test_opms_are_read_and_queued_in_batches(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report_module, "MESSAGES_PER_BATCH_MAX", 2)
    dso = new_dso_ean()
    async with engine.begin() as conn:
        codes = [(await create_opm(conn, ACTOR, NOW, gas_in(dso=dso))).code for _ in range(5)]
    summary = await run_report(engine, ManualClock(NOW), identity(dso), OCTOBER, source=_store_source)
    assert (summary.opms, summary.messages) == (5, 5)
    for code in codes:
        assert len(await queued_sends(engine, code)) == 1
