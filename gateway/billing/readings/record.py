"""Readings entered here: a customer's self-reading or the back office's control reading
(``record_reading``), and our estimates (``gateway.billing.readings.estimate``), into the reading store.

Such a reading is a meter's state per register on one day: a row of ``rd_reading`` with ``date_from`` =
``date_to`` = the day and source ``manual``, register rows with the state as ``end_state`` (no start state:
the state before is another reading's) and the consumption since the register's previous state (0 for a
meter's first), with a note naming that state. Like every reading it is announced as a ``meter.reading``.

Within the store's rules: the same meter and day again is a duplicate (same states and kind) or a correction
(other states or another kind), the reading in force superseded by it. A reading that is not an estimate
also supersedes the meter's estimates within ``ESTIMATE_REPLACED_WITHIN_DAYS`` of its day
(``replaced_estimates``); an estimate is refused where such a reading exists.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.billing.readings import timeline as tl
from gateway.billing.readings.compute import difference
from gateway.bus import outbox
from gateway.errors import Conflict, InvalidField, NotFound
from gateway.masterdata import tables as md
from gateway.masterdata.opm_checks import lookup_code
from gateway.masterdata.service_base import local_date
from gateway.readings import store
from gateway.readings import tables as rd
from gateway.readings.estimates import Filed, replace_estimates
from gateway.readings.model import fingerprint
from gateway.readings.register_text import register_values
from gateway.readings.topics import METER_READINGS
from schemas.billing.readings import ReadingIn, RecordedReading
from schemas.envelope import new_envelope
from schemas.masterdata.common import Commodity
from schemas.readings import MeterReading, ReadingKind, ReadingReason, ReadingStatus, Register, RegisterValue

SOURCE_MANUAL: Final = "manual"
#: Digits after the decimal point a state entered may have (meters show whole units, some one decimal).
STATE_DECIMALS_MAX: Final = 3
#: [I] kWh per m³ for the provisional energy of a gas reading entered here (ote-market.md §7: "1 m³ ≈ 10.55
#: kWh"); billing converts the volume with the DSO's calorific value of each month instead (the price
#: list's ``calorific``, ``gateway/billing/calorific.py``).
GAS_KWH_PER_M3_PROVISIONAL: Final = Decimal("10.55")
_KWH_QUANTUM: Final = Decimal("0.001")
#: Days of states before a reading's day read to find the previous state of each register.
PREVIOUS_STATE_DAYS_MAX: Final = 800


async def record_reading(
    conn: AsyncConnection, now: dt.datetime, code: str, data: ReadingIn
) -> RecordedReading:
    """A customer's or the back office's reading of an OPM's meter, stored and announced in ``conn``'s
    transaction; ``InvalidField`` names the field and value it refuses."""
    return await store_states(conn, now, code, data.date, data.registers, meter=data.meter, kind=data.kind,
                              reason=data.reason)


@dataclass(frozen=True, slots=True)
class _Entry:
    """A reading about to be stored: where, what, and each register's value with its note."""

    opm: str
    commodity: Commodity
    meter: str
    day: dt.date
    kind: ReadingKind
    reason: ReadingReason
    values: tuple[tuple[RegisterValue, str], ...]

    @property
    def registers(self) -> tuple[RegisterValue, ...]:
        return tuple(value for value, _ in self.values)


