"""Gas readings (CDSGASPOF GP6) through the consumer: kWh = m³ × factor × calorific value, exact and rounded
half-up to 0.001 kWh; the factor derived where the DSO sends none; the plausibility note; corrections by
segment, corReason and version; on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.errors import HandlerRejected
from gateway.readings.gas import derived_factor, energy_kwh, energy_note
from schemas.ote import GasSegment
from tests.readings.support import deliver, events, filed, fresh_eic, gas, gas_day


def test_energy_is_exact_then_rounded_half_up_to_a_watt_hour() -> None:
    # 276 × 0.9736 = 268.7136; × 10.6649 = 2865.80367264 (exact) → 2865.804.
    assert energy_kwh(Decimal("276"), Decimal("0.9736"), Decimal("10.6649")) == Decimal("2865.804")
    # Exactly half a Wh: half-up gives 10.663 where Python's default half-even would give 10.662.
    assert energy_kwh(Decimal("1.000"), Decimal("1.0000"), Decimal("10.6625")) == Decimal("10.663")
    assert energy_kwh(Decimal("-1.000"), Decimal("1.0000"), Decimal("10.6625")) == Decimal("-10.663")
    # Beyond the default 28-digit context (which would give 1.234703693825938259382593825E+28): the exact
    # product is 12347036938259382593825938255.369806785.
    big = Decimal("1234567890123456789012345678.5")
    assert energy_kwh(big, Decimal("1.0001"), Decimal("10.0001")) == Decimal(
        "12347036938259382593825938255.370"
    )


def test_the_factor_is_derived_per_meter_from_all_its_days() -> None:
    # The golden days: Σ energy 6158.179 / Σ m³ × kWh/m³ 6158.2114 = 0.99999473… → 1.0000.
    days = [(Decimal("276"), Decimal("10.6649"), Decimal("2943.48")),
            (Decimal("301.25"), Decimal("10.6712"), Decimal("3214.699")),
            (Decimal("0.000"), Decimal("10.6590"), Decimal("0.000"))]
    assert derived_factor(days) == Decimal("1.0000")
    assert derived_factor([(Decimal(100), Decimal(10), Decimal("973.6"))]) == Decimal("0.9736")
    assert derived_factor([(Decimal(0), Decimal("10.6"), Decimal(0))]) is None


def test_the_plausibility_note_names_both_figures_beyond_the_tolerance() -> None:
    assert energy_note(Decimal("2943.512"), Decimal("2943.48")) is None  # within 0.01 % (0.294 kWh)
    assert energy_note(Decimal("1.004"), Decimal("1.001")) == (
        "energy: ours 1.004 kWh, DSO's 1.001 kWh, difference 0.003 kWh over the tolerance of 0.002 kWh"
    )


async def test_gas_days_are_filed_with_kwh_from_the_derived_factor(engine: AsyncEngine) -> None:
    opm = fresh_eic()
    await deliver(engine, gas(opm))
    days = await filed(engine, opm)
    assert [(d.row.date_from, d.row.date_to) for d in days] == [
        (d.row.date_from, d.row.date_from) for d in days
    ]
    assert [str(d.row.date_from) for d in days] == ["2025-01-01", "2025-01-02", "2025-01-03"]
    assert {(d.row.commodity, d.row.kind, d.row.meter_id, d.row.document_id, d.row.document_version)
            for d in days} == {("gas", "actual", "GM-0042817", "2025000187331", 1)}
    values = [d.registers["single"] for d in days]
    assert [v.consumption_kwh for v in values] == [Decimal("2943.512"), Decimal("3214.699"), Decimal("0.000")]
    assert [v.conversion_factor for v in values] == [Decimal("1.0000")] * 3
    assert [v.dso_energy_kwh for v in values] == [Decimal("2943.48"), Decimal("3214.699"), Decimal("0.000")]
    assert [v.note for v in values] == [None, None, None]
    first = (await events(engine, opm))[0]
    [register] = first.registers
    assert (register.register, register.volume_m3, register.conversion_factor,
            register.calorific_value_kwh_per_m3, register.consumption_kwh) == (
        "single", Decimal("276"), Decimal("1.0000"), Decimal("10.6649"), Decimal("2943.512"),
    )


async def test_a_sent_factor_is_used_and_a_mismatch_with_the_dso_is_noted(engine: AsyncEngine) -> None:
    opm = fresh_eic()
    await deliver(engine, gas(opm, factor=Decimal("0.9736"), days=(
        gas_day(1, "276", "10.6649", "2943.48"),  # the DSO's energy was not computed with 0.9736
        gas_day(2, "1.000", "10.6625", "10.381"),  # 1 × 0.9736 × 10.6625 = 10.38101 → 10.381
    )))
    first, second = (day.registers["single"] for day in await filed(engine, opm))
    assert (first.consumption_kwh, first.conversion_factor) == (Decimal("2865.804"), Decimal("0.9736"))
    assert first.note == (
        "energy: ours 2865.804 kWh, DSO's 2943.48 kWh, difference -77.676 kWh over the tolerance of "
        "0.294348 kWh"
    )
    assert (second.consumption_kwh, second.note) == (Decimal("10.381"), None)


async def test_the_segment_reason_goes_to_the_last_day_of_the_document(engine: AsyncEngine) -> None:
    opm = fresh_eic()
    await deliver(engine, gas(opm, segment=GasSegment.EOC))
    assert [day.row.reason for day in await filed(engine, opm)] == ["periodic", "periodic", "final"]


async def test_the_same_document_again_is_a_duplicate(engine: AsyncEngine) -> None:
    opm = fresh_eic()
    await deliver(engine, gas(opm))
    await deliver(engine, gas(opm, message_id="GP62"))
    days = await filed(engine, opm)
    assert [d.row.status for d in days] == ["new"] * 3 + ["duplicate"] * 3
    assert [d.row.duplicate_of for d in days[3:]] == [d.row.id for d in days[:3]]


@pytest.mark.parametrize("corrective", [
    {"segment": GasSegment.COR},
    {"correction_reason": "01"},
    {"version": 2},
])
async def test_a_corrective_document_corrects_each_day_even_with_equal_values(
    engine: AsyncEngine, corrective: dict[str, object]
) -> None:
    opm = fresh_eic()
    await deliver(engine, gas(opm))
    await deliver(engine, gas(opm, message_id="GP62", **corrective))  # type: ignore[arg-type]
    days = await filed(engine, opm)
    originals, corrections = days[:3], days[3:]
    assert [d.row.status for d in corrections] == ["correction"] * 3
    assert [d.row.corrects for d in corrections] == [d.row.id for d in originals]
    assert [d.row.superseded_by for d in originals] == [d.row.id for d in corrections]
    assert [e.status for e in await events(engine, opm)] == ["new"] * 3 + ["correction"] * 3
    # The corrective document again (a resend): the same document, equal values.
    await deliver(engine, gas(opm, message_id="GP63", **corrective))  # type: ignore[arg-type]
    again = (await filed(engine, opm))[6:]
    assert [(d.row.status, d.row.duplicate_of) for d in again] == [
        ("duplicate", d.row.id) for d in corrections
    ]


async def test_an_older_version_after_a_newer_one_is_refused(engine: AsyncEngine) -> None:
    opm = fresh_eic()
    await deliver(engine, gas(opm, version=3))
    with pytest.raises(HandlerRejected, match=r"pofId '2025000187331' version 2 arrived after version 3"):
        await deliver(engine, gas(opm, version=2, message_id="GP62"))
    assert len(await filed(engine, opm)) == 3


async def test_a_storno_is_left_to_the_back_office(engine: AsyncEngine) -> None:
    opm = fresh_eic()
    with pytest.raises(HandlerRejected, match=r"segment 'CAN' \(storno\)"):
        await deliver(engine, gas(opm, segment=GasSegment.CAN))
    assert await filed(engine, opm) == []
