"""``timeline.from_rows`` leaves out the start states that can never stand (an end state of no worse kind
on the same meter, register and day); the timeline is the one ``build`` makes of every state."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.billing.readings import timeline as tl
from gateway.readings import register_text as rt

START = dt.date(2026, 1, 1)
OPM = "859182400000000001"


def _every_state(rows: list[tl.ReadingRow]) -> tl.Timeline:
    points = []
    for row in rows:
        for register, start, end, _kwh, _m3 in rt.parts(row.register_values):
            assert end is not None
            points.append(tl.Point(row.meter_id, register, tl.day_of(row.day_to), Decimal(end), row.kind,
                                   row.id))
            if start is not None:
                day = tl.day_of(row.day_from) - dt.timedelta(days=1)
                points.append(tl.Point(row.meter_id, register, day, Decimal(start), row.kind, row.id, True))
    return tl.build(OPM, "kWh", [tl.MeterInfo("M1")], points, [])


def _row(reading: int, first: dt.date, last: dt.date, kind: str, register: str, start: Decimal | None,
         end: Decimal, *others: tuple[str, Decimal | None, Decimal]) -> tl.ReadingRow:
    """A reading of ``register`` (and of ``others``' registers: register, start, end)."""
    values = rt.REGISTER_SEPARATOR.join(
        rt.part_text(name, rt.number(start_state), rt.number(end_state), rt.number(end_state), "")
        for name, start_state, end_state in ((register, start, end), *others)
    )
    return tl.ReadingRow(OPM, reading, "M1", tl.number_of(first), tl.number_of(last), kind, values)


def test_day_numbers_count_from_postgresqls_epoch() -> None:
    assert [tl.day_of(n) for n in (0, 1, 366, -1)] == [
        dt.date(2000, 1, 1), dt.date(2000, 1, 2), dt.date(2001, 1, 1), dt.date(1999, 12, 31),
    ]
    assert [tl.number_of(tl.day_of(n)) for n in (0, 1, 366, -1, 9_800)] == [0, 1, 366, -1, 9_800]


@st.composite
def readings(draw: st.DrawFn) -> list[tl.ReadingRow]:
    rows = []
    for index in range(draw(st.integers(1, 14))):
        first = START + dt.timedelta(days=draw(st.integers(0, 90)))
        last = first + dt.timedelta(days=draw(st.integers(0, 40)))
        kind = draw(st.sampled_from(["actual", "customer", "estimated"]))
        registers = draw(st.sampled_from([["vt"], ["nt"], ["vt", "nt"], ["nt", "vt"]]))
        values = []
        for register in registers:
            states = draw(st.lists(st.integers(0, 9_999), min_size=2, max_size=2))
            start = None if draw(st.booleans()) else Decimal(states[0])
            values.append((register, start, Decimal(states[1])))
        rows.append(_row(index + 1, first, last, kind, *values[0], *values[1:]))
    return rows


@settings(max_examples=300, deadline=None)
@given(readings())
def test_states_left_out_would_not_have_stood(rows: list[tl.ReadingRow]) -> None:
    meter: Any = type("MeterRow", (), {"serial": "M1", "installed_on": None, "removed_on": None,
                                       "registers": [], "initial_readings": None, "final_readings": None})
    found = tl.from_rows(OPM, "electricity", [meter], rows)
    assert found.points == _every_state(rows).points


def test_a_better_kind_of_start_state_stands_over_an_end_state() -> None:
    day = dt.date(2026, 1, 31)
    estimate = _row(1, START, day, "estimated", "vt", None, Decimal(100))
    february_end = dt.date(2026, 2, 28)
    actual = _row(2, day + dt.timedelta(days=1), february_end, "actual", "vt", Decimal(90), Decimal(200))
    meter: Any = type("MeterRow", (), {"serial": "M1", "installed_on": None, "removed_on": None,
                                       "registers": [], "initial_readings": None, "final_readings": None})
    found = tl.from_rows(OPM, "electricity", [meter], [estimate, actual])
    assert [(point.day, point.state, point.kind) for point in found.points_of("M1", "vt")] == [
        (day, Decimal(90), "actual"), (dt.date(2026, 2, 28), Decimal(200), "actual"),
    ]
