"""A timeline made ``near`` a bill's days (``timeline.Near``, ``service.near``) gives the consumption and the
year before that the timeline of every state gives: for any readings (kinds, start states, registers with and
without states, meters master data has or not, meter changes) and any period."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.billing.readings import timeline as tl
from gateway.billing.readings.service import consumption_and_history, near
from gateway.readings import register_text as rt

OPM = "859182400000000001"
#: The readings lie in these days: two years and a half around the periods drawn.
FIRST_DAY = dt.date(2024, 6, 1)
SPAN_DAYS = 900


@dataclass
class MeterRow:
    """An ``md_meter`` row as ``timeline.meter_info`` and ``change_points`` read it."""

    serial: str
    installed_on: dt.date | None = None
    removed_on: dt.date | None = None
    registers: list[dict[str, Any]] = field(default_factory=list)
    initial_readings: dict[str, str] | None = None
    final_readings: dict[str, str] | None = None


def _day(draw: st.DrawFn) -> dt.date:
    return FIRST_DAY + dt.timedelta(days=draw(st.integers(0, SPAN_DAYS)))


@st.composite
def meters(draw: st.DrawFn) -> list[MeterRow]:
    """M1 always; M2 sometimes, replacing M1 on a day (removal and installation states from master data)."""
    digits = [{"code": "VT", "digits": 5}, {"code": "NT", "digits": 5}]
    first = MeterRow("M1", registers=digits if draw(st.booleans()) else [])
    if not draw(st.booleans()):
        return [first]
    change = _day(draw)
    states = {"VT": str(draw(st.integers(0, 99_999)))} if draw(st.booleans()) else None
    first.removed_on, first.final_readings = change, states
    return [first, MeterRow("M2", installed_on=change, registers=digits,
                            initial_readings={"VT": "0"} if states else None)]


@st.composite
def readings(draw: st.DrawFn, period: tuple[dt.date, dt.date]) -> list[tl.ReadingRow]:
    """Readings anywhere, or ending within two months of a bound of the period or of the year before."""
    bounds = [period[0] - dt.timedelta(days=366), period[0] - dt.timedelta(days=1), period[1]]
    rows = []
    for reading_id in range(1, draw(st.integers(1, 24)) + 1):
        first = _day(draw)
        if draw(st.booleans()):
            first = draw(st.sampled_from(bounds)) + dt.timedelta(days=draw(st.integers(-60, 60)))
        last = first + dt.timedelta(days=draw(st.sampled_from([0, 0, 29, 30, 90, 364])))
        kind = draw(st.sampled_from(["actual", "customer", "estimated"]))
        meter = draw(st.sampled_from(["M1", "M1", "M2", "M3"]))  # M3: not in master data
        values = []
        for register in draw(st.sampled_from([["vt"], ["nt"], ["vt", "nt"]])):
            if draw(st.integers(0, 5)) == 0:  # consumption only (gas daily values)
                values.append(rt.part_text(register, "", "", str(draw(st.integers(0, 500))), ""))
                continue
            start = "" if draw(st.booleans()) else str(draw(st.integers(0, 99_999)))
            end = str(draw(st.integers(0, 99_999)))
            values.append(rt.part_text(register, start, end, end, ""))
        rows.append(tl.ReadingRow(OPM, reading_id, meter, tl.number_of(first), tl.number_of(last), kind,
                                  rt.REGISTER_SEPARATOR.join(values)))
    return rows


@st.composite
def periods(draw: st.DrawFn) -> tuple[dt.date, dt.date]:
    period_from = FIRST_DAY + dt.timedelta(days=draw(st.integers(365, SPAN_DAYS)))
    return period_from, period_from + dt.timedelta(days=draw(st.sampled_from([0, 30, 180, 364, 365, 400])))


@st.composite
def cases(draw: st.DrawFn) -> tuple[list[MeterRow], list[tl.ReadingRow], tuple[dt.date, dt.date]]:
    period = draw(periods())
    return draw(meters()), draw(readings(period)), period


@settings(max_examples=500, deadline=None)
@given(cases())
def test_a_timeline_near_the_days_asked_gives_the_same_consumption(
    case: tuple[list[MeterRow], list[tl.ReadingRow], tuple[dt.date, dt.date]],
) -> None:
    meter_rows, rows, (period_from, period_to) = case
    every = tl.from_rows(OPM, "electricity", meter_rows, rows)
    made = tl.from_rows(OPM, "electricity", meter_rows, rows, near(period_from, period_to))
    assert consumption_and_history(made, period_from, period_to) == consumption_and_history(
        every, period_from, period_to)


def test_monthly_readings_far_from_the_days_asked_make_no_states() -> None:
    """Twelve monthly readings of a year billed: the states of January, February, November and December
    stand near its bounds; the months between are left out, their register still known."""
    rows = []
    for month in range(1, 13):
        first = dt.date(2026, month, 1)
        last = (dt.date(2026 + month // 12, month % 12 + 1, 1)) - dt.timedelta(days=1)
        text = rt.part_text("single", str(1000 + 100 * (month - 1)), str(1000 + 100 * month), "100", "")
        rows.append(tl.ReadingRow(OPM, month, "M1", tl.number_of(first), tl.number_of(last), "actual", text))
    period = (dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    made = tl.from_rows(OPM, "electricity", [MeterRow("M1")], rows, near(*period))
    kept = sorted({point.day.month for point in made.points_of("M1", "single")})
    assert kept == [1, 11, 12] and made.points_of("M1", "single")[0].day == dt.date(2025, 12, 31)
    assert made.registers() == ["single"] and made.has_states("M1", "single")
    consumption, _history = consumption_and_history(made, *period)
    assert [register.consumption for register in consumption.registers] == [Decimal(1200)]


def test_a_timeline_near_some_days_refuses_others() -> None:
    text = rt.part_text("single", "1000", "1100", "100", "")
    rows = [tl.ReadingRow(OPM, 1, "M1", tl.number_of(dt.date(2026, 1, 1)), tl.number_of(dt.date(2026, 1, 31)),
                          "actual", text)]
    made = tl.from_rows(OPM, "electricity", [MeterRow("M1")], rows,
                        near(dt.date(2026, 1, 1), dt.date(2026, 1, 31)))
    with pytest.raises(AssertionError):
        consumption_and_history(made, dt.date(2026, 2, 1), dt.date(2026, 2, 28))


def test_an_estimate_near_a_bound_gives_way_to_a_reading_farther_off() -> None:
    """The estimate 44 days before the period's end is the nearest state, but an actual reading six days
    before it replaces it: that reading, 50 days from the end, must be made although no state that far
    stands for the end (the end is then missing, as with every state)."""
    def reading(
        reading_id: int, first: dt.date, last: dt.date, kind: str, start: str, end: str,
    ) -> tl.ReadingRow:
        return tl.ReadingRow(OPM, reading_id, "M1", tl.number_of(first), tl.number_of(last), kind,
                             rt.part_text("single", start, end, "0", ""))

    rows = [
        reading(1, dt.date(2026, 1, 1), dt.date(2026, 1, 31), "actual", "1000", "1100"),
        reading(2, dt.date(2026, 11, 11), dt.date(2026, 11, 11), "actual", "", "2000"),
        reading(3, dt.date(2026, 11, 17), dt.date(2026, 11, 17), "estimated", "", "2050"),
    ]
    period = (dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    every = tl.from_rows(OPM, "electricity", [MeterRow("M1")], rows)
    made = tl.from_rows(OPM, "electricity", [MeterRow("M1")], rows, near(*period))
    found = consumption_and_history(made, *period)
    assert found == consumption_and_history(every, *period)
    assert [missing.date for missing in found[0].registers[0].missing] == [period[1]]
