"""Electricity readings through the consumer: two-rate (VT/NT) and single-rate meters, duplicates,
corrections and unknown codes, on SQLite and PostgreSQL. Every test files readings at OPMs of its own."""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.errors import MalformedMessage
from gateway.readings import tables as t
from gateway.readings.codes import UnknownReadingCode
from schemas.ote import Register, RegisterReading
from tests.readings.support import deliver, electricity, events, filed, fresh_ean, single_rate, two_rate


async def test_two_rate_and_single_rate_readings_are_filed_with_their_registers(engine: AsyncEngine) -> None:
    two, one = fresh_ean(), fresh_ean()
    await deliver(engine, electricity(two_rate(two), single_rate(one), message_id="DT250502000914"))

    [vt_nt] = await filed(engine, two)
    row = vt_nt.row
    assert (row.status, row.reason, row.kind, row.meter_id, row.commodity) == (
        "new", "switch", "actual", "20104587", "electricity",
    )
    assert (row.corrects, row.duplicate_of, row.superseded_by, row.ote_message_id) == (
        None, None, None, "DT250502000914",
    )
    assert set(vt_nt.registers) == {"vt", "nt"}
    nt = vt_nt.registers["nt"]
    # Every digit as sent, trailing zeros too.
    assert (str(nt.start_state), str(nt.end_state), str(nt.consumption_kwh)) == (
        "40117.300", "43968.420", "3851.120",
    )
    assert nt.volume_m3 is None and nt.note is None

    [single] = await filed(engine, one)
    assert (single.row.reason, single.row.kind) == ("periodic", "estimated")
    assert list(single.registers) == ["single"]
    assert single.registers["single"].consumption_kwh == Decimal("902")

    [event] = await events(engine, two)
    assert (event.reading_id, event.status, event.opm, event.reason, event.kind) == (
        row.id, "new", two, "switch", "actual",
    )
    assert [(value.register, value.consumption_kwh) for value in event.registers] == [
        ("vt", Decimal("1570.495")), ("nt", Decimal("3851.120")),
    ]
    [single_event] = await events(engine, one)
    assert [value.register for value in single_event.registers] == ["single"]


async def test_the_same_values_again_are_a_duplicate_filed_once(engine: AsyncEngine) -> None:
    opm = fresh_ean()
    await deliver(engine, electricity(two_rate(opm)))
    # Again in another message, with the same quantities written at another scale.
    registers = tuple(
        msgspec.structs.replace(value, consumption_kwh=Decimal(f"{value.consumption_kwh}0"))
        for value in two_rate(opm).registers
    )
    await deliver(engine, electricity(two_rate(opm, registers=registers), message_id="DT2"))
    first, second = await filed(engine, opm)
    assert (second.row.status, second.row.duplicate_of, second.row.corrects) == (
        "duplicate", first.row.id, None,
    )
    assert second.registers == {}, "a duplicate is not applied twice"
    assert first.row.superseded_by is None and first.row.status == "new"
    assert [(e.status, e.reading_id) for e in await events(engine, opm)] == [
        ("new", first.row.id), ("duplicate", second.row.id),
    ]


async def test_other_values_for_the_same_period_correct_the_reading_in_force(engine: AsyncEngine) -> None:
    opm = fresh_ean()
    original = two_rate(opm)
    vt, nt = original.registers
    corrected_nt = msgspec.structs.replace(
        nt, end_state_kwh=Decimal("43970.420"), consumption_kwh=Decimal("3853.120")
    )
    corrected = two_rate(opm, registers=(vt, corrected_nt))
    await deliver(engine, electricity(original))
    await deliver(engine, electricity(corrected, message_id="DT2"))
    await deliver(engine, electricity(corrected, message_id="DT3"))  # the correction again
    await deliver(engine, electricity(original, message_id="DT4"))  # the first values back: a correction

    first, second, third, fourth = await filed(engine, opm)
    assert (second.row.status, second.row.corrects) == ("correction", first.row.id)
    assert first.row.superseded_by == second.row.id
    assert second.registers["nt"].consumption_kwh == Decimal("3853.120")
    assert (third.row.status, third.row.duplicate_of) == ("duplicate", second.row.id)
    assert (fourth.row.status, fourth.row.corrects) == ("correction", second.row.id)
    assert second.row.superseded_by == fourth.row.id and fourth.row.superseded_by is None
    assert [(e.status, e.corrects) for e in await events(engine, opm)] == [
        ("new", None), ("correction", first.row.id), ("duplicate", None), ("correction", second.row.id),
    ]


async def test_a_batch_with_a_period_twice_decides_as_two_batches_would(engine: AsyncEngine) -> None:
    opm = fresh_ean()
    vt, nt = two_rate(opm).registers
    other = two_rate(opm, registers=(vt, msgspec.structs.replace(nt, consumption_kwh=Decimal("1"))))
    await deliver(engine, electricity(two_rate(opm)), electricity(other, message_id="DT2"),
                  electricity(other, message_id="DT3"))
    first, second, third = await filed(engine, opm)
    assert [r.row.status for r in (first, second, third)] == ["new", "correction", "duplicate"]
    assert (first.row.superseded_by, second.row.corrects, third.row.duplicate_of) == (
        second.row.id, first.row.id, second.row.id,
    )


@pytest.mark.parametrize(("changes", "named"), [
    ({"reading_type": "9"}, "/CDSDATA/Reading[2]: reading-type '9' is not a code we map (known: 1, 2, 3)"),
    ({"reading_reason": "XX"}, "/CDSDATA/Reading[2]: reading-reason 'XX' is not a code we map"),
])
async def test_an_unknown_code_is_refused_naming_field_and_value(
    engine: AsyncEngine, changes: dict[str, str], named: str
) -> None:
    opm = fresh_ean()
    with pytest.raises(UnknownReadingCode) as refused:
        await deliver(engine, electricity(two_rate(fresh_ean()), two_rate(opm, **changes)))
    assert named in refused.value.message
    assert (refused.value.field, refused.value.value) == (
        ("reading-type", "9") if "reading_type" in changes else ("reading-reason", "XX")
    )
    assert await filed(engine, opm) == [] and await events(engine, opm) == []


async def test_registers_other_than_vt_nt_are_refused(engine: AsyncEngine) -> None:
    vt = RegisterReading(register=Register.VT, start_state_kwh=Decimal(1), end_state_kwh=Decimal(2),
                         consumption_kwh=Decimal(1))
    with pytest.raises(MalformedMessage, match=r"Reading\[1\]: registers VT, VT are not"):
        await deliver(engine, electricity(two_rate(fresh_ean(), registers=(vt, vt))))


async def test_consumption_other_than_end_minus_start_is_noted(engine: AsyncEngine) -> None:
    opm = fresh_ean()
    vt = RegisterReading(register=Register.VT, start_state_kwh=Decimal("100"), end_state_kwh=Decimal("150"),
                         consumption_kwh=Decimal("2500"))  # a meter constant of 50 the DSO applied
    await deliver(engine, electricity(single_rate(opm, registers=(vt,))))
    [reading] = await filed(engine, opm)
    assert reading.registers["single"].note == "consumption 2500 kWh is not end − start = 50 kWh"


async def test_no_register_row_is_without_its_reading(engine: AsyncEngine) -> None:
    await deliver(engine, electricity(two_rate(fresh_ean()), single_rate(fresh_ean())))
    async with engine.connect() as conn:
        orphans = await conn.scalar(
            sa.select(sa.func.count()).select_from(t.register)
            .where(~sa.exists().where(t.reading.c.id == t.register.c.reading_id))
        )
    assert orphans == 0
