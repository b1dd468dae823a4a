"""A batch's readings as each request sees them: only those touching its own window."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from gateway.billing.batch_inputs import OpmRows, _timeline
from gateway.billing.readings.timeline import DAY_EPOCH, ReadingRow

day = dt.date.fromisoformat


def _reading(reading_id: int, date_to: str, state: str) -> ReadingRow:
    end = day(date_to)
    return ReadingRow(
        "OPM1", reading_id, "M1", (end.replace(day=1) - DAY_EPOCH).days, (end - DAY_EPOCH).days, "actual",
        f"single  {state} {state} ",
    )


def test_a_request_sees_the_readings_of_its_window_only() -> None:
    rows = OpmRows(SimpleNamespace(code="OPM1", commodity="electricity"),
                   readings=[_reading(1, "2026-01-31", "100"), _reading(2, "2026-10-31", "900")])
    batch_window = (day("2025-01-01"), day("2026-12-31"))

    narrow = _timeline(rows, (day("2025-01-01"), day("2026-03-31")), batch_window)
    whole = _timeline(rows, batch_window, batch_window)

    assert [point.reading_id for point in narrow.points_of("M1", "single")] == [1]
    assert [point.reading_id for point in whole.points_of("M1", "single")] == [1, 2]
