"""The pure parts, without a database: roll-over arithmetic, the choice of the state nearest a boundary,
consumption summed from readings without states (gas daily values), and the SAMPLE profile's shares."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.billing.readings.compute import (
    NEAREST_STATE_DAYS_MAX,
    ROLLOVER_SHARE_MAX,
    difference,
    inside,
    nearest,
    register_consumption,
)
from gateway.billing.readings.profile import MONTHLY_SHARES_SAMPLE, share_between
from gateway.billing.readings.timeline import Interval, MeterInfo, Point, build
from schemas.billing.readings import PointKind

D = Decimal


@pytest.mark.parametrize(("start", "end", "digits", "expected"), [
    ("100", "250", 5, (D("150"), False)),
    ("99000", "500", 5, (D("1500"), True)),
    ("99000", "500", None, (D("-98500"), False)),  # digits unknown: a decrease stays negative
    ("40000", "10000", 5, (D("-30000"), False)),  # 70,000 round the clock: more than half the range
])
def test_difference(start: str, end: str, digits: int | None, expected: tuple[Decimal, bool]) -> None:
    assert difference(D(start), D(end), digits) == expected
    assert D("0.5") == ROLLOVER_SHARE_MAX


def test_the_nearest_state_inside_the_period_and_the_better_kind() -> None:
    day = dt.date.fromisoformat
    points = [
        Point("M1", "single", day("2024-12-30"), D("90"), "actual", 1),  # one day before the boundary
        Point("M1", "single", day("2025-01-01"), D("110"), "customer", 2),  # one day after, inside
        Point("M1", "single", day("2025-12-31"), D("900"), "estimated", 3),
        Point("M1", "single", day("2025-12-31"), D("950"), "customer", 4),  # the same day, a better kind
    ]
    timeline = build("OPM", "kWh", [MeterInfo("M1", digits={"single": 6})], points, [])

    used = register_consumption(timeline, "single", day("2025-01-01"), day("2025-12-31"))

    [span] = used.spans
    assert (span.start.reading_id, span.end.reading_id, used.consumption) == (2, 4, D("840"))


def _nearest_by_definition(points: list[Point], day: dt.date, first: dt.date, last: dt.date) -> Point | None:
    """The definition, over every point: the nearest within the limit; of those, inside the period, then
    the better kind, then the earliest."""
    near = [point for point in points if abs((point.day - day).days) <= NEAREST_STATE_DAYS_MAX]
    return min(near, default=None, key=lambda point: (
        abs((point.day - day).days), not inside(point.day, first, last), point.rank(), point.day,
    ))


@settings(max_examples=300, deadline=None)
@given(
    offsets=st.lists(st.integers(-40, 40), max_size=12),
    kinds=st.lists(st.sampled_from(["actual", "customer", "estimated"]), min_size=12, max_size=12),
    shift=st.integers(-30, 30),
)
def test_nearest_is_the_nearest_by_definition(offsets: list[int], kinds: list[PointKind], shift: int) -> None:
    first, last = dt.date(2025, 1, 1), dt.date(2025, 1, 31)
    points = sorted(
        (Point("M1", "single", last + dt.timedelta(days=offset), D(index), kinds[index], index + 1)
         for index, offset in enumerate(offsets)),
        key=lambda point: point.day,
    )
    day = last + dt.timedelta(days=shift)
    assert nearest(points, day, first, last) == _nearest_by_definition(points, day, first, last)


def test_gas_daily_values_are_summed() -> None:
    day = dt.date(2025, 1, 1)
    intervals = [
        Interval(n, "G1", "single", day + dt.timedelta(days=n), day + dt.timedelta(days=n), D("3.5"))
        for n in range(31)
    ]
    timeline = build("GAS", "m3", [MeterInfo("G1")], [], intervals)

    whole = register_consumption(timeline, "single", dt.date(2025, 1, 1), dt.date(2025, 1, 31))
    longer = register_consumption(timeline, "single", dt.date(2025, 1, 1), dt.date(2025, 2, 28))

    assert (whole.consumption, whole.days, whole.missing) == (D("108.5"), 31, ())
    assert len(whole.summed_readings) == 31
    assert [m.date for m in longer.missing] == [dt.date(2025, 2, 1)]


def test_profile_shares_make_a_year() -> None:
    for tdd_class in MONTHLY_SHARES_SAMPLE:
        assert share_between(tdd_class, dt.date(2024, 12, 31), dt.date(2025, 12, 31)) == 1
    january = share_between("4", dt.date(2024, 12, 31), dt.date(2025, 1, 31))
    assert january == MONTHLY_SHARES_SAMPLE["4"][0]


@settings(max_examples=300, deadline=None)
@given(
    offsets=st.lists(st.integers(min_value=-60, max_value=60), max_size=8, unique=True),
    kinds=st.lists(
        st.sampled_from(["actual", "customer", "estimated", "installation"]), min_size=8, max_size=8
    ),
    boundary=st.integers(min_value=-2, max_value=2),
)
def test_nearest_is_the_one_minimum_of_distance_inside_and_kind(
    offsets: list[int], kinds: list[PointKind], boundary: int
) -> None:
    """``nearest`` (the nearest first, then the tie-break) picks what one ``min`` over the whole key does."""
    period_from, period_to = dt.date(2025, 1, 1), dt.date(2025, 12, 31)
    day = period_from - dt.timedelta(days=1) + dt.timedelta(days=boundary)
    points = sorted(
        (Point("M1", "single", day + dt.timedelta(days=offset), D(n), kinds[n], n, n % 2 == 0)
         for n, offset in enumerate(offsets)),
        key=lambda point: point.day,
    )
    near = [point for point in points if abs((point.day - day).days) <= NEAREST_STATE_DAYS_MAX]
    expected = min(near, key=lambda point: (
        abs((point.day - day).days), not inside(point.day, period_from, period_to), point.rank(),
    )) if near else None
    assert nearest(points, day, period_from, period_to) == expected
