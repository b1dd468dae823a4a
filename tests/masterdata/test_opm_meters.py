"""Meters of an OPM on SQLite and PostgreSQL: installing one, and changing one with its readings.

The registers a meter needs follow the distribution rate in force on the day it is installed, so a change
from a single-tariff to a two-tariff rate goes with a meter change that day.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.errors import Conflict, InvalidField
from gateway.masterdata import tables as t
from gateway.masterdata.opm import change_meter, create_opm, get_opm, install_meter, set_technical
from schemas.masterdata.opm import MeterChange, MeterIn, Opm
from tests.masterdata.supply_helpers import (
    ACTOR,
    NOW,
    changed,
    day,
    electricity_in,
    electricity_technical,
    events,
    refused,
    single_meter,
    two_tariff_meter,
)

RATE_CHANGE = day("2027-01-01")  # D02d (one register) until the day before, D25d (VT and NT) from it


@pytest.fixture
async def opm(engine: AsyncEngine) -> Opm:
    """An electricity OPM with meter M1 (SINGLE, since 2020) whose rate becomes two-tariff on RATE_CHANGE."""
    async with engine.begin() as conn:
        created = await create_opm(conn, ACTOR, NOW, electricity_in())
        return await set_technical(
            conn, ACTOR, NOW, created.code, electricity_technical(rate="D25d", since=RATE_CHANGE.isoformat())
        )


def to_two_tariff(**changes: object) -> MeterChange:
    values: dict[str, object] = {
        "removed_serial": "M1", "changed_on": RATE_CHANGE, "new_meter": two_tariff_meter("M2", "2027-01-01"),
        "final_readings": {"SINGLE": Decimal("12345.6")},
        "initial_readings": {"VT": Decimal("0"), "NT": Decimal("0.5")},
    }
    return MeterChange(**{**values, **changes})  # type: ignore[arg-type]


async def test_meter_change_keeps_readings_and_dates(engine: AsyncEngine, opm: Opm) -> None:
    async with engine.begin() as conn:
        result = await change_meter(conn, ACTOR, NOW, opm.code, to_two_tariff())

    assert [(m.serial, m.installed_on, m.removed_on) for m in result.meters] == [
        ("M1", day("2020-01-01"), RATE_CHANGE), ("M2", RATE_CHANGE, None),
    ]
    assert result.technical is not None and result.technical.distribution_rate == "D25d"  # as of the change
    assert result.version == opm.version + 1
    async with engine.connect() as conn:
        rows = (await conn.execute(
            sa.select(t.meter).join(t.opm, t.opm.c.id == t.meter.c.opm_id).where(t.opm.c.code == opm.code)
            .order_by(t.meter.c.installed_on)
        )).all()
        assert await get_opm(conn, opm.code, RATE_CHANGE) == result
    assert [(row.final_readings, row.initial_readings) for row in rows] == [
        ({"SINGLE": "12345.6"}, None), (None, {"NT": "0.5", "VT": "0"}),
    ]
    body = changed((await events(engine, "masterdata.opm", opm.code))[-1])
    assert (body.action, body.version) == ("meter_changed", result.version)
    assert [(m.final_readings, m.initial_readings) for m in result.meters] == [
        ({"SINGLE": Decimal("12345.6")}, {}), ({}, {"NT": Decimal("0.5"), "VT": Decimal("0")}),
    ]
    assert body.before is not None and body.after is not None
    assert body.after["meters"][0]["final_readings"] == {"SINGLE": "12345.6"}
    assert [meter["removed_on"] for meter in body.before["meters"]] == [None]
    assert [meter["removed_on"] for meter in body.after["meters"]] == ["2027-01-01", None]


INVALID_CHANGES: list[tuple[str, MeterChange, str, object, str]] = [
    ("unknown meter", to_two_tariff(removed_serial="M9"), "removed_serial", "M9", "is not a meter installed"),
    ("before the meter was installed", to_two_tariff(
        changed_on=day("2019-12-31"), new_meter=two_tariff_meter("M2", "2019-12-31")),
     "changed_on", "2019-12-31", "is before meter M1 was installed on 2020-01-01"),
    ("new meter installed another day", to_two_tariff(new_meter=two_tariff_meter("M2", "2027-01-02")),
     "new_meter.installed_on", "2027-01-02", "must be the day of the change, 2027-01-01"),
    ("same serial", to_two_tariff(new_meter=two_tariff_meter("M1", "2027-01-01")),
     "new_meter.serial", "M1", "is the serial of the meter being removed"),
    ("one register on the two-tariff rate", to_two_tariff(
        new_meter=single_meter("M2", "2027-01-01"), initial_readings={"SINGLE": Decimal(0)}),
     "new_meter.registers", ["SINGLE"], "for the two-tariff rate D25d"),
    ("final readings of registers the meter lacks", to_two_tariff(final_readings={"VT": Decimal(1)}),
     "final_readings", ["VT"], "must give one reading for each register of the meter: SINGLE"),
    ("no final readings", to_two_tariff(final_readings={}), "final_readings", [], "SINGLE"),
    ("initial reading missing", to_two_tariff(initial_readings={"VT": Decimal(0)}),
     "initial_readings", ["VT"], "NT, VT"),
    ("negative reading", to_two_tariff(initial_readings={"VT": Decimal(-1), "NT": Decimal(0)}),
     "initial_readings.VT", "-1", "is negative"),
    ("more digits than the register", to_two_tariff(final_readings={"SINGLE": Decimal(1_000_000)}),
     "final_readings.SINGLE", "1000000", "is not below 1000000"),
]


@pytest.mark.parametrize(
    ("change", "field", "value", "reason"), [case[1:] for case in INVALID_CHANGES],
    ids=[case[0] for case in INVALID_CHANGES],
)
async def test_invalid_meter_change_is_refused_naming_the_field(
    engine: AsyncEngine, opm: Opm, change: MeterChange, field: str, value: object, reason: str
) -> None:
    error = await refused(engine, lambda conn: change_meter(conn, ACTOR, NOW, opm.code, change), InvalidField)

    assert (error.field, error.value) == (field, value)
    assert reason in error.reason


async def test_a_removed_meter_cannot_be_changed_again(engine: AsyncEngine, opm: Opm) -> None:
    async with engine.begin() as conn:
        await change_meter(conn, ACTOR, NOW, opm.code, to_two_tariff())
    again = to_two_tariff(changed_on=day("2027-02-01"), new_meter=two_tariff_meter("M3", "2027-02-01"))

    error = await refused(engine, lambda conn: change_meter(conn, ACTOR, NOW, opm.code, again), InvalidField)

    assert (error.field, error.value) == ("removed_serial", "M1")


async def test_install_meter_checks_the_rate_on_its_day(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        created = await create_opm(conn, ACTOR, NOW, electricity_in(
            technical=electricity_technical(rate="D25d"), meters=[]
        ))
    single = single_meter("S1", "2026-03-01")

    error = await refused(
        engine, lambda conn: install_meter(conn, ACTOR, NOW, created.code, single), InvalidField
    )
    assert (error.field, error.value) == ("registers", ["SINGLE"])

    async with engine.begin() as conn:
        result = await install_meter(conn, ACTOR, NOW, created.code, two_tariff_meter("T1", "2026-03-01"))
    assert [meter.serial for meter in result.meters] == ["T1"]
    body = changed((await events(engine, "masterdata.opm", created.code))[-1])
    assert (body.action, body.version) == ("meter_installed", 2)

    twice = two_tariff_meter("T1", "2026-04-01")
    error_twice = await refused(
        engine, lambda conn: install_meter(conn, ACTOR, NOW, created.code, twice), Conflict
    )
    assert "meter T1 is already installed" in error_twice.message


async def test_meter_before_the_first_technical_data_fits_the_first_rate(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        created = await create_opm(conn, ACTOR, NOW, electricity_in(meters=[]))
        result = await install_meter(conn, ACTOR, NOW, created.code, single_meter("OLD", "2019-05-01"))

    assert result.technical is None  # as of 2019-05-01, before any technical data
    assert result.meters[0].installed_on == dt.date(2019, 5, 1)


async def test_meter_built_in_code_is_checked_against_its_constraints(engine: AsyncEngine, opm: Opm) -> None:
    meter = MeterIn(serial="M5", installed_on=day("2027-01-01"), registers=[])

    error = await refused(engine, lambda conn: install_meter(conn, ACTOR, NOW, opm.code, meter), InvalidField)

    assert (error.field, error.value) == ("registers", [])
    assert "length >= 1" in error.reason
