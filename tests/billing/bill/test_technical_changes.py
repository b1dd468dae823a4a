"""Billing with technical data changing inside the period (master data's OPM versions) and gas converted
with the SAMPLE list's monthly calorific values, on SQLite and PostgreSQL.

The SAMPLE prices used: ČEZ D02d 2050 CZK/MWh, breaker 3 × 25 A 240.00 and 3 × 40 A 384.00 a month;
GasNet band 7.56-15: 620 CZK/MWh, 360 a month, band 15-20: 600 and 400; GasNet's calorific values January
10.58, February 10.57, March 10.55 kWh/m³.
"""

from __future__ import annotations

import datetime as dt
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.billing.bill_inputs import quote_request, read_inputs, read_technical, technical_in_period
from gateway.errors import InvalidField
from gateway.masterdata.filestore import FileStore
from gateway.masterdata.opm import set_technical
from schemas.billing.bill import Billed, Outsorted
from schemas.billing.settlement import OpmChange
from schemas.masterdata.opm import Technical
from tests.billing.bill.support import NOW, PERIOD_FROM, PERIOD_TO, bill, day, read, supplied, supplied_gas
from tests.billing.quote.support import PRICES, rows
from tests.masterdata.supply_helpers import ACTOR, electricity_technical, gas_technical

Q1_END = dt.date(2026, 3, 31)


async def change_technical(engine: AsyncEngine, opm: str, *versions: Technical) -> None:
    async with engine.begin() as conn:
        for version in versions:
            await set_technical(conn, ACTOR, NOW, opm, version)


async def test_read_technical_reads_many_opms_at_once(engine: AsyncEngine) -> None:
    first, second = await supplied(engine), await supplied(engine)
    raised = electricity_technical(since="2026-04-01", breaker_amps=40)
    later = electricity_technical(since="2026-08-01", breaker_amps=50)
    await change_technical(engine, first.opm, raised, later)

    async with engine.connect() as conn:
        found = await read_technical(conn, {
            first.opm: (PERIOD_FROM, PERIOD_TO), second.opm: (day("2026-05-01"), day("2026-09-30")),
            "859182400000000000": (PERIOD_FROM, PERIOD_TO),
        })

    # The first OPM: the version of 2020 in force on 1 January and the one of 1 April (1 August is after).
    assert [(v.effective_from, v.breaker_amps) for v in found[first.opm]] == [
        (day("2020-01-01"), 25), (day("2026-04-01"), 40),
    ]
    assert [(v.effective_from, v.breaker_amps) for v in found[second.opm]] == [(day("2020-01-01"), 25)]
    assert found["859182400000000000"] == ()


def test_the_versions_in_force_over_a_period() -> None:
    versions = [electricity_technical(since=since) for since in ("2025-01-01", "2025-06-01", "2026-03-01")]
    assert technical_in_period(versions, PERIOD_FROM, PERIOD_TO) == (versions[1], versions[2])
    assert technical_in_period(versions, PERIOD_FROM, dt.date(2026, 2, 28)) == (versions[1],)
    # Data recorded only from a later day covers the period's first days too.
    assert technical_in_period(versions[2:], PERIOD_FROM, PERIOD_TO) == (versions[2],)


async def test_a_breaker_raised_in_april_is_billed_per_part(engine: AsyncEngine, files: FileStore) -> None:
    parties = await supplied(engine)
    await change_technical(engine, parties.opm, electricity_technical(since="2026-04-01", breaker_amps=40))
    await read(engine, parties.opm, "2025-12-31", "1000")
    await read(engine, parties.opm, "2026-06-30", "2500")

    async with engine.connect() as conn:
        inputs = await read_inputs(conn, parties.contract, PERIOD_FROM, PERIOD_TO, PRICES)
    request = quote_request(inputs, advances_paid=Decimal(0))
    outcome = await bill(engine, files, parties.contract, issue=False)

    assert (request.opm.breaker_amps, request.opm_changes) == (25, [
        OpmChange(valid_from=day("2026-04-01"), rate="D02d", breaker_phases=3, breaker_amps=40),
    ])
    assert isinstance(outcome, Billed)
    # 1,500 kWh; the breaker fee: 3 months × 240.00, then 3 × 384.00. Distribution is one line.
    assert [row for row in rows(outcome.invoice.settlement) if row[0] in ("BREAKER", "DISTRIBUTION")] == [
        ("DISTRIBUTION", "2026-01-01", "2026-06-30", "1.500", "MWh", "2050.00", "3075.00"),
        ("BREAKER", "2026-01-01", "2026-03-31", "3.0000", "month", "240.00", "720.00"),
        ("BREAKER", "2026-04-01", "2026-06-30", "3.0000", "month", "384.00", "1152.00"),
    ]


