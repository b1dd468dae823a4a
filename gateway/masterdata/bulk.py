"""The OPM speed path of the import: thousands of OPM records per transaction, audited like single writes.

A batch is checked with the OPM service's own rules, then one query finds which codes exist. New OPMs are
written with one statement per table (binary COPY on PostgreSQL, with the rows encoded when they were
checked, see ``bulk_copy``; executemany on SQLite) and each gets its ``md_change`` row and
``masterdata.changed`` event (``bulk_audit``), exactly as ``create_opm`` would have recorded it. Existing
OPMs are compared with their stored state, loaded for the whole batch in three queries: unchanged ones are
skipped, changed ones go through the service's update functions one by one
(``importer_apply.apply_opm_change``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.errors import InvalidField
from gateway.ids import uuid7
from gateway.masterdata import bulk_copy as copy
from gateway.masterdata import opm as opm_service
from gateway.masterdata import tables as t
from gateway.masterdata.audit import Change
from gateway.masterdata.bulk_audit import Prepared, prepare, record_prepared
from gateway.masterdata.energy import EAN_OPM_LENGTH
from gateway.masterdata.importer_rows import Row, RowError
from gateway.masterdata.opm_rows import address_from_row, technical_from
from gateway.masterdata.service_base import address_row, fold, local_date
from gateway.store.db import is_postgres
from schemas.masterdata.common import Address, Commodity
from schemas.masterdata.opm import (
    GAS_CONVERSION_FACTOR_DECIMALS_MAX,
    Meter,
    Opm,
    OpmIn,
    Register,
    Technical,
)

#: OPM records written per statement (and per audit call); the importer's batches are at most this big.
OPM_BATCH_MAX: Final = 5000
_SUPPLY_KIND: Final = "supply"
#: NUMERIC(17, 3): what a stored quantity reads back as, so the audit shows what a read would.
_QUANTUM: Final = Decimal("0.001")

# Binary COPY into each table (the fastest way into PostgreSQL: no SQL to parse per batch, no arrays to
# unpack), in the importer's transaction, through the asyncpg connection under SQLAlchemy's. The rows are
# encoded by ``_copy_rows`` in this column order.
_PG_OPM_COLUMNS: Final = ("id", "code", "commodity", "dso", "version", "created_at", "updated_at")
_PG_ADDRESS_COLUMNS: Final = (
    "opm_id", "kind", "street", "house_number", "city", "city_part", "postal_code", "country", "search_text",
)
_PG_TECHNICAL_COLUMNS: Final = (
    "opm_id", "effective_from", "distribution_rate", "breaker_phases", "breaker_amps", "gas_band",
    "tdd_class", "annual_consumption_kwh", "gas_conversion_factor", "gas_area", "recorded_at",
)
_PG_METER_COLUMNS: Final = ("opm_id", "serial", "installed_on", "registers")
_PG_EXISTING = "SELECT code FROM md_opm WHERE code = ANY($1::varchar[])"
#: The tables ``Checked.copy_rows`` are for, in that order, with their columns.
PG_TABLES: Final = (
    ("md_opm", _PG_OPM_COLUMNS), ("md_address", _PG_ADDRESS_COLUMNS),
    ("md_opm_technical", _PG_TECHNICAL_COLUMNS), ("md_meter", _PG_METER_COLUMNS),
)
_OPM_ROW_START: Final = copy.field_count(len(_PG_OPM_COLUMNS))
_ADDRESS_ROW_START: Final = copy.field_count(len(_PG_ADDRESS_COLUMNS))
_TECHNICAL_ROW_START: Final = copy.field_count(len(_PG_TECHNICAL_COLUMNS))
_METER_ROW_START: Final = copy.field_count(len(_PG_METER_COLUMNS))
_VERSION_1: Final = copy.int4(1)
_json = msgspec.json.Encoder()
# Columns with few distinct values (commodity, DSO, city, PSČ, rate, …), dates, quantities and the batch's
# time: each encoded once. A quantity is encoded as the column stores it (NUMERIC(17, 3) rounds to three
# places; the checks allow no more), so that equal quantities (7471 and 7471.0) share one encoding.
_texts: Final = copy.Encodings[str | None](copy.text)
_dates: Final = copy.Encodings[dt.date](copy.date)
_quantities: Final = copy.Encodings[Decimal | None](
    lambda value: copy.numeric(None if value is None else value.quantize(_QUANTUM))
)
_stamps: Final = copy.Encodings[dt.datetime](copy.timestamptz)
_FACTOR_QUANTUM: Final = Decimal(1).scaleb(-GAS_CONVERSION_FACTOR_DECIMALS_MAX)
#: Gas conversion factors, as NUMERIC(7, 6) stores them (the checks allow no more places).
_factors: Final = copy.Encodings[Decimal | None](
    lambda value: copy.numeric(None if value is None else value.quantize(_FACTOR_QUANTUM))
)


@dataclass(frozen=True, slots=True)
class Checked:
    """A row that passed the OPM rules, in canonical form, and what creating it would write: the id it gets,
    its COPY rows for ``md_opm``, ``md_address``, ``md_opm_technical`` and ``md_meter`` (all its meters'),
    and its ``created`` change (the OPM as ``create_opm`` audits it)."""

    row: Row
    data: OpmIn
    commodity: Commodity
    opm_id: uuid.UUID
    copy_rows: tuple[bytes, bytes, bytes, bytes]
    created: Prepared


def commodity_of(code: str) -> Commodity:
    """The commodity of a code ``validate_opm_in`` accepted: 18 digits are an EAN, the rest EICs."""
    return "electricity" if len(code) == EAN_OPM_LENGTH and code.isdigit() else "gas"


def validate_opm(data: OpmIn, *, decoded: bool = False) -> tuple[OpmIn, Commodity]:
    """``data`` by the rules of ``create_opm`` (its own ``validate_opm_in``), or ``InvalidField``;
    ``decoded``: as ``validate_opm_in`` takes it (the row's decoder enforced the types' constraints)."""
    valid = opm_service.validate_opm_in(data, decoded=decoded)
    return valid, commodity_of(valid.code)


def check_row(row: Row, actor: str, now: dt.datetime) -> Checked | RowError:
    """The checks and the preparation that need no database (the importer does them ahead of the writes)."""
    try:
        data, commodity = validate_opm(row.data, decoded=row.decoded)
    except InvalidField as exc:
        return RowError(row.line, "opm", row.key, exc.field, exc.value, exc.reason)
    opm_id = uuid7()
    change = Change("opm", opm_id, data.code, "created", 1, None, created_opm(opm_id, data, commodity, now))
    return Checked(row, data, commodity, opm_id, _copy_rows(opm_id, data, commodity, now),
                   prepare(change, actor, now))


def _copy_rows(
    opm_id: uuid.UUID, data: OpmIn, commodity: Commodity, now: dt.datetime
) -> tuple[bytes, bytes, bytes, bytes]:
    """The OPM's COPY rows, in the order of the ``_PG_*_COLUMNS``."""
    a, x, text, texts = data.supply_address, data.technical, copy.text, _texts
    key, stamp = copy.uuid_field(opm_id), _stamps[now]
    return (
        b"".join((_OPM_ROW_START, key, text(data.code), texts[commodity], texts[data.dso], _VERSION_1, stamp,
                  stamp)),
        b"".join((_ADDRESS_ROW_START, key, texts[_SUPPLY_KIND], text(a.street), text(a.house_number),
                  texts[a.city], texts[a.city_part], texts[a.postal_code], texts[a.country],
                  text(search_text(a)))),
        b"".join((_TECHNICAL_ROW_START, key, _dates[x.effective_from], texts[x.distribution_rate],
                  copy.int2(x.breaker_phases), copy.int4(x.breaker_amps), texts[x.gas_band],
                  texts[x.tdd_class], _quantities[x.annual_consumption_kwh],
                  _factors[x.gas_conversion_factor], texts[x.gas_area], stamp)),
        b"".join([part for m in data.meters for part in (
            _METER_ROW_START, key, text(m.serial), _dates[m.installed_on],
            copy.raw(_json.encode(m.registers)),
        )]),
    )


async def existing_codes(conn: AsyncConnection, codes: list[str]) -> set[str]:
    assert len(codes) <= OPM_BATCH_MAX
    if not codes:
        return set()
    if is_postgres(conn):
        result = await conn.exec_driver_sql(_PG_EXISTING, (codes,))
    else:
        result = await conn.execute(sa.select(t.opm.c.code).where(t.opm.c.code.in_(codes)))
    return {row[0] for row in result}


def created_opm(opm_id: uuid.UUID, data: OpmIn, commodity: Commodity, now: dt.datetime) -> Opm:
    """The new OPM as ``get_opm`` would read it back as of ``now``'s day (what ``create_opm`` audits)."""
    technical = data.technical
    if technical.annual_consumption_kwh is not None:
        # Numerically equal already, but 7471 reads back as 7471.000, and the audit shows that text.
        amount = technical.annual_consumption_kwh.quantize(_QUANTUM)
        technical = msgspec.structs.replace(technical, annual_consumption_kwh=amount)
    if technical.gas_conversion_factor is not None:
        factor = technical.gas_conversion_factor.quantize(_FACTOR_QUANTUM)
        technical = msgspec.structs.replace(technical, gas_conversion_factor=factor)
    meters = sorted(data.meters, key=lambda meter: meter.installed_on)
    return Opm(
        id=opm_id, code=data.code, commodity=commodity, dso=data.dso, supply_address=data.supply_address,
        technical=technical if technical.effective_from <= local_date(now) else None,
        technical_history=[technical],
        meters=[Meter(serial=m.serial, installed_on=m.installed_on, removed_on=None, registers=m.registers,
                      initial_readings={}, final_readings={}) for m in meters],
        supply=[], version=1, created_at=now, updated_at=now,
    )


async def insert_new(conn: AsyncConnection, actor: str, now: dt.datetime, items: Sequence[Checked]) -> None:
    """Write new OPMs (none of whose codes exist) and audit each as ``created``."""
    assert 0 < len(items) <= OPM_BATCH_MAX, len(items)
    if is_postgres(conn):
        await _insert_pg(conn, items)
    else:
        await _insert_sqlite(conn, [item.opm_id for item in items], items, now)
    await record_prepared(conn, actor, now, [item.created for item in items])


# Czech and Slovak letters with diacritics and their base letters: what ``fold`` makes of them (NFKD, then
# the combining marks dropped). ``fold`` normalises character by character in Python; this table does the
# same for the letters addresses have, and anything else still goes through ``fold`` itself.
_FOLD_TABLE: Final = str.maketrans(
    "áäčďéěíĺľňóôŕřšťúůýžÁÄČĎÉĚÍĹĽŇÓÔŔŘŠŤÚŮÝŽ", "aacdeeillnoorrstuuyzAACDEEILLNOORRSTUUYZ"
)
#: Address parts whose folded form is kept (cities, streets and PSČ repeat across an import).
FOLDED_PARTS_CACHED_MAX: Final = 50_000


class _Folded(dict[str, str]):
    """``fold`` of one address part, each part folded once (at most ``FOLDED_PARTS_CACHED_MAX`` kept)."""

    def __missing__(self, part: str) -> str:
        if len(self) >= FOLDED_PARTS_CACHED_MAX:
            self.clear()
        plain = part.translate(_FOLD_TABLE)
        folded = self[part] = plain.casefold() if plain.isascii() else fold(part)
        return folded


_folded: Final = _Folded()


def search_text(a: Address) -> str:
    """``address_row``'s ``search_text``: ``fold`` of the address parts, folded part by part.

    The same text: ``fold`` works character by character (NFKD decomposes each character on its own, the
    combining marks it drops are never spaces, case folding has no context), so folding the parts and
    joining them with spaces equals folding the joined text.
    """
    parts = (a.street, a.house_number, a.city, a.city_part, a.postal_code)
    return " ".join([_folded[part] for part in parts if part])


async def _insert_pg(conn: AsyncConnection, items: Sequence[Checked]) -> None:
    for index, (table, columns) in enumerate(PG_TABLES):
        rows = [item.copy_rows[index] for item in items if item.copy_rows[index]]
        if rows:  # an OPM may have no meters
            await copy.copy_binary(conn, table, columns, rows)


async def _insert_sqlite(conn: AsyncConnection, ids: list[uuid.UUID], items: Sequence[Checked],
                         now: dt.datetime) -> None:
    data = [item.data for item in items]
    await conn.execute(sa.insert(t.opm), [
        {"id": opm_id, "code": d.code, "commodity": item.commodity, "dso": d.dso, "version": 1,
         "created_at": now, "updated_at": now}
        for opm_id, d, item in zip(ids, data, items, strict=True)
    ])
    await conn.execute(sa.insert(t.address), [
        address_row(d.supply_address, _SUPPLY_KIND, opm_id=opm_id)
        for opm_id, d in zip(ids, data, strict=True)
    ])
    await conn.execute(sa.insert(t.opm_technical), [
        {"opm_id": opm_id, **msgspec.structs.asdict(d.technical), "recorded_at": now}
        for opm_id, d in zip(ids, data, strict=True)
    ])
    meters = [
        {"opm_id": opm_id, "serial": m.serial, "installed_on": m.installed_on, "removed_on": None,
         "registers": msgspec.to_builtins(m.registers), "final_readings": None, "initial_readings": None}
        for opm_id, d in zip(ids, data, strict=True) for m in d.meters
    ]
    if meters:
        await conn.execute(sa.insert(t.meter), meters)


@dataclass(frozen=True, slots=True)
class Stored:
    """What the import compares of an existing OPM: its row, supply address, technical versions, meters."""

    row: Any
    address: Any
    technical: dict[dt.date, Technical]
    meters: dict[tuple[str, dt.date], list[Register]]  # registers by (serial, installed_on)


async def load_stored(conn: AsyncConnection, codes: list[str]) -> dict[str, Stored]:
    """The stored state of the OPMs with these codes, in three queries whatever their number."""
    opm_rows = (await conn.execute(sa.select(t.opm).where(t.opm.c.code.in_(codes)))).all()
    ids = [row.id for row in opm_rows]
    addresses = {row.opm_id: address_from_row(row) for row in await conn.execute(
        sa.select(t.address).where(t.address.c.opm_id.in_(ids), t.address.c.kind == _SUPPLY_KIND))}
    technical: dict[uuid.UUID, dict[dt.date, Technical]] = {opm_id: {} for opm_id in ids}
    for row in await conn.execute(sa.select(t.opm_technical).where(t.opm_technical.c.opm_id.in_(ids))):
        technical[row.opm_id][row.effective_from] = technical_from(row)
    meters: dict[uuid.UUID, dict[tuple[str, dt.date], list[Register]]] = {opm_id: {} for opm_id in ids}
    for row in await conn.execute(sa.select(t.meter).where(t.meter.c.opm_id.in_(ids))):
        meters[row.opm_id][row.serial, row.installed_on] = msgspec.convert(row.registers, list[Register])
    return {row.code: Stored(row, addresses[row.id], technical[row.id], meters[row.id]) for row in opm_rows}


def differences(data: OpmIn, stored: Stored) -> list[str]:
    """What of ``data`` differs from the stored OPM: "dso", "supply_address", "technical", "meters"."""
    found = []
    if data.dso != stored.row.dso:
        found.append("dso")
    if data.supply_address != stored.address:
        found.append("supply_address")
    if stored.technical.get(data.technical.effective_from) != data.technical:
        found.append("technical")
    if any(stored.meters.get((m.serial, m.installed_on)) != m.registers for m in data.meters):
        found.append("meters")
    return found