async def store_states(
    conn: AsyncConnection, now: dt.datetime, code: str, day: dt.date, states: Mapping[Register, Decimal], *,
    meter: str | None, kind: ReadingKind, reason: ReadingReason,
) -> RecordedReading:
    """The states of ``meter`` (None: the one installed on ``day``) on ``day``, as a reading of ``kind``."""
    assert conn.in_transaction(), "a reading is stored in the caller's transaction"
    entry = await _entry(conn, now, code, day, states, meter, kind, reason)
    digest = fingerprint(entry.registers, (None,) * len(entry.values))
    status, previous = await _decide(conn, entry, digest)
    [reading_id] = await store.draw_ids(conn, 1)
    corrects = previous if status == "correction" else None
    if corrects is not None:  # before the new row: the in-force index allows one per meter and day
        await _supersede(conn, [corrects], reading_id)
    replaced: list[int] = []
    if kind != "estimated" and status != "duplicate":
        filed = Filed(reading_id, entry.opm, entry.meter, day)
        replaced = sorted(await replace_estimates(conn, [filed]))
    row = _reading_row(entry, status, reading_id, now, digest)
    row.update(corrects=corrects, duplicate_of=previous if status == "duplicate" else None)
    await conn.execute(rd.reading.insert().values(row))
    if status != "duplicate":
        await conn.execute(rd.register.insert(), [
            _register_row(reading_id, value, note) for value, note in entry.values
        ])
    event = MeterReading(
        reading_id=reading_id, opm=entry.opm, commodity=entry.commodity, meter_id=entry.meter,
        date_from=day, date_to=day, reason=reason, kind=kind, status=status, corrects=corrects,
        registers=entry.registers, source=SOURCE_MANUAL,
    )
    envelope = new_envelope(event, key=entry.opm, now=now)
    await outbox.add(conn, [outbox.envelope_record(METER_READINGS.name, envelope)], now)
    return RecordedReading(
        reading_id=reading_id, opm=entry.opm, meter=entry.meter, date=day, kind=kind, status=status,
        corrects=corrects, replaced_estimates=tuple(replaced),
        consumption={value.register: _consumed(value) for value in entry.registers},
    )


def _consumed(value: RegisterValue) -> Decimal:
    """In the register's unit: kWh for electricity, m³ for gas."""
    return value.consumption_kwh if value.volume_m3 is None else value.volume_m3


async def _entry(
    conn: AsyncConnection, now: dt.datetime, code: str, day: dt.date, states: Mapping[Register, Decimal],
    meter: str | None, kind: ReadingKind, reason: ReadingReason,
) -> _Entry:
    """The reading checked against master data and the states before it, or ``InvalidField``."""
    opm = await opm_row(conn, code, for_update=True)
    today = local_date(now)
    if day > today:
        raise InvalidField("date", day.isoformat(), f"is in the future (today is {today})")
    meter_row = await meter_on(conn, opm, day, meter)
    timeline = await tl.load(conn, opm.code, day - dt.timedelta(days=PREVIOUS_STATE_DAYS_MAX), day)
    info = timeline.meter(meter_row.serial)
    assert info is not None, meter_row.serial
    _check_states(states, info)
    values = tuple(
        _register_value(opm.commodity, register, state, timeline, info, day)
        for register, state in sorted(states.items())
    )
    return _Entry(opm.code, opm.commodity, meter_row.serial, day, kind, reason, values)


async def _decide(conn: AsyncConnection, entry: _Entry, digest: bytes) -> tuple[ReadingStatus, int | None]:
    """new, duplicate (same states and kind) or correction of the reading in force for the meter and day;
    with that reading's id."""
    key = (entry.opm, entry.meter, entry.day.isoformat(), entry.day.isoformat())
    in_force = (await store.in_force(conn, [key])).get(key)
    if in_force is None:
        return "new", None
    previous_kind = await _kind_of(conn, in_force.id)
    if entry.kind == "estimated" and previous_kind != "estimated":
        raise Conflict(f"OPM {entry.opm} meter {entry.meter} has a {previous_kind} reading of {entry.day}")
    same = in_force.fingerprint == digest and previous_kind == entry.kind
    return ("duplicate" if same else "correction"), in_force.id


async def opm_row(conn: AsyncConnection, code: str, *, for_update: bool = False) -> Any:
    o = md.opm.c
    query = sa.select(o.id, o.code, o.commodity).where(o.code == lookup_code(code))
    if for_update:  # one writer of an OPM's readings at a time: the previous state and the key stay valid
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    if row is None:
        raise NotFound(f"OPM {code!r} does not exist")
    return row


