"""Helpers of the consumption tests: OPMs with meters in master data, readings entered or filed as CS OTE
would (a DSO reading with start and end states), and the ``meter.reading`` events queued."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.billing.readings.record import record_reading
from gateway.masterdata.opm import change_meter, create_opm
from gateway.readings import store
from gateway.readings import tables as rd
from gateway.readings.model import fingerprint
from gateway.readings.register_text import register_values
from gateway.store.tables import outbox
from schemas.billing.readings import ReadingIn, RecordedReading
from schemas.envelope import decode
from schemas.masterdata.opm import MeterChange, MeterIn, Opm, Register
from schemas.readings import MeterReading, RegisterValue
from tests.masterdata.supply_helpers import ACTOR, NOW, electricity_in, electricity_technical

__all__ = ["NOW", "day"]


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def d(text: str) -> Decimal:
    return Decimal(text)


def meter(serial: str = "M1", installed_on: str = "2020-01-01", *codes: str, digits: int = 6) -> MeterIn:
    registers = [Register(code=code, unit="kWh", digits=digits) for code in codes or ("SINGLE",)]  # type: ignore[arg-type]
    return MeterIn(serial=serial, installed_on=day(installed_on), registers=registers)


async def new_opm(engine: AsyncEngine, *meters: MeterIn, rate: str = "D02d", **technical: Any) -> Opm:
    """An electricity OPM (TDD 4, 3,500 kWh a year unless told) with ``meters`` (default: M1, SINGLE)."""
    data = electricity_in(
        technical=electricity_technical(rate=rate, since="2020-01-01", **technical),
        meters=list(meters) or [meter()],
    )
    async with engine.begin() as conn:
        return await create_opm(conn, ACTOR, NOW, data)


async def change(engine: AsyncEngine, opm: Opm, removed: str, new: MeterIn, final: dict[str, str],
                 initial: dict[str, str]) -> None:
    data = MeterChange(
        removed_serial=removed, changed_on=new.installed_on, new_meter=new,
        final_readings={code: d(value) for code, value in final.items()},
        initial_readings={code: d(value) for code, value in initial.items()},
    )
    async with engine.begin() as conn:
        await change_meter(conn, ACTOR, NOW, opm.code, data)


async def enter(engine: AsyncEngine, opm: Opm, date: str, **states: str) -> RecordedReading:
    """A customer reading of the OPM's meter on ``date`` (``single="1234"`` or ``vt=…, nt=…``)."""
    extra: dict[str, Any] = {key: states.pop(key) for key in ("meter", "kind") if key in states}
    data = ReadingIn(date=day(date), registers={k: d(v) for k, v in states.items()}, **extra)  # type: ignore[misc]
    async with engine.begin() as conn:
        return await record_reading(conn, NOW, opm.code, data)


async def dso_reading(
    engine: AsyncEngine, opm: Opm, serial: str, first: str, last: str, register: str, start: str, end: str,
    kind: str = "actual",
) -> int:
    """A DSO's reading as the OTE consumer files it: ``first`` … ``last`` with start and end states."""
    value = RegisterValue(
        register=register, start_state=d(start), end_state=d(end), consumption_kwh=d(end) - d(start),  # type: ignore[arg-type]
    )
    async with engine.begin() as conn:
        [reading_id] = await store.draw_ids(conn, 1)
        await conn.execute(rd.reading.insert().values(
            id=reading_id, opm=opm.code, commodity="electricity", meter_id=serial, date_from=day(first),
            date_to=day(last), reason="periodic", kind=kind, status="new",
            fingerprint=fingerprint((value,), (None,)), source="ote", created_at=NOW,
            register_values=register_values((value,)),
        ))
        await conn.execute(rd.register.insert().values(
            reading_id=reading_id, register=register, start_state=value.start_state,
            end_state=value.end_state, consumption_kwh=value.consumption_kwh,
        ))
    return reading_id


async def superseded_by(conn: AsyncConnection, reading_id: int) -> int | None:
    by: int | None = await conn.scalar(
        sa.select(rd.reading.c.superseded_by).where(rd.reading.c.id == reading_id)
    )
    return by


async def reading_events(engine: AsyncEngine, opm: str) -> list[MeterReading]:
    async with engine.connect() as conn:
        rows = (await conn.execute(
            sa.select(outbox.c.value).where(outbox.c.topic == "meter.readings", outbox.c.key == opm)
            .order_by(outbox.c.seq)
        )).scalars().all()
    found: list[MeterReading] = []
    for value in rows:
        payload = decode(bytes(value)).payload
        assert isinstance(payload, MeterReading)
        found.append(payload)
    return found


ZERO: Final = Decimal(0)
