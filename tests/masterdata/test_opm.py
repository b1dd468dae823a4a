"""OPM services on SQLite and PostgreSQL: the code decides the commodity, technical data and meters must fit
it, technical data is read as of a day, meter changes keep their readings, and every change is announced.

Refused requests are checked to store nothing: the transaction is committed after the error (see
``supply_helpers.refused``), and the rows of every table the services write are counted before and after.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import msgspec
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.errors import Conflict, InvalidField, NotFound
from gateway.masterdata import tables as t
from gateway.masterdata.opm import create_opm, get_opm, set_technical, update_opm
from schemas.masterdata.common import Address
from schemas.masterdata.opm import MeterIn, Opm, OpmIn, OpmPatch, Register, Technical
from tests.masterdata.supply_helpers import (
    ACTOR,
    ADDRESS,
    NOW,
    TODAY,
    changed,
    day,
    electricity_in,
    electricity_technical,
    events,
    gas_in,
    gas_technical,
    new_ean,
    new_eic,
    refused,
    single_meter,
    two_tariff_meter,
)

OPM_TOPIC = "masterdata.opm"


async def create(engine: AsyncEngine, data: OpmIn) -> Opm:
    async with engine.begin() as conn:
        return await create_opm(conn, ACTOR, NOW, data)


async def read(engine: AsyncEngine, code: str, as_of: dt.date = TODAY) -> Opm:
    async with engine.connect() as conn:
        return await get_opm(conn, code, as_of)


# --- creation -------------------------------------------------------------------------------------


async def test_create_electricity_opm(engine: AsyncEngine) -> None:
    code = new_ean()
    spaced = f"{code[:6]} {code[6:12]} {code[12:]}"  # as people copy it from an invoice

    opm = await create(engine, electricity_in(spaced))

    assert opm.code == code
    assert opm.commodity == "electricity"
    assert opm.supply_address.postal_code == "11000"  # canonical PSČ
    assert opm.technical == electricity_technical()
    assert opm.technical_history == [electricity_technical()]
    assert [(m.serial, m.removed_on, [r.code for r in m.registers]) for m in opm.meters] == [
        ("M1", None, ["SINGLE"])
    ]
    assert opm.supply == []
    assert (opm.version, opm.created_at, opm.updated_at) == (1, NOW, NOW)
    assert await read(engine, code) == opm


async def test_create_gas_opm_takes_the_eic_in_upper_case(engine: AsyncEngine) -> None:
    code = new_eic()

    opm = await create(engine, gas_in(code.lower()))

    assert (opm.code, opm.commodity) == (code, "gas")
    assert opm.technical == gas_technical()
    assert opm.meters[0].registers == [Register(code="SINGLE", unit="m3")]


async def test_creation_is_audited_and_announced(engine: AsyncEngine) -> None:
    opm = await create(engine, electricity_in())

    [envelope] = await events(engine, OPM_TOPIC, opm.code)
    body = changed(envelope)
    assert (body.entity, body.id, body.key, body.action, body.actor, body.version) == (
        "opm", opm.id, opm.code, "created", ACTOR, 1
    )
    assert body.before is None
    assert body.after == msgspec.to_builtins(opm)
    async with engine.connect() as conn:
        audit_row = (await conn.execute(sa.select(t.change).where(t.change.c.id == body.change_id))).one()
    assert (audit_row.entity, audit_row.entity_key, audit_row.message_id) == ("opm", opm.code, envelope.id)
    assert audit_row.after == body.after


def _technical(**changes: Any) -> Callable[[], OpmIn]:
    return lambda: electricity_in(technical=electricity_technical(**changes))


def _gas_technical(**changes: Any) -> Callable[[], OpmIn]:
    return lambda: gas_in(technical=gas_technical(**changes))


def _meter(*codes: str, unit: str = "kWh", rate: str = "D02d") -> Callable[[], OpmIn]:
    def build() -> OpmIn:
        registers = msgspec.convert([{"code": code, "unit": unit} for code in codes], list[Register])
        meter = MeterIn(serial="X1", installed_on=day("2020-01-01"), registers=registers)
        return electricity_in(technical=electricity_technical(rate=rate), meters=[meter])
    return build


INVALID_OPMS: list[tuple[str, Callable[[], OpmIn], str, object, str]] = [
    ("code of 17 digits", lambda: electricity_in("85918240012345678"), "code", "85918240012345678",
     "is neither an electricity OPM EAN (18 digits) nor a gas OPM EIC (16 characters)"),
    ("EAN check digit", lambda: electricity_in("859182400123456780"), "code", "859182400123456780",
     "fails the check digit (expected 9, got 0)"),
    ("EAN outside 859", lambda: electricity_in("123456789012345678"), "code", "123456789012345678",
     "does not start with 859"),
    ("EIC check character", lambda: gas_in("27ZG300Z0227838T"), "code", "27ZG300Z0227838T",
     "fails the check character"),
    ("DSO participant EAN", lambda: electricity_in(dso="8591824071503"), "dso", "8591824071503",
     "fails the check digit"),
    ("PSČ", lambda: electricity_in(supply_address=Address(house_number="1", city="Brno", postal_code="6020")),
     "supply_address.postal_code", "6020", "digits"),
    ("rate missing", _technical(distribution_rate=None), "technical.distribution_rate", None,
     "is required for electricity"),
    ("rate unknown", _technical(distribution_rate="D99d"), "technical.distribution_rate", "D99d",
     "is not a distribution rate"),
    ("phases missing", _technical(breaker_phases=None), "technical.breaker_phases", None, "is required"),
    ("amps missing", _technical(breaker_amps=None), "technical.breaker_amps", None, "is required"),
    ("amps over the limit", _technical(breaker_amps=4001), "technical.breaker_amps", 4001, "<= 4000"),
    ("gas band on electricity", _technical(gas_band="0-1.89"), "technical.gas_band", "0-1.89", "is for gas"),
    ("gas TDD on electricity", _technical(tdd_class="DOM1"), "technical.tdd_class", "DOM1",
     "is not a electricity load profile class"),
    ("negative consumption", _technical(annual_consumption_kwh=Decimal(-1)),
     "technical.annual_consumption_kwh", "-1", "is negative"),
    ("consumption NaN", _technical(annual_consumption_kwh=Decimal("NaN")),
     "technical.annual_consumption_kwh", "NaN", "is not a finite number"),
    ("consumption to the 0.1 Wh", _technical(annual_consumption_kwh=Decimal("1.0001")),
     "technical.annual_consumption_kwh", "1.0001", "more than 3 decimal places"),
    ("gas band missing", _gas_technical(gas_band=None), "technical.gas_band", None, "is required for gas"),
    ("gas band unknown", _gas_technical(gas_band="5-10"), "technical.gas_band", "5-10",
     "is not a gas consumption band"),
    ("rate on gas", _gas_technical(distribution_rate="D02d"), "technical.distribution_rate", "D02d",
     "is for electricity"),
    ("breaker on gas", _gas_technical(breaker_amps=25), "technical.breaker_amps", 25, "is for electricity"),
    ("electricity TDD on gas", _gas_technical(tdd_class="4"), "technical.tdd_class", "4",
     "is not a gas load profile class"),
    ("conversion factor on electricity", _technical(gas_conversion_factor=Decimal("0.98")),
     "technical.gas_conversion_factor", "0.98", "is for gas"),
    ("calorific area on electricity", _technical(gas_area="SEVER"), "technical.gas_area", "SEVER",
     "is for gas"),
    ("conversion factor too high", _gas_technical(gas_conversion_factor=Decimal("9.655")),
     "technical.gas_conversion_factor", "9.655", "must be from 0.5 to 1.5"),
    ("conversion factor zero", _gas_technical(gas_conversion_factor=Decimal(0)),
     "technical.gas_conversion_factor", "0", "must be from 0.5 to 1.5"),
    ("conversion factor NaN", _gas_technical(gas_conversion_factor=Decimal("NaN")),
     "technical.gas_conversion_factor", "NaN", "must be from 0.5 to 1.5"),
    ("conversion factor to 7 places", _gas_technical(gas_conversion_factor=Decimal("0.9655001")),
     "technical.gas_conversion_factor", "0.9655001", "more than 6 decimal places"),
    ("calorific area with a space", _gas_technical(gas_area="SEVER 2"), "technical.gas_area", "SEVER 2",
     "must be letters, digits"),
    ("m3 register on electricity", _meter("SINGLE", unit="m3"), "meters[0].registers[0].unit", "m3",
     "must be kWh for electricity"),
    ("kWh register on gas", lambda: gas_in(meters=[single_meter(unit="kWh")]), "meters[0].registers[0].unit",
     "kWh", "must be m3 for gas"),
    ("one register on a two-tariff rate", _meter("SINGLE", rate="D25d"), "meters[0].registers", ["SINGLE"],
     "must be the registers NT and VT (each once) for the two-tariff rate D25d"),
    ("VT only on a two-tariff rate", _meter("VT", rate="C45d"), "meters[0].registers", ["VT"],
     "must be the registers NT and VT"),
    ("VT twice on a two-tariff rate", _meter("VT", "VT", rate="D57d"), "meters[0].registers", ["VT", "VT"],
     "must be the registers NT and VT"),
    ("two registers on a single rate", _meter("VT", "NT", rate="D02d"), "meters[0].registers", ["NT", "VT"],
     "must be the registers SINGLE (each once) for the single-tariff rate D02d"),
    ("VT/NT on gas", lambda: gas_in(meters=[MeterIn(serial="G", installed_on=day("2020-01-01"), registers=[
        Register(code="VT", unit="m3"), Register(code="NT", unit="m3")])]),
     "meters[0].registers", ["NT", "VT"], "must be the registers SINGLE (each once) for a gas meter"),
    ("serial twice", lambda: electricity_in(meters=[single_meter("A"), single_meter("A", "2021-01-01")]),
     "meters[1].serial", "A", "is listed twice"),
]


@pytest.mark.parametrize(
    ("data", "field", "value", "reason"), [case[1:] for case in INVALID_OPMS],
    ids=[case[0] for case in INVALID_OPMS],
)
async def test_invalid_opm_is_refused_naming_the_field(
    engine: AsyncEngine, data: Callable[[], OpmIn], field: str, value: object, reason: str
) -> None:
    request = data()

    error = await refused(engine, lambda conn: create_opm(conn, ACTOR, NOW, request), InvalidField)

    assert (error.field, error.value) == (field, value)
    assert reason in error.reason


async def test_two_tariff_meter_fits_a_two_tariff_rate(engine: AsyncEngine) -> None:
    opm = await create(engine, electricity_in(
        technical=electricity_technical(rate="D25d"), meters=[two_tariff_meter()]
    ))

    assert sorted(register.code for register in opm.meters[0].registers) == ["NT", "VT"]


async def test_an_existing_code_is_a_conflict_naming_it(engine: AsyncEngine) -> None:
    code = new_ean()
    await create(engine, electricity_in(code))

    error = await refused(engine, lambda conn: create_opm(conn, ACTOR, NOW, electricity_in(code)), Conflict)

    assert code in error.message


async def test_unknown_opm_is_not_found(engine: AsyncEngine) -> None:
    with pytest.raises(NotFound, match="does not exist"):
        await read(engine, new_ean())


# --- update ---------------------------------------------------------------------------------------


async def test_update_changes_dso_and_address_under_optimistic_locking(engine: AsyncEngine) -> None:
    opm = await create(engine, electricity_in())
    moved = Address(street="Krátká", house_number="3/1a", city="Brno", postal_code="602 00")

    async with engine.begin() as conn:
        updated = await update_opm(
            conn, ACTOR, NOW, opm.code, OpmPatch(version=1, dso="8591824071502", supply_address=moved)
        )

    assert (updated.dso, updated.supply_address.postal_code, updated.version) == ("8591824071502", "60200", 2)
    assert await read(engine, opm.code) == updated
    body = changed((await events(engine, OPM_TOPIC, opm.code))[-1])
    assert (body.action, body.version) == ("updated", 2)
    assert body.before is not None and body.after is not None
    assert (body.before["dso"], body.after["dso"]) == ("ČEZ Distribuce", "8591824071502")

    stale = OpmPatch(version=1, dso="PRE Distribuce")
    error = await refused(engine, lambda conn: update_opm(conn, ACTOR, NOW, opm.code, stale), Conflict)
    assert "version 1 was read, the stored one is 2" in error.message


async def test_update_refuses_a_bad_dso_ean_and_ignores_an_empty_patch(engine: AsyncEngine) -> None:
    opm = await create(engine, electricity_in())
    bad = OpmPatch(version=1, dso="8591824071503")

    error = await refused(engine, lambda conn: update_opm(conn, ACTOR, NOW, opm.code, bad), InvalidField)
    assert (error.field, error.value) == ("dso", "8591824071503")

    async with engine.begin() as conn:
        same = await update_opm(conn, ACTOR, NOW, opm.code, OpmPatch(version=1, supply_address=ADDRESS))
    assert same == opm
    assert len(await events(engine, OPM_TOPIC, opm.code)) == 1


# --- technical data -------------------------------------------------------------------------------


async def test_technical_data_is_read_as_of_a_day(engine: AsyncEngine) -> None:
    opm = await create(engine, electricity_in())
    newer = electricity_technical(rate="D25d", since="2027-01-01", breaker_amps=32)

    async with engine.begin() as conn:
        result = await set_technical(conn, ACTOR, NOW, opm.code, newer)

    assert result.technical == newer  # returned as of the version's first day
    first = electricity_technical()
    assert result.technical_history == [first, newer]
    assert (await read(engine, opm.code, day("2025-12-31"))).technical is None
    assert (await read(engine, opm.code, day("2026-01-01"))).technical == first
    assert (await read(engine, opm.code, day("2026-12-31"))).technical == first
    assert (await read(engine, opm.code, day("2027-01-01"))).technical == newer
    assert (await read(engine, opm.code, day("2030-06-01"))).technical == newer
    body = changed((await events(engine, OPM_TOPIC, opm.code))[-1])
    assert (body.action, body.version) == ("technical_changed", 2)
    assert body.before is not None and body.after is not None
    assert body.before["technical"]["distribution_rate"] == "D02d"
    assert body.after["technical"]["distribution_rate"] == "D25d"


async def test_technical_data_of_the_same_day_replaces_that_version(engine: AsyncEngine) -> None:
    opm = await create(engine, electricity_in())
    corrected = electricity_technical(breaker_amps=20, annual_consumption_kwh=Decimal("2800.5"))

    async with engine.begin() as conn:
        result = await set_technical(conn, ACTOR, NOW, opm.code, corrected)

    assert result.technical_history == [corrected]
    assert (await read(engine, opm.code)).technical == corrected


@pytest.mark.parametrize(("technical", "field", "value"), [
    (electricity_technical(gas_band="7.56-15"), "gas_band", "7.56-15"),
    (electricity_technical(rate="D01"), "distribution_rate", "D01"),
    (electricity_technical(tdd_class="9"), "tdd_class", "9"),
    (electricity_technical(breaker_phases=None), "breaker_phases", None),
])
async def test_invalid_technical_data_names_the_field_of_its_document(
    engine: AsyncEngine, technical: Technical, field: str, value: object
) -> None:
    opm = await create(engine, electricity_in())

    error = await refused(
        engine, lambda conn: set_technical(conn, ACTOR, NOW, opm.code, technical), InvalidField
    )

    assert (error.field, error.value) == (field, value)


async def test_gas_technical_data_refuses_a_distribution_rate(engine: AsyncEngine) -> None:
    opm = await create(engine, gas_in())
    technical = gas_technical(since="2027-01-01", distribution_rate="D02d")

    error = await refused(
        engine, lambda conn: set_technical(conn, ACTOR, NOW, opm.code, technical), InvalidField
    )

    assert (error.field, error.value, error.reason) == (
        "distribution_rate", "D02d", "is for electricity; this OPM is gas"
    )