async def meter_on(conn: AsyncConnection, opm: Any, day: dt.date, serial: str | None) -> Any:
    """The meter ``serial`` (None: the only one) counting at ``opm`` on ``day``, by master data."""
    m = md.meter.c
    rows = list(await conn.execute(sa.select(md.meter).where(
        m.opm_id == opm.id, m.installed_on <= day, sa.or_(m.removed_on.is_(None), m.removed_on > day),
    ).order_by(m.installed_on)))
    if serial is not None:
        found = [row for row in rows if row.serial == serial]
        if not found:
            raise InvalidField("meter", serial, f"is not a meter counting at OPM {opm.code} on {day}")
        return found[0]
    if len(rows) != 1:
        serials = ", ".join(row.serial for row in rows) or "none"
        reason = f"is required: meters counting at OPM {opm.code} on {day}: {serials}"
        raise InvalidField("meter", None, reason)
    return rows[0]


def _check_states(states: Mapping[Register, Decimal], meter: tl.MeterInfo) -> None:
    expected = sorted(meter.digits)
    if sorted(states) != expected:
        raise InvalidField(
            "registers", ", ".join(sorted(states)) or None,
            f"must be the registers of meter {meter.serial}: {', '.join(expected)}",
        )
    for register, state in states.items():
        field, digits = f"registers.{register}", meter.digits[register]
        if not state.is_finite() or state < 0:
            raise InvalidField(field, str(state), "must be a meter state of 0 or more")
        if state >= Decimal(10) ** digits:
            raise InvalidField(field, str(state), f"does not fit the register's {digits} digits")
        exponent = state.as_tuple().exponent
        assert isinstance(exponent, int)  # finite, checked above
        if -exponent > STATE_DECIMALS_MAX:
            raise InvalidField(field, str(state), f"has more than {STATE_DECIMALS_MAX} decimals")


def _register_value(
    commodity: str, register: Register, state: Decimal, timeline: tl.Timeline, meter: tl.MeterInfo,
    day: dt.date,
) -> tuple[RegisterValue, str]:
    """The register's value (state and consumption since the previous state) and its note."""
    before = [point for point in timeline.points_of(meter.serial, register) if point.day < day]
    if before:
        previous = before[-1]
        used, rolled = difference(previous.state, state, meter.digits.get(register))
        note = f"since {previous.kind} state {previous.state} of {previous.day}" + (
            " (roll-over)" if rolled else ""
        )
    else:
        used, note = Decimal(0), "first state of the meter"
    if commodity == "electricity":
        return RegisterValue(register=register, end_state=state, consumption_kwh=used), note
    energy = (used * GAS_KWH_PER_M3_PROVISIONAL).quantize(_KWH_QUANTUM)
    note += f"; provisional kWh at {GAS_KWH_PER_M3_PROVISIONAL} kWh/m3"
    return RegisterValue(register=register, end_state=state, consumption_kwh=energy, volume_m3=used), note


async def _kind_of(conn: AsyncConnection, reading_id: int) -> ReadingKind:
    kind = await conn.scalar(sa.select(rd.reading.c.kind).where(rd.reading.c.id == reading_id))
    assert kind is not None, reading_id
    found: ReadingKind = kind
    return found


async def _supersede(conn: AsyncConnection, ids: list[int], by: int) -> None:
    r = rd.reading.c
    result = await conn.execute(
        rd.reading.update().where(r.id.in_(ids), r.superseded_by.is_(None)).values(superseded_by=by)
    )
    # Loaded in force under the OPM's row lock (PostgreSQL) or the write lock (SQLite): none can have gone.
    assert result.rowcount == len(ids), (result.rowcount, ids)


def _reading_row(
    entry: _Entry, status: ReadingStatus, reading_id: int, now: dt.datetime, digest: bytes
) -> dict[str, Any]:
    return {
        "id": reading_id, "opm": entry.opm, "commodity": entry.commodity, "meter_id": entry.meter,
        "date_from": entry.day, "date_to": entry.day, "reason": entry.reason, "kind": entry.kind,
        "status": status, "superseded_by": None, "fingerprint": digest, "source": SOURCE_MANUAL,
        "created_at": now, "register_values": register_values(entry.registers),
    }


def _register_row(reading_id: int, value: RegisterValue, note: str) -> dict[str, Any]:
    return {
        "reading_id": reading_id, "register": value.register, "start_state": None,
        "end_state": value.end_state, "consumption_kwh": value.consumption_kwh,
        "volume_m3": value.volume_m3, "note": note,
    }
