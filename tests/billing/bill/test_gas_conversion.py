"""Gas read in m³ billed with the OPM's own conversion factor and calorific-value area from master data,
on SQLite and PostgreSQL.

The SAMPLE list's GasNet values used: the DSO's own January 10.58, February 10.57, March 10.55 kWh/m³; its
sample area SEVER January 10.71, February 10.70, March 10.69. "Plyn Standard" shares the m³ by days.
"""

from __future__ import annotations

import datetime as dt
import shutil
from decimal import Decimal
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.masterdata.filestore import FileStore
from gateway.masterdata.opm import get_opm, set_technical
from schemas.billing.bill import Billed, Outsorted
from schemas.billing.settlement import Settlement
from tests.billing.bill.support import NOW, bill, read, supplied_gas
from tests.billing.quote.support import PRICES
from tests.masterdata.supply_helpers import ACTOR, gas_technical

Q1_END = dt.date(2026, 3, 31)


def distributed_mwh(settlement: Settlement) -> Decimal:
    """The MWh of the distribution lines: every kWh billed, whatever the parts."""
    return sum((line.quantity for line in settlement.lines if line.code == "DISTRIBUTION"), Decimal(0))


async def test_the_opms_factor_and_area_convert_its_cubic_metres(
    engine: AsyncEngine, files: FileStore,
) -> None:
    parties = await supplied_gas(engine, gas_conversion_factor=Decimal("0.9655"), gas_area="SEVER")
    await read(engine, parties.opm, "2025-12-31", "100")
    await read(engine, parties.opm, "2026-03-31", "400")

    outcome = await bill(engine, files, parties.contract, period_to=Q1_END, issue=False)

    assert isinstance(outcome, Billed)
    # SEVER by days: (31 × 10.71 + 28 × 10.70 + 31 × 10.69) / 90 = 10.7 exactly;
    # 300 m³ × 0.9655 × 10.7 = 3099.255 → 3099 kWh (with factor 1 and the DSO's values: 3170).
    assert distributed_mwh(outcome.invoice.settlement) == Decimal("3.099")


async def test_a_factor_changed_inside_the_period_converts_each_part_with_its_own(
    engine: AsyncEngine, files: FileStore,
) -> None:
    parties = await supplied_gas(engine, gas_conversion_factor=Decimal("0.9655"))
    async with engine.begin() as conn:
        await set_technical(conn, ACTOR, NOW, parties.opm,
                            gas_technical(since="2026-02-15", gas_conversion_factor=Decimal("1.0213")))
    await read(engine, parties.opm, "2025-12-31", "100")
    await read(engine, parties.opm, "2026-03-31", "400")

    outcome = await bill(engine, files, parties.contract, period_to=Q1_END, issue=False)

    assert isinstance(outcome, Billed)
    # 300 m³ by days over 90: 31 × 0.9655 × 10.58 + 14 × 0.9655 × 10.57 (to 14 February)
    # + 14 × 1.0213 × 10.57 + 31 × 1.0213 × 10.55 = 944.687519; × 300 / 90 = 3148.958… → 3149 kWh.
    assert distributed_mwh(outcome.invoice.settlement) == Decimal("3.149")
    # The factor alone prices nothing differently: the band's lines are not cut at the change.
    assert [line.period_from for line in outcome.invoice.settlement.lines if line.code == "DISTRIBUTION"] == [
        dt.date(2026, 1, 1)
    ]


async def test_an_area_the_price_list_does_not_know_is_a_price_problem(
    engine: AsyncEngine, files: FileStore,
) -> None:
    parties = await supplied_gas(engine, gas_area="JIH")
    await read(engine, parties.opm, "2025-12-31", "100")
    await read(engine, parties.opm, "2026-03-31", "400")

    outcome = await bill(engine, files, parties.contract, period_to=Q1_END)

    assert isinstance(outcome, Outsorted) and outcome.stage == "pre"
    [finding] = outcome.findings
    assert finding.code == "PRICE_MISSING"
    assert "gas area JIH of GASNET (OPM data from 2026-01-01) is not in sample-2026" in finding.text


async def test_an_areas_missing_month_is_a_price_problem_naming_the_area(
    engine: AsyncEngine, files: FileStore, tmp_path: Path,
) -> None:
    shutil.copytree(PRICES / "sample-2026", tmp_path / "sample-2026")
    path = tmp_path / "sample-2026" / "dso-GASNET.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('    { month = "2026-02", kwh_per_m3 = 10.70 },\n', ""), encoding="utf-8")
    parties = await supplied_gas(engine, gas_area="SEVER")
    await read(engine, parties.opm, "2025-12-31", "100")
    await read(engine, parties.opm, "2026-03-31", "400")

    outcome = await bill(engine, files, parties.contract, period_to=Q1_END, prices=tmp_path)

    assert isinstance(outcome, Outsorted)
    [finding] = outcome.findings
    assert finding.code == "PRICE_MISSING"
    assert "no calorific value of GASNET area SEVER for 2026-02" in finding.text


async def test_master_data_keeps_the_factor_and_area_per_version(engine: AsyncEngine) -> None:
    parties = await supplied_gas(engine, gas_conversion_factor=Decimal("0.9655"), gas_area="SEVER")
    async with engine.begin() as conn:
        await set_technical(conn, ACTOR, NOW, parties.opm, gas_technical(since="2026-02-15"))
        opm = await get_opm(conn, parties.opm, dt.date(2026, 1, 31))
        later = await get_opm(conn, parties.opm, dt.date(2026, 2, 15))

    assert opm.technical is not None and later.technical is not None
    assert (opm.technical.gas_conversion_factor, opm.technical.gas_area) == (Decimal("0.9655"), "SEVER")
    assert (later.technical.gas_conversion_factor, later.technical.gas_area) == (None, None)
    assert [version.gas_area for version in later.technical_history] == ["SEVER", None]
