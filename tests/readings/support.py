"""Helpers of the reading tests: fresh OPM codes (the PostgreSQL database is shared by the whole session),
metered messages built from the golden ones, delivery to the consumer, and reads of what it filed."""

from __future__ import annotations

import datetime as dt
import itertools
import os
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.bus.base import Record
from gateway.bus.handler import HandlerContext
from gateway.masterdata.identifiers import ean_check_digit, eic_check_char
from gateway.readings import tables as t
from gateway.readings.consumer import handle_many
from gateway.store.tables import outbox
from schemas.envelope import decode, new_envelope
from schemas.ote import ElectricityReading, GasDayValue, GasSegment, MeteredElectricity, MeteredGas
from schemas.ote.events import OteReceived
from schemas.readings import MeterReading
from tests.connectors.ote.expected import CET, METERED_ELECTRICITY, METERED_GAS
from tests.readings.register_check import mismatches

NOW = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
_serial = itertools.count(int.from_bytes(os.urandom(3), "big"))


def fresh_ean() -> str:
    """An electricity OPM code no other test uses (valid check digit; block 99 of the test range)."""
    body = f"85918240099{next(_serial) % 10**6:06d}"
    return body + ean_check_digit(body)


def fresh_eic() -> str:
    serial = next(_serial) % 10**7
    for marker in "ZYX":  # a body whose check would be '-' (never issued) takes the next marker
        body = f"27ZG799{marker}{serial:07d}"
        try:
            return body + eic_check_char(body)
        except ValueError:
            continue
    raise AssertionError(f"no EIC body with a check character for {serial}")


def electricity(*readings: ElectricityReading, message_id: str = "DT1") -> MeteredElectricity:
    envelope = msgspec.structs.replace(METERED_ELECTRICITY.envelope, id=message_id)
    return MeteredElectricity(envelope=envelope, readings=readings)


def two_rate(opm: str, **changes: Any) -> ElectricityReading:
    """The golden VT/NT reading (1570.495 + 3851.120 kWh, reason SW, type 1) at ``opm``."""
    return msgspec.structs.replace(METERED_ELECTRICITY.readings[0], opm=opm, **changes)


def single_rate(opm: str, **changes: Any) -> ElectricityReading:
    """The golden single-rate reading (one VT register, 902 kWh, no reason, type 2) at ``opm``."""
    return msgspec.structs.replace(METERED_ELECTRICITY.readings[1], opm=opm, **changes)


def gas_day(day: int, volume_m3: str, calorific: str, energy_kwh: str) -> GasDayValue:
    return GasDayValue(
        gas_day=dt.datetime(2025, 1, day, 6, tzinfo=CET), volume_m3=Decimal(volume_m3),
        calorific_value_kwh_per_m3=Decimal(calorific), energy_kwh=Decimal(energy_kwh),
    )


def gas(
    opm: str, *, days: tuple[GasDayValue, ...] | None = None, factor: Decimal | None = None,
    segment: GasSegment = GasSegment.INV, version: int = 1, pof_id: str = "2025000187331",
    correction_reason: str | None = None, message_id: str = "GP61",
) -> MeteredGas:
    """The golden GP6 (three days of January 2025) at ``opm``, with the changes asked for."""
    meter = METERED_GAS.meters[0]
    meter = msgspec.structs.replace(
        meter, conversion_factor=factor, days=meter.days if days is None else days,
        date_to=dt.date(2025, 1, len(meter.days if days is None else days)),
    )
    envelope = msgspec.structs.replace(METERED_GAS.envelope, id=message_id)
    return msgspec.structs.replace(
        METERED_GAS, envelope=envelope, opm=opm, meters=(meter,), segment=segment, version=version,
        pof_id=pof_id, correction_reason=correction_reason, period_to=meter.date_to,
    )


async def deliver(engine: AsyncEngine, *messages: MeteredElectricity | MeteredGas) -> None:
    """``messages`` as ``ote.received`` events, applied by the consumer as one batch."""
    async with engine.begin() as conn:
        contexts = []
        for index, message in enumerate(messages):
            family = "metered-electricity" if isinstance(message, MeteredElectricity) else "metered-gas"
            body = OteReceived(
                archive_id=1000 + index, family=family, message_code=message.envelope.message_code,
                message_id=message.envelope.id, message=msgspec.to_builtins(message),
            )
            envelope = new_envelope(body, key="test", now=NOW)
            record = Record(topic="ote.inbound", partition=0, offset=index, key="test", value=b"", headers=(),
                            timestamp_ms=0)
            contexts.append(HandlerContext(conn=conn, envelope=envelope, record=record, group_id="test",
                                           now=NOW, attempt=1))
        await handle_many(contexts)


@dataclass(frozen=True)
class Filed:
    row: Any
    registers: dict[str, Any]


async def filed(engine: AsyncEngine, opm: str) -> list[Filed]:
    """The readings stored for ``opm``, in id order, with their register rows by register."""
    async with engine.connect() as conn:
        rows = (await conn.execute(
            sa.select(t.reading).where(t.reading.c.opm == opm).order_by(t.reading.c.id)
        )).all()
        registers = (await conn.execute(
            sa.select(t.register).where(t.register.c.reading_id.in_([row.id for row in rows]))
        )).all()
        if rows:  # every writer keeps the reading's text of its registers equal to its register rows
            assert await mismatches(conn, t.reading.c.opm == opm) == []
    by_reading: dict[int, dict[str, Any]] = {}
    for register in registers:
        by_reading.setdefault(register.reading_id, {})[register.register] = register
    return [Filed(row, by_reading.get(row.id, {})) for row in rows]


async def events(engine: AsyncEngine, opm: str) -> list[MeterReading]:
    """The ``meter.reading`` events queued for ``opm``, in outbox order."""
    async with engine.connect() as conn:
        rows = (await conn.execute(
            sa.select(outbox.c.value).where(outbox.c.topic == "meter.readings", outbox.c.key == opm)
            .order_by(outbox.c.seq)
        )).all()
    found = []
    for row in rows:
        body = decode(row.value).payload
        assert isinstance(body, MeterReading)
        found.append(body)
    return found
