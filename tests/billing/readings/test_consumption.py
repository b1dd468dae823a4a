"""Consumption per period on SQLite and PostgreSQL: from entered and DSO readings, across a meter change
and a roll-over, with the latest correction winning; and the plausibility findings (negative, jump, outside
the period, zero, missing)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.billing.readings.service import consumption_of
from schemas.billing.readings import Consumption
from tests.billing.readings.support import change, d, day, dso_reading, enter, meter, new_opm


async def period(engine: AsyncEngine, code: str, first: str, last: str) -> Consumption:
    async with engine.connect() as conn:
        return await consumption_of(conn, code, day(first), day(last))


def codes(result: Consumption) -> list[str]:
    return sorted(finding.code for finding in result.findings)


async def test_consumption_between_two_states(engine: AsyncEngine) -> None:
    opm = await new_opm(engine)
    await enter(engine, opm, "2024-12-31", single="1000")
    await enter(engine, opm, "2025-12-31", single="4500")

    result = await period(engine, opm.code, "2025-01-01", "2025-12-31")

    [single] = result.registers
    assert (single.register, single.consumption, single.unit) == ("single", d("3500"), "kWh")
    assert single.days == 365
    [span] = single.spans
    assert (span.start.date, span.start.state, span.start.kind) == (day("2024-12-31"), d("1000"), "customer")
    assert (span.end.date, span.end.state) == (day("2025-12-31"), d("4500"))
    assert result.findings == ()


async def test_dso_reading_start_state_stands_at_the_day_before(engine: AsyncEngine) -> None:
    """A DSO reading 2025-01-01 … 2025-12-31 gives the period's consumption from its own two states."""
    opm = await new_opm(engine)
    reading_id = await dso_reading(engine, opm, "M1", "2025-01-01", "2025-12-31", "single", "200", "3000")

    [single] = (await period(engine, opm.code, "2025-01-01", "2025-12-31")).registers

    assert single.consumption == d("2800")
    assert [(s.start.reading_id, s.end.reading_id, s.start.kind) for s in single.spans] == [
        (reading_id, reading_id, "actual")
    ]


async def test_latest_correction_wins(engine: AsyncEngine) -> None:
    opm = await new_opm(engine)
    await enter(engine, opm, "2024-12-31", single="1000")
    await enter(engine, opm, "2025-12-31", single="9999")
    corrected = await enter(engine, opm, "2025-12-31", single="4000")

    [single] = (await period(engine, opm.code, "2025-01-01", "2025-12-31")).registers

    assert corrected.status == "correction"
    assert single.consumption == d("3000")
    assert single.spans[0].end.reading_id == corrected.reading_id


async def test_meter_change_in_the_period(engine: AsyncEngine) -> None:
    """M1 counts until 2025-06-30 (removed at 5000), M2 from 2025-07-01 (installed at 10): two spans."""
    opm = await new_opm(engine)
    await enter(engine, opm, "2024-12-31", single="3000")
    await change(engine, opm, "M1", meter("M2", "2025-07-01"), {"SINGLE": "5000"}, {"SINGLE": "10"})
    await enter(engine, opm, "2025-12-31", single="1510")

    [single] = (await period(engine, opm.code, "2025-01-01", "2025-12-31")).registers

    assert single.consumption == d("3500")  # 2000 on M1, 1500 on M2
    assert [(s.meter, s.consumption, s.start.kind, s.end.kind) for s in single.spans] == [
        ("M1", d("2000"), "customer", "removal"), ("M2", d("1500"), "installation", "customer"),
    ]
    assert single.days == 365
    assert codes(await period(engine, opm.code, "2025-01-01", "2025-12-31")) == []


async def test_roll_over_at_the_register_digits(engine: AsyncEngine) -> None:
    opm = await new_opm(engine, meter("M1", "2020-01-01", digits=5))
    await enter(engine, opm, "2024-12-31", single="99000")
    recorded = await enter(engine, opm, "2025-12-31", single="2500")

    [single] = (await period(engine, opm.code, "2025-01-01", "2025-12-31")).registers

    assert recorded.consumption == {"single": d("3500")}
    assert (single.consumption, single.spans[0].rolled_over) == (d("3500"), True)


async def test_decrease_beyond_a_roll_over_is_negative(engine: AsyncEngine) -> None:
    """From 5000 to 4000 on a 6-digit register would be 999,000 kWh round the clock: a wrong state."""
    opm = await new_opm(engine)
    await enter(engine, opm, "2024-12-31", single="5000")
    await enter(engine, opm, "2025-12-31", single="4000")

    result = await period(engine, opm.code, "2025-01-01", "2025-12-31")

    assert result.registers[0].consumption == d("-1000")
    [finding] = result.findings
    assert (finding.code, finding.opm, finding.register) == ("negative_consumption", opm.code, "single")
    assert finding.values["consumption"] == "-1000"


async def test_jump_against_the_previous_year(engine: AsyncEngine) -> None:
    opm = await new_opm(engine)
    await enter(engine, opm, "2023-12-31", single="1000")
    await enter(engine, opm, "2024-12-31", single="4660")  # 3660 kWh in 366 days: 10 a day
    await enter(engine, opm, "2025-06-30", single="12000")  # 7340 kWh in 181 days: 40.6 a day

    quiet = await period(engine, opm.code, "2024-01-01", "2024-12-31")
    result = await period(engine, opm.code, "2025-01-01", "2025-06-30")

    assert codes(quiet) == []
    [jump] = result.findings
    assert jump.code == "consumption_jump" and jump.register == "single"
    assert jump.values["previous_year_per_day"] == "10.000" and jump.values["factor"] == "3"
    assert Decimal(jump.values["per_day"]) > 3 * Decimal(10)


async def test_reading_outside_the_period_zero_and_missing(engine: AsyncEngine) -> None:
    opm = await new_opm(engine)
    await enter(engine, opm, "2024-12-20", single="1000")
    await enter(engine, opm, "2026-01-10", single="1000")

    result = await period(engine, opm.code, "2025-01-01", "2025-12-31")
    assert codes(result) == ["reading_outside_period", "reading_outside_period", "zero_consumption"]
    outside = [f for f in result.findings if f.code == "reading_outside_period"]
    assert {f.values["date"] for f in outside} == {"2024-12-20", "2026-01-10"}

    missing = await period(engine, opm.code, "2025-03-01", "2025-05-31")
    assert [(f.code, f.meter, f.values["date"]) for f in missing.findings] == [
        ("missing_reading", "M1", "2025-02-28"), ("missing_reading", "M1", "2025-05-31"),
    ]
    assert not missing.registers[0].complete


async def test_two_rate_registers(engine: AsyncEngine) -> None:
    opm = await new_opm(engine, meter("M1", "2020-01-01", "VT", "NT"), rate="D25d")
    await enter(engine, opm, "2024-12-31", vt="100", nt="200")
    await enter(engine, opm, "2025-12-31", vt="1100", nt="2700")

    result = await period(engine, opm.code, "2025-01-01", "2025-12-31")

    assert [(r.register, r.consumption) for r in result.registers] == [("nt", d("2500")), ("vt", d("1000"))]
