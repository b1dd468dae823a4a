"""The invariant every reading writer keeps: ``rd_reading.register_values`` holds the same values as the
reading's ``rd_register`` rows (a duplicate, which has none: the values of the reading it repeats)."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.readings import register_text as rt
from gateway.readings import tables as t

Values = dict[str, tuple[Decimal | None, ...]]


def _text_values(text: str) -> Values:
    found: Values = {}
    for register, *numbers in rt.parts(text):
        assert register not in found, f"register {register} twice in {text!r}"
        found[register] = tuple(None if number is None else Decimal(number) for number in numbers)
    return found


async def mismatches(conn: AsyncConnection, readings: sa.ColumnElement[bool]) -> list[str]:
    """Each reading ``readings`` selects whose text and register rows differ, described; [] when none."""
    r, g = t.reading.c, t.register.c
    rows = (await conn.execute(sa.select(r.id, r.duplicate_of, r.register_values).where(readings))).all()
    assert rows, "the check selected no reading"
    stored: dict[int, Values] = {row.id: {} for row in rows}
    originals = {row.duplicate_of for row in rows if row.duplicate_of is not None}
    for register in (await conn.execute(
        sa.select(g.reading_id, g.register, g.start_state, g.end_state, g.consumption_kwh, g.volume_m3)
        .where(g.reading_id.in_(set(stored) | originals))
    )).all():
        values = (register.start_state, register.end_state, register.consumption_kwh, register.volume_m3)
        stored.setdefault(register.reading_id, {})[register.register] = values
    found = []
    for row in rows:
        expected = stored[row.id if row.duplicate_of is None else row.duplicate_of]
        if row.duplicate_of is not None:
            assert not stored[row.id], f"duplicate reading {row.id} has register rows"
        if _text_values(row.register_values) != expected:
            found.append(f"reading {row.id}: text {row.register_values!r}, registers {expected}")
    return found
