"""What the distributor tests share: a DSO EAN of their own, OPMs through the master-data services, events."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.bus.base import Record
from gateway.bus.handler import HandlerContext
from gateway.config import Settings, load_settings
from gateway.distributor.identity import DistributorIdentity
from gateway.masterdata.identifiers import ean_check_digit
from gateway.masterdata.opm import change_meter, create_opm
from gateway.store.tables import outbox
from schemas.envelope import Envelope, decode
from schemas.masterdata.events import MasterDataChanged
from schemas.masterdata.opm import MeterChange, MeterIn, Register
from schemas.ote.events import OteSend
from tests.masterdata.supply_helpers import ACTOR, day, electricity_in, electricity_technical, new_ean

NOW: Final = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
#: [C] ČEZ Distribuce (ote-market.md §1.1): a DSO that is not us.
OTHER_DSO_EAN: Final = "8591824071502"
#: [C] OTE's participant EAN: the receiver of everything we send.
OTE_EAN: Final = "8591824000007"
BACKENDS: Final = ("sqlite", "postgresql")
_rng = random.Random()  # not seeded: the PostgreSQL test database lives for the whole session


def new_dso_ean() -> str:
    """A DSO EAN of this test's own (valid check digit), so that reports on the shared database see only
    this test's OPMs."""
    body = "859182" + "".join(_rng.choice("0123456789") for _ in range(6))
    return body + ean_check_digit(body)


def settings(**values: str) -> Settings:
    return load_settings(environ={f"PROUD_{name.upper()}": value for name, value in values.items()})


def identity(dso: str) -> DistributorIdentity:
    return DistributorIdentity(distributor_ean=dso, operator_ean=OTE_EAN)


def two_tariff(serial: str, installed_on: str) -> MeterIn:
    registers = [Register(code="VT", unit="kWh"), Register(code="NT", unit="kWh")]
    return MeterIn(serial=serial, installed_on=day(installed_on), registers=registers)


async def opm_with_meter_change(engine: AsyncEngine, dso: str) -> str:
    """Our two-tariff OPM whose meter M2 was installed on 2026-03-02 (read at 100.5 / 200) and removed on
    2026-10-15 (read at 350.25 / 260): master data's one reading, VT 249.75 and NT 60 kWh."""
    data = electricity_in(
        new_ean(), dso=dso, technical=electricity_technical("D25d"), meters=[two_tariff("M1", "2020-01-01")]
    )
    async with engine.begin() as conn:
        opm = await create_opm(conn, ACTOR, NOW, data)
        await change_meter(conn, ACTOR, NOW, opm.code, MeterChange(
            removed_serial="M1", changed_on=day("2026-03-02"), new_meter=two_tariff("M2", "2026-03-02"),
            final_readings={"VT": Decimal("90"), "NT": Decimal("190")},
            initial_readings={"VT": Decimal("100.5"), "NT": Decimal("200")},
        ))
        await change_meter(conn, ACTOR, NOW, opm.code, MeterChange(
            removed_serial="M2", changed_on=day("2026-10-15"), new_meter=two_tariff("M3", "2026-10-15"),
            final_readings={"VT": Decimal("350.25"), "NT": Decimal("260")},
            initial_readings={"VT": Decimal("0"), "NT": Decimal("0")},
        ))
    return opm.code


async def opm_events(engine: AsyncEngine, code: str) -> list[Envelope]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.select(outbox.c.value).where(outbox.c.topic == "masterdata.opm", outbox.c.key == code)
            .order_by(outbox.c.seq)
        )
        return [decode(row.value) for row in rows]


def changed(envelope: Envelope) -> MasterDataChanged:
    assert isinstance(envelope.payload, MasterDataChanged)
    return envelope.payload


def context(conn: object, envelope: Envelope) -> HandlerContext:
    record = Record(topic="masterdata.opm", partition=0, offset=0, key=envelope.key, value=b"", headers=(),
                    timestamp_ms=0)
    return HandlerContext(conn=conn, envelope=envelope, record=record, group_id="test",  # type: ignore[arg-type]
                          now=NOW, attempt=1)


def sends(ctx: HandlerContext) -> list[tuple[str, str, OteSend]]:
    """What a handler emitted: (topic, key, payload) of each ``ote.send``."""
    found = []
    for _message_id, record in ctx.emitted:
        envelope = decode(record.value)
        assert isinstance(envelope.payload, OteSend), envelope.type
        assert envelope.key == record.key
        found.append((record.topic, record.key, envelope.payload))
    return found


async def queued_sends(engine: AsyncEngine, key: str) -> list[OteSend]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.select(outbox.c.value).where(outbox.c.topic == "ote.outbound", outbox.c.key == key)
            .order_by(outbox.c.seq)
        )
        payloads = [decode(row.value).payload for row in rows]
    found = [payload for payload in payloads if isinstance(payload, OteSend)]
    assert len(found) == len(payloads)
    return found
