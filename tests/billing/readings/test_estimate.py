"""Estimates of a missing reading, on SQLite and PostgreSQL: from a year's history or the TDD profile,
stored as kind ``estimated``, used for consumption until an actual reading within the tolerance replaces
it (superseded in the store, and passed over when computing even where the store was not told)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.billing.readings.estimate import estimate_reading
from gateway.billing.readings.profile import REGISTER_SHARES_SAMPLE, share_between
from gateway.billing.readings.service import consumption_of
from gateway.errors import Conflict
from schemas.billing.readings import Estimate, EstimateIn
from schemas.masterdata.opm import Opm
from tests.billing.readings.support import (
    NOW,
    d,
    day,
    dso_reading,
    enter,
    meter,
    new_opm,
    reading_events,
    superseded_by,
)
from tests.readings.support import deliver, electricity, filed, single_rate


async def estimate(engine: AsyncEngine, opm: Opm, date: str) -> Estimate:
    async with engine.begin() as conn:
        return await estimate_reading(conn, NOW, opm.code, EstimateIn(date=day(date)))


async def test_estimate_from_history(engine: AsyncEngine) -> None:
    opm = await new_opm(engine)
    await enter(engine, opm, "2024-06-30", single="1000")
    await enter(engine, opm, "2025-06-30", single="4650")  # 3650 kWh in 365 days: 10 a day

    result = await estimate(engine, opm, "2025-09-30")  # 92 days on

    [register] = result.registers
    assert (register.method, register.state, register.consumption) == ("history", d("5570"), d("920"))
    assert register.base.date == day("2025-06-30")
    assert (result.reading.kind, result.reading.status) == ("estimated", "new")
    assert (await reading_events(engine, opm.code))[-1].kind == "estimated"


async def test_estimate_from_the_tdd_profile(engine: AsyncEngine) -> None:
    """Without a year of history: 3,500 kWh a year (TDD 4) × the profile's share of the days."""
    opm = await new_opm(engine, meter("M1", "2020-01-01", "VT", "NT"), rate="D25d")
    await enter(engine, opm, "2025-06-30", vt="100", nt="200")

    result = await estimate(engine, opm, "2025-09-30")

    share = share_between("4", day("2025-06-30"), day("2025-09-30"))
    expected = {
        register: (Decimal(3500) * share * REGISTER_SHARES_SAMPLE[register]).quantize(Decimal(1))
        for register in ("nt", "vt")
    }
    assert [(r.register, r.method, r.consumption) for r in result.registers] == [
        ("nt", "profile", expected["nt"]), ("vt", "profile", expected["vt"]),
    ]
    assert result.registers[1].state == d("100") + expected["vt"]


async def test_actual_reading_replaces_the_estimate(engine: AsyncEngine) -> None:
    opm = await new_opm(engine)
    await enter(engine, opm, "2024-12-31", single="1000")
    await enter(engine, opm, "2025-06-30", single="2810")  # 10 a day
    estimated = await estimate(engine, opm, "2025-12-31")
    async with engine.connect() as conn:
        with_estimate = await consumption_of(conn, opm.code, day("2025-07-01"), day("2025-12-31"))
    assert with_estimate.registers[0].spans[0].end.kind == "estimated"

    actual = await enter(engine, opm, "2026-01-03", single="4700", kind="actual")

    assert actual.replaced_estimates == (estimated.reading.reading_id,)
    async with engine.connect() as conn:
        assert await superseded_by(conn, estimated.reading.reading_id) == actual.reading_id
        result = await consumption_of(conn, opm.code, day("2025-07-01"), day("2025-12-31"))
    end = result.registers[0].spans[0].end
    assert (end.kind, end.reading_id) == ("actual", actual.reading_id)
    assert result.registers[0].consumption == d("1890")
    assert [f.code for f in result.findings] == ["reading_outside_period"]


async def test_a_dso_reading_outranks_an_estimate_it_was_not_compared_with(engine: AsyncEngine) -> None:
    """A reading filed from CS OTE does not mark estimates superseded; computing passes over them anyway."""
    opm = await new_opm(engine)
    await enter(engine, opm, "2024-12-31", single="1000")
    await enter(engine, opm, "2025-06-30", single="2810")
    await estimate(engine, opm, "2025-12-31")
    dso = await dso_reading(engine, opm, "M1", "2025-07-01", "2025-12-30", "single", "2810", "4500")

    async with engine.connect() as conn:
        result = await consumption_of(conn, opm.code, day("2025-07-01"), day("2025-12-31"))

    span = result.registers[0].spans[0]
    assert (span.end.reading_id, span.end.kind, span.consumption) == (dso, "actual", d("1690"))


async def test_no_estimate_beside_an_actual_reading_or_without_a_basis(engine: AsyncEngine) -> None:
    opm = await new_opm(engine, annual_consumption_kwh=None)
    with pytest.raises(Conflict, match="no state before"):
        await estimate(engine, opm, "2025-06-30")
    await enter(engine, opm, "2025-06-30", single="1000")
    with pytest.raises(Conflict, match="no estimate is needed"):
        await estimate(engine, opm, "2025-07-02")
    with pytest.raises(Conflict, match="annual_consumption_kwh"):
        await estimate(engine, opm, "2025-09-30")
    assert len(await reading_events(engine, opm.code)) == 1



async def test_a_reading_from_cs_ote_supersedes_the_estimate(engine: AsyncEngine) -> None:
    """The readings consumer marks the estimate superseded by the DSO's actual reading within a week."""
    opm = await new_opm(engine, meter("CZ-7731206", "2020-01-01"))
    await enter(engine, opm, "2024-12-31", single="5000")
    estimated = await estimate(engine, opm, "2025-04-28")
    other = await new_opm(engine, meter("CZ-7731206", "2020-01-01"))
    await enter(engine, other, "2024-12-31", single="5000")
    untouched = await estimate(engine, other, "2025-04-28")

    await deliver(engine, electricity(single_rate(opm.code, reading_type="1")))

    [ote] = [row for row in await filed(engine, opm.code) if row.row.source == "ote"]
    async with engine.connect() as conn:
        assert await superseded_by(conn, estimated.reading.reading_id) == ote.row.id
        assert await superseded_by(conn, untouched.reading.reading_id) is None
