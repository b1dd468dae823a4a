"""Readings entered by the customer or the back office, on SQLite and PostgreSQL: stored as the meter's
states on a day, announced as ``meter.reading`` (source manual), duplicates and corrections per meter and
day, and the fields refused by name and value."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.billing.readings.record import record_reading
from gateway.errors import InvalidField, NotFound
from gateway.readings import tables as rd
from schemas.billing.readings import ReadingIn
from tests.billing.readings.support import NOW, change, d, day, enter, meter, new_opm, reading_events
from tests.readings.register_check import mismatches


async def test_customer_reading_is_stored_and_announced(engine: AsyncEngine) -> None:
    opm = await new_opm(engine)
    first = await enter(engine, opm, "2025-06-30", single="1200.5")
    second = await enter(engine, opm, "2025-12-31", single="3000")

    assert (first.status, first.kind, first.meter) == ("new", "customer", "M1")
    assert first.consumption == {"single": d("0")}
    assert second.consumption == {"single": d("1799.5")}
    async with engine.connect() as conn:
        row = (await conn.execute(
            sa.select(rd.reading, rd.register.c.end_state, rd.register.c.start_state, rd.register.c.note)
            .join(rd.register, rd.register.c.reading_id == rd.reading.c.id)
            .where(rd.reading.c.id == second.reading_id)
        )).one()
    assert (row.kind, row.source, row.date_from, row.date_to) == ("customer", "manual", day("2025-12-31"),
                                                                  day("2025-12-31"))
    assert (row.end_state, row.start_state) == (d("3000"), None)
    assert row.note == "since customer state 1200.5 of 2025-06-30"
    events = await reading_events(engine, opm.code)
    assert [(e.reading_id, e.kind, e.source, e.status) for e in events] == [
        (first.reading_id, "customer", "manual", "new"), (second.reading_id, "customer", "manual", "new"),
    ]
    assert events[1].registers[0].consumption_kwh == d("1799.5")
    async with engine.connect() as conn:
        assert await mismatches(conn, rd.reading.c.opm == opm.code) == []


async def test_same_day_again_is_a_duplicate_or_a_correction(engine: AsyncEngine) -> None:
    opm = await new_opm(engine)
    first = await enter(engine, opm, "2025-06-30", single="1200")
    again = await enter(engine, opm, "2025-06-30", single="1200.000")
    corrected = await enter(engine, opm, "2025-06-30", single="1250")
    actual = await enter(engine, opm, "2025-06-30", single="1250", kind="actual")

    assert (again.status, again.corrects) == ("duplicate", None)
    assert (corrected.status, corrected.corrects) == ("correction", first.reading_id)
    # The same states read on site replace the self-reading: another kind is a correction.
    assert (actual.status, actual.corrects) == ("correction", corrected.reading_id)
    async with engine.connect() as conn:  # the duplicate's text: the values it repeats
        assert await mismatches(conn, rd.reading.c.opm == opm.code) == []


async def test_meter_is_chosen_by_the_day(engine: AsyncEngine) -> None:
    opm = await new_opm(engine)
    await change(engine, opm, "M1", meter("M2", "2025-07-01"), {"SINGLE": "5000"}, {"SINGLE": "7"})

    before = await enter(engine, opm, "2025-06-15", single="4900")
    after = await enter(engine, opm, "2025-08-01", single="100")

    assert (before.meter, after.meter) == ("M1", "M2")
    assert after.consumption == {"single": d("93")}  # since the installation state


@pytest.mark.parametrize(("changes", "field", "value"), [
    ({"date": dt.date(2026, 12, 1)}, "date", "2026-12-01"),
    ({"registers": {"vt": d("1")}}, "registers", "vt"),
    ({"registers": {"single": d("-1")}}, "registers.single", "-1"),
    ({"registers": {"single": d("1000000")}}, "registers.single", "1000000"),
    ({"registers": {"single": d("1.0001")}}, "registers.single", "1.0001"),
    ({"meter": "M9"}, "meter", "M9"),
    ({"date": dt.date(2019, 12, 31)}, "meter", None),
])
async def test_refused_fields(
    engine: AsyncEngine, changes: dict[str, object], field: str, value: object
) -> None:
    opm = await new_opm(engine)
    values: dict[str, object] = {"date": dt.date(2025, 6, 30), "registers": {"single": d("10")}, **changes}
    with pytest.raises(InvalidField) as caught:
        async with engine.begin() as conn:
            await record_reading(conn, NOW, opm.code, ReadingIn(**values))  # type: ignore[arg-type]
    assert (caught.value.field, caught.value.value) == (field, value)
    assert await reading_events(engine, opm.code) == []


async def test_unknown_opm(engine: AsyncEngine) -> None:
    with pytest.raises(NotFound):
        async with engine.begin() as conn:
            data = ReadingIn(date=dt.date(2025, 6, 30), registers={"single": d("1")})
            await record_reading(conn, NOW, "859182400000000001", data)
