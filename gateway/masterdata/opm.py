"""OPM (odběrné místo) services: create and change points of delivery, their technical data and meters.

The code (18-digit EAN or 16-character EIC) fixes the commodity. Technical data is effective-dated: a new
version applies from its ``effective_from`` until the next one, and a version with the date of an existing
one replaces it. Reads are as of a date the caller gives (services never read the wall clock). Every write
locks the OPM row, bumps its version and is audited and announced on ``masterdata.opm``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.errors import Conflict, InvalidField, NotFound
from gateway.ids import uuid7
from gateway.masterdata import audit, supply
from gateway.masterdata import tables as t
from gateway.masterdata.audit import Change
from gateway.masterdata.opm_checks import (
    check_dso,
    check_meter,
    check_new_meters,
    check_readings,
    check_technical,
    lookup_code,
    opm_code,
)
from gateway.masterdata.opm_rows import address_from_row, meter_from, technical_from
from gateway.masterdata.service_base import (
    address_row,
    as_utc,
    check_address,
    constrained,
    local_date,
    require_version,
)
from schemas.masterdata.common import Commodity
from schemas.masterdata.opm import MeterChange, MeterIn, Opm, OpmIn, OpmPatch, Register, Technical

_SUPPLY_KIND = "supply"


def validate_opm_in(data: OpmIn, *, decoded: bool = False) -> OpmIn:
    """``data`` by every rule of ``create_opm`` that needs no database, in canonical form (code, DSO EAN,
    PSČ), or ``InvalidField``. The bulk import checks its rows with it.

    ``decoded``: ``data`` came from msgspec's typed decoder, which enforced its types' constraints already
    (the import's rows), so ``constrained`` does not check them again; a struct built in code must not say so.
    """
    if not decoded:
        data = constrained(data)
    code, commodity = opm_code("code", data.code)
    dso = check_dso("dso", data.dso)
    address = check_address("supply_address", data.supply_address)
    check_technical("technical", commodity, data.technical)
    check_new_meters("meters", commodity, data.technical.distribution_rate, data.meters)
    if (code, dso, address) == (data.code, data.dso, data.supply_address):
        return data
    return msgspec.structs.replace(data, code=code, dso=dso, supply_address=address)


async def create_opm(conn: AsyncConnection, actor: str, now: dt.datetime, data: OpmIn) -> Opm:
    """A new OPM with its supply address, first technical data and meters; returned as of ``now``'s day."""
    data = validate_opm_in(data)
    code, commodity = opm_code("code", data.code)
    if await conn.scalar(sa.select(t.opm.c.id).where(t.opm.c.code == code)) is not None:
        raise Conflict(f"OPM {code} already exists")
    opm_id = uuid7()
    await conn.execute(sa.insert(t.opm).values(
        id=opm_id, code=code, commodity=commodity, dso=data.dso, version=1, created_at=now, updated_at=now,
    ))
    await conn.execute(
        sa.insert(t.address).values(address_row(data.supply_address, _SUPPLY_KIND, opm_id=opm_id))
    )
    await conn.execute(sa.insert(t.opm_technical).values(_technical_row(opm_id, data.technical, now)))
    if data.meters:
        await conn.execute(sa.insert(t.meter), [_meter_row(opm_id, meter, {}) for meter in data.meters])
    opm = await _read(conn, await _row(conn, code), local_date(now))
    await audit.record(conn, actor, now, [Change("opm", opm_id, code, "created", 1, None, opm)])
    return opm


async def update_opm(conn: AsyncConnection, actor: str, now: dt.datetime, code: str, patch: OpmPatch) -> Opm:
    """Change the DSO or the supply address; ``patch.version`` must be the version read."""
    patch = constrained(patch)
    row = await _row(conn, code, for_update=True)
    require_version("OPM", row.code, row.version, patch.version)
    dso = check_dso("dso", patch.dso) if isinstance(patch.dso, str) else row.dso
    address = None
    if not isinstance(patch.supply_address, msgspec.UnsetType):
        address = check_address("supply_address", patch.supply_address)
    before = await _read(conn, row, local_date(now))
    if dso == before.dso and (address is None or address == before.supply_address):
        return before  # nothing changes: no new version, nothing to announce
    if address is not None:
        await conn.execute(
            sa.update(t.address).where(t.address.c.opm_id == row.id, t.address.c.kind == _SUPPLY_KIND)
            .values(address_row(address, _SUPPLY_KIND, opm_id=row.id))
        )
    return await _bump(conn, actor, now, row, "updated", before, local_date(now), dso=dso)


async def set_technical(
    conn: AsyncConnection, actor: str, now: dt.datetime, code: str, technical: Technical
) -> Opm:
    """A technical data version from ``technical.effective_from``; one with that date already is replaced.

    Returned (and announced) as of that date, so that ``technical`` is the version just set.
    """
    technical = constrained(technical)
    row = await _row(conn, code, for_update=True)
    check_technical("", row.commodity, technical)
    as_of = technical.effective_from
    before = await _read(conn, row, as_of)
    tech = t.opm_technical.c
    await conn.execute(
        sa.delete(t.opm_technical).where(tech.opm_id == row.id, tech.effective_from == as_of)
    )
    await conn.execute(sa.insert(t.opm_technical).values(_technical_row(row.id, technical, now)))
    return await _bump(conn, actor, now, row, "technical_changed", before, as_of)


async def install_meter(
    conn: AsyncConnection, actor: str, now: dt.datetime, code: str, meter: MeterIn
) -> Opm:
    """Add a meter (a first one, or one more); replacing one is ``change_meter``. As of ``installed_on``."""
    meter = constrained(meter)
    row = await _row(conn, code, for_update=True)
    rate = await _rate_on(conn, row.id, meter.installed_on)
    check_meter("", row.commodity, rate, meter)
    await _require_not_installed(conn, row, meter)
    before = await _read(conn, row, meter.installed_on)
    await conn.execute(sa.insert(t.meter).values(_meter_row(row.id, meter, {})))
    return await _bump(conn, actor, now, row, "meter_installed", before, meter.installed_on)


async def change_meter(
    conn: AsyncConnection, actor: str, now: dt.datetime, code: str, change: MeterChange
) -> Opm:
    """Replace meter ``change.removed_serial`` by ``change.new_meter`` on ``change.changed_on``, with the
    removed meter's final and the new meter's initial readings. As of ``changed_on``."""
    change = constrained(change)
    row = await _row(conn, code, for_update=True)
    removed = await _installed_meter(conn, row, change.removed_serial)
    day = change.changed_on
    if day < removed.installed_on:
        reason = f"is before meter {removed.serial} was installed on {removed.installed_on}"
        raise InvalidField("changed_on", day.isoformat(), reason)
    new = change.new_meter
    if new.installed_on != day:
        reason = f"must be the day of the change, {day}: the new meter replaces the old one that day"
        raise InvalidField("new_meter.installed_on", new.installed_on.isoformat(), reason)
    if new.serial == removed.serial:
        raise InvalidField("new_meter.serial", new.serial, "is the serial of the meter being removed")
    check_meter("new_meter", row.commodity, await _rate_on(conn, row.id, day), new)
    await _require_not_installed(conn, row, new)
    removed_registers = msgspec.convert(removed.registers, list[Register])
    final = check_readings("final_readings", change.final_readings, removed_registers)
    initial = check_readings("initial_readings", change.initial_readings, new.registers)
    before = await _read(conn, row, day)
    await conn.execute(
        sa.update(t.meter).where(t.meter.c.id == removed.id).values(removed_on=day, final_readings=final)
    )
    await conn.execute(sa.insert(t.meter).values(_meter_row(row.id, new, initial)))
    return await _bump(conn, actor, now, row, "meter_changed", before, day)


async def get_opm(conn: AsyncConnection, code: str, as_of: dt.date) -> Opm:
    """The OPM with the technical data in force on ``as_of``; history, meters and supply in full."""
    return await _read(conn, await _row(conn, code), as_of)


async def _row(conn: AsyncConnection, code: str, *, for_update: bool = False) -> Any:
    query = sa.select(t.opm).where(t.opm.c.code == lookup_code(code))
    if for_update:
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    if row is None:
        raise NotFound(f"OPM {code!r} does not exist")
    return row


async def _bump(
    conn: AsyncConnection, actor: str, now: dt.datetime, row: Any, action: str, before: Opm, as_of: dt.date,
    **values: Any,
) -> Opm:
    """Store the next version of the OPM row, then audit ``before`` → the OPM as of ``as_of``."""
    version = row.version + 1
    await conn.execute(
        sa.update(t.opm).where(t.opm.c.id == row.id, t.opm.c.version == row.version)
        .values(version=version, updated_at=now, **values)
    )
    after = await _read(conn, await _row(conn, row.code), as_of)
    assert after.version == version, (after.version, version)
    await audit.record(conn, actor, now, [Change("opm", row.id, row.code, action, version, before, after)])
    return after


async def _rate_on(conn: AsyncConnection, opm_id: uuid.UUID, day: dt.date) -> str | None:
    """The distribution rate in force on ``day``; before the first version, the first version's rate (a meter
    recorded earlier than the technical data still has to fit the point)."""
    tech = t.opm_technical.c
    query = sa.select(tech.distribution_rate).where(tech.opm_id == opm_id)
    in_force = (await conn.execute(
        query.where(tech.effective_from <= day).order_by(tech.effective_from.desc()).limit(1)
    )).first()
    if in_force is None:
        in_force = (await conn.execute(query.order_by(tech.effective_from).limit(1))).first()
    assert in_force is not None, f"OPM {opm_id} has no technical data"
    rate: str | None = in_force.distribution_rate
    return rate


async def _installed_meter(conn: AsyncConnection, row: Any, serial: str) -> Any:
    meter = (await conn.execute(sa.select(t.meter).where(
        t.meter.c.opm_id == row.id, t.meter.c.serial == serial, t.meter.c.removed_on.is_(None),
    ))).first()
    if meter is None:
        raise InvalidField("removed_serial", serial, f"is not a meter installed at OPM {row.code}")
    return meter


async def _require_not_installed(conn: AsyncConnection, row: Any, meter: MeterIn) -> None:
    """A meter is installed at one OPM once at a time (and once per day in its history)."""
    m = t.meter.c
    installed = await conn.scalar(sa.select(m.installed_on).where(
        m.opm_id == row.id, m.serial == meter.serial,
        sa.or_(m.removed_on.is_(None), m.installed_on == meter.installed_on),
    ).limit(1))
    if installed is not None:
        raise Conflict(f"meter {meter.serial} is already installed at OPM {row.code} since {installed}")


def _technical_row(opm_id: uuid.UUID, technical: Technical, now: dt.datetime) -> dict[str, Any]:
    return {
        "opm_id": opm_id, "effective_from": technical.effective_from,
        "distribution_rate": technical.distribution_rate, "breaker_phases": technical.breaker_phases,
        "breaker_amps": technical.breaker_amps, "gas_band": technical.gas_band,
        "tdd_class": technical.tdd_class, "annual_consumption_kwh": technical.annual_consumption_kwh,
        "gas_conversion_factor": technical.gas_conversion_factor, "gas_area": technical.gas_area,
        "recorded_at": now,
    }


def _meter_row(opm_id: uuid.UUID, meter: MeterIn, initial_readings: dict[str, str]) -> dict[str, Any]:
    return {
        "opm_id": opm_id, "serial": meter.serial, "installed_on": meter.installed_on, "removed_on": None,
        "registers": msgspec.to_builtins(meter.registers), "final_readings": None,
        "initial_readings": initial_readings or None,
    }


async def _read(conn: AsyncConnection, row: Any, as_of: dt.date) -> Opm:
    address = (await conn.execute(sa.select(t.address).where(
        t.address.c.opm_id == row.id, t.address.c.kind == _SUPPLY_KIND,
    ))).one()
    tech = t.opm_technical.c
    history = [
        technical_from(version) for version in await conn.execute(
            sa.select(t.opm_technical).where(tech.opm_id == row.id).order_by(tech.effective_from)
        )
    ]
    in_force = [version for version in history if version.effective_from <= as_of]
    meters = await conn.execute(
        sa.select(t.meter).where(t.meter.c.opm_id == row.id).order_by(t.meter.c.installed_on, t.meter.c.id)
    )
    commodity: Commodity = row.commodity
    return Opm(
        id=row.id, code=row.code, commodity=commodity, dso=row.dso, supply_address=address_from_row(address),
        technical=in_force[-1] if in_force else None, technical_history=history,
        meters=[meter_from(meter) for meter in meters], supply=await supply.periods_of_opm(conn, row.id),
        version=row.version, created_at=as_utc(row.created_at), updated_at=as_utc(row.updated_at),
    )