async def test_a_new_tdd_class_alone_changes_nothing_priced(engine: AsyncEngine) -> None:
    parties = await supplied(engine)
    await change_technical(engine, parties.opm, electricity_technical(since="2026-04-01", tdd_class="5"))
    await read(engine, parties.opm, "2025-12-31", "1000")
    await read(engine, parties.opm, "2026-06-30", "2500")

    async with engine.connect() as conn:
        inputs = await read_inputs(conn, parties.contract, PERIOD_FROM, PERIOD_TO, PRICES)

    assert len(inputs.technical) == 2 and quote_request(inputs, Decimal(0)).opm_changes is None


async def test_a_change_between_single_and_two_rate_is_refused(engine: AsyncEngine, files: FileStore) -> None:
    parties = await supplied(engine)
    await change_technical(engine, parties.opm, electricity_technical(rate="D25d", since="2026-04-01"))

    with pytest.raises(InvalidField) as refused:
        await bill(engine, files, parties.contract, issue=False)

    assert (refused.value.field, refused.value.value) == ("period_to", "2026-06-30")
    assert "changes on 2026-04-01 from D02d (single) to D25d (vt_nt)" in refused.value.reason
    assert "bill 2026-01-01 … 2026-03-31 and 2026-04-01 … 2026-06-30 separately" in refused.value.reason


async def test_gas_is_converted_with_each_months_calorific_value_and_band(
    engine: AsyncEngine, files: FileStore,
) -> None:
    parties = await supplied_gas(engine)
    await change_technical(engine, parties.opm, gas_technical(band="15-20", since="2026-02-01"))
    await read(engine, parties.opm, "2025-12-31", "100")
    await read(engine, parties.opm, "2026-03-31", "400")

    outcome = await bill(engine, files, parties.contract, period_to=Q1_END, issue=False)

    assert isinstance(outcome, Billed)
    # 300 m³ by days: (31 × 10.58 + 28 × 10.57 + 31 × 10.55) / 90 = 10.56656 kWh/m³ → 3169.967 → 3170 kWh
    # (at the provisional 10.55 it would be 3165). January is 31 of 90 days: 3.170 × 31/90 = 1.09189 → 1.092.
    assert [row for row in rows(outcome.invoice.settlement) if row[0].startswith("DISTRIBUTION")] == [
        ("DISTRIBUTION", "2026-01-01", "2026-01-31", "1.092", "MWh", "620.00", "677.04"),
        ("DISTRIBUTION", "2026-02-01", "2026-03-31", "2.078", "MWh", "600.00", "1246.80"),
        ("DISTRIBUTION_FEE", "2026-01-01", "2026-01-31", "1.0000", "month", "360.00", "360.00"),
        ("DISTRIBUTION_FEE", "2026-02-01", "2026-03-31", "2.0000", "month", "400.00", "800.00"),
    ]


async def test_gas_without_a_months_calorific_value_is_a_price_problem(
    engine: AsyncEngine, files: FileStore, tmp_path: Path,
) -> None:
    shutil.copytree(PRICES / "sample-2026", tmp_path / "sample-2026")
    path = tmp_path / "sample-2026" / "dso-GASNET.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('    { month = "2026-02", kwh_per_m3 = 10.57 },\n', ""), encoding="utf-8")
    parties = await supplied_gas(engine)
    await read(engine, parties.opm, "2025-12-31", "100")
    await read(engine, parties.opm, "2026-03-31", "400")

    outcome = await bill(engine, files, parties.contract, period_to=Q1_END, prices=tmp_path)

    assert isinstance(outcome, Outsorted) and outcome.stage == "pre"
    assert [finding.code for finding in outcome.findings] == ["PRICE_MISSING"]
    assert "no calorific value of GASNET for 2026-02" in outcome.findings[0].text
