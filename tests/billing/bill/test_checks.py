"""The billing checks: each pre-check and post-check finding from real master data and readings, codes a
clerk released skipped (but never a missing reading or price), and the facts the decision is made on."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.billing.bill_checks import HISTORY_FACTOR, History, decide, post_check_facts, pre_check_facts
from gateway.billing.checks import Checks
from gateway.billing.dso_codes import price_list_dso
from gateway.masterdata.filestore import FileStore
from schemas.billing.bill import Billed, Outsorted
from schemas.billing.orders import CheckStage, Finding
from schemas.billing.readings import Consumption, RegisterConsumption
from schemas.billing.readings import Finding as ReadingFinding
from schemas.billing.settlement import Settlement
from tests.billing.bill.support import bill, read, supplied

RULES = Path(__file__).resolve().parents[3] / "rules"


def _codes(outcome: object) -> tuple[str, tuple[str, ...]]:
    assert isinstance(outcome, Outsorted), outcome
    return outcome.stage, tuple(finding.code for finding in outcome.findings)


async def test_a_missing_reading_outsorts_and_cannot_be_released(
    engine: AsyncEngine, files: FileStore
) -> None:
    parties = await supplied(engine)
    await read(engine, parties.opm, "2025-12-31", "1000")

    outcome = await bill(engine, files, parties.contract)
    released = await bill(engine, files, parties.contract, released=frozenset({"READING_MISSING"}))

    assert _codes(outcome) == ("pre", ("READING_MISSING",))
    assert isinstance(outcome, Outsorted) and "2026-06-30" in outcome.findings[0].text
    assert _codes(released) == ("pre", ("READING_MISSING",))


async def test_a_negative_consumption_is_implausible(engine: AsyncEngine, files: FileStore) -> None:
    parties = await supplied(engine)
    await read(engine, parties.opm, "2025-12-31", "1000")
    await read(engine, parties.opm, "2026-06-30", "900")

    outcome = await bill(engine, files, parties.contract)
    # Released, a negative consumption still cannot be priced.
    released = await bill(engine, files, parties.contract, released=frozenset({"IMPLAUSIBLE_CONSUMPTION"}))

    assert _codes(outcome) == ("pre", ("IMPLAUSIBLE_CONSUMPTION",))
    assert _codes(released) == ("pre", ("IMPLAUSIBLE_CONSUMPTION",))


async def test_a_period_before_the_supply_is_not_supplied_and_may_be_released(
    engine: AsyncEngine, files: FileStore
) -> None:
    parties = await supplied(engine, valid_from="2026-02-01")
    await read(engine, parties.opm, "2025-12-31", "1000")
    await read(engine, parties.opm, "2026-06-30", "2500")

    outcome = await bill(engine, files, parties.contract)
    released = await bill(engine, files, parties.contract, released=frozenset({"NOT_SUPPLIED"}))

    assert _codes(outcome) == ("pre", ("NOT_SUPPLIED",))
    assert isinstance(outcome, Outsorted) and "2026-02-01" in outcome.findings[0].text
    assert isinstance(released, Billed) and released.invoice.number is not None


@pytest.mark.parametrize(("dso", "product"), [("Neznámá distribuce", "Elektřina Standard"),
                                              ("ČEZ Distribuce, a.s.", "Plyn Standard")])
async def test_an_unknown_dso_or_product_has_no_price(
    engine: AsyncEngine, files: FileStore, dso: str, product: str
) -> None:
    parties = await supplied(engine, dso=dso, product=product)
    await read(engine, parties.opm, "2025-12-31", "1000")
    await read(engine, parties.opm, "2026-06-30", "2500")

    outcome = await bill(engine, files, parties.contract, released=frozenset({"PRICE_MISSING"}))

    assert _codes(outcome) == ("pre", ("PRICE_MISSING",))
    assert isinstance(outcome, Outsorted)
    assert (dso if dso.startswith("Nezn") else product) in outcome.findings[0].text


async def test_no_consumption_is_outsorted_after_pricing_unless_released(
    engine: AsyncEngine, files: FileStore
) -> None:
    parties = await supplied(engine)
    await read(engine, parties.opm, "2025-12-31", "1000")
    await read(engine, parties.opm, "2026-06-30", "1000")

    outcome = await bill(engine, files, parties.contract)
    released = await bill(engine, files, parties.contract, released=frozenset({"ZERO_CONSUMPTION"}))

    assert _codes(outcome) == ("post", ("ZERO_CONSUMPTION",))
    assert isinstance(released, Billed) and released.invoice.total > 0  # the fixed fees


async def test_a_bill_far_above_the_previous_one_is_outsorted(engine: AsyncEngine, files: FileStore) -> None:
    parties = await supplied(engine)
    await read(engine, parties.opm, "2025-12-31", "1000")
    await read(engine, parties.opm, "2026-03-31", "1300")
    await read(engine, parties.opm, "2026-06-30", "20000")
    first = await bill(engine, files, parties.contract, period_to=dt.date(2026, 3, 31))
    assert isinstance(first, Billed)

    outcome = await bill(engine, files, parties.contract, period_from=dt.date(2026, 4, 1))
    released = await bill(engine, files, parties.contract, period_from=dt.date(2026, 4, 1),
                          released=frozenset({"FAR_ABOVE_HISTORY"}))

    assert _codes(outcome) == ("post", ("FAR_ABOVE_HISTORY",))
    assert isinstance(outcome, Outsorted) and str(first.invoice.total) in outcome.findings[0].text
    assert isinstance(released, Billed) and released.invoice.total > HISTORY_FACTOR * first.invoice.total


async def test_a_full_period_after_a_short_first_one_is_weighed_per_day(
    engine: AsyncEngine, files: FileStore
) -> None:
    """A first bill of January, then February to June at January's daily consumption: five times the total,
    the same per day; not far above history (it was, when totals were compared)."""
    parties = await supplied(engine)
    await read(engine, parties.opm, "2025-12-31", "1000")
    await read(engine, parties.opm, "2026-01-31", "1310")  # 10 kWh a day
    await read(engine, parties.opm, "2026-06-30", "2820")  # 10 kWh a day
    first = await bill(engine, files, parties.contract, period_to=dt.date(2026, 1, 31))
    assert isinstance(first, Billed)

    second = await bill(engine, files, parties.contract, period_from=dt.date(2026, 2, 1))

    assert isinstance(second, Billed), second
    assert second.invoice.total > HISTORY_FACTOR * first.invoice.total


def _settlement(total: str) -> Settlement:
    amount = Decimal(total)
    return Settlement(lines=[], vat=[], total_base=amount, total_vat=Decimal("0.00"), total=amount,
                      advances_paid=Decimal("0.00"), balance=amount)


def test_a_negative_total_is_a_post_check_finding() -> None:
    facts = post_check_facts(_settlement("-10.00"), consumption=Decimal(5), unit="kWh", days=31,
                             previous=None)

    assert facts["negative_total"] is True and facts["total"] == Decimal("-10.00")
    assert decide("post", facts, frozenset()) == (
        Finding(code="NEGATIVE_TOTAL", text="the total -10.00 CZK is negative"),
    )
    assert decide("post", facts, frozenset({"NEGATIVE_TOTAL"})) == ()


def test_history_is_judged_only_against_a_previous_total_above_zero() -> None:
    limit = HISTORY_FACTOR * Decimal("100.00")
    for previous, far in ((None, False), (Decimal("0.00"), False), (Decimal("100.00"), True)):
        history = None if previous is None else History(previous, 365)
        facts = post_check_facts(_settlement(str(limit + 1)), consumption=Decimal(1), unit="kWh", days=365,
                                 previous=history)
        assert facts["far_above_history"] is far
    at_limit = post_check_facts(_settlement(str(limit)), consumption=Decimal(1), unit="kWh", days=365,
                                previous=History(Decimal("100.00"), 365))
    assert at_limit["far_above_history"] is False


def test_history_is_weighed_per_day_of_each_period() -> None:
    """A first bill of one month, then a full year: twelve times the total, the same per day."""
    month = History(Decimal("1000.00"), 31)
    year = post_check_facts(_settlement("12000.00"), consumption=Decimal(1), unit="kWh", days=365,
                            previous=month)
    assert year["far_above_history"] is False
    assert (year["days"], year["history_total"], year["history_days"]) == (365, Decimal("1000.00"), 31)
    # The other way round: a month after a year, at more than three times the year's daily amount.
    short = post_check_facts(_settlement("300.00"), consumption=Decimal(1), unit="kWh", days=31,
                             previous=History(Decimal("1000.00"), 365))
    assert short["far_above_history"] is True  # 9.68 CZK a day against 3 × 2.74
    assert decide("post", short, frozenset()) == (Finding(code="FAR_ABOVE_HISTORY", text=(
        "the total 300.00 CZK over 31 days (9.68 CZK a day) is more than 3 × the previous settlement's "
        "1000.00 CZK over 365 days (2.74 CZK a day)"
    )),)


@pytest.mark.parametrize(("commodity", "dso", "code"), [
    ("electricity", "ČEZ Distribuce, a.s.", "CEZ"), ("electricity", "8591824071502", "CEZ"),
    ("electricity", "PREdistribuce, a.s.", "PRE"), ("electricity", "PRE Distribuce", "PRE"),
    ("electricity", "8591824003008", "PRE"), ("electricity", "EG.D, a.s.", "EGD"),
    ("electricity", "E.ON Distribuce, a.s.", "EGD"), ("electricity", "8591824048108", "EGD"),
    ("gas", "GasNet Služby, s.r.o.", "GASNET"), ("gas", "GasNet", "GASNET"),
    ("gas", "EG.D, a.s.", None), ("gas", "Pražská plynárenská Distribuce, a.s.", None),
    ("electricity", "GasNet", None), ("electricity", "8591824000007", None),
])
def test_the_dso_of_master_data_maps_to_a_price_list_code(commodity: str, dso: str, code: str | None) -> None:
    assert price_list_dso(commodity, dso) == code  # type: ignore[arg-type]


async def test_the_facts_carry_the_year_befores_daily_consumption(
    engine: AsyncEngine, files: FileStore
) -> None:
    parties = await supplied(engine)
    await read(engine, parties.opm, "2024-12-31", "1000")
    await read(engine, parties.opm, "2025-12-31", "2825")  # 1,825 kWh in 365 days: 5 a day
    await read(engine, parties.opm, "2026-06-30", "3730")  # 905 kWh in 181 days: 5 a day
    seen: dict[str, Mapping[str, Any]] = {}

    def recording(
        stage: CheckStage, facts: Mapping[str, Any], released: frozenset[str]
    ) -> tuple[Finding, ...]:
        seen[stage] = facts
        return decide(stage, facts, released)

    outcome = await bill(engine, files, parties.contract, decision=recording, issue=False)

    assert isinstance(outcome, Billed)
    pre, post = seen["pre"], seen["post"]
    assert (pre["history_daily_kwh"], pre["daily_kwh"], pre["consumption_kwh"]) == (5, 5, Decimal(905))
    assert (pre["reading_missing"], pre["supplied"], pre["days_after_period"]) == (False, True, 153)
    assert post["total"] == outcome.invoice.total and post["history_total"] is None


def test_an_opm_without_a_meter_in_the_period_misses_its_reading() -> None:
    empty = Consumption(opm="859182400123456789", period_from=dt.date(2026, 1, 1),
                        period_to=dt.date(2026, 6, 30), registers=())
    facts = pre_check_facts(empty, today=dt.date(2026, 11, 30), supplied=True, supply_text="",
                            price_problems=())
    assert facts["reading_missing"] is True and facts["consumption_kwh"] is None
    assert [finding.code for finding in decide("pre", facts, frozenset())] == ["READING_MISSING"]


def test_missing_states_are_named_once_per_meter_and_register_in_the_clerks_text() -> None:
    def missing(register: Any, day: str) -> ReadingFinding:
        return ReadingFinding(code="missing_reading", opm="859182400123456789", register=register,
                              meter="E19788430", text=f"no state near {day}", values={"date": day})

    consumption = Consumption(
        opm="859182400123456789", period_from=dt.date(2026, 1, 1), period_to=dt.date(2026, 6, 30),
        registers=tuple(RegisterConsumption(register=register, consumption=Decimal(0), unit="kWh", days=0)
                        for register in ("nt", "vt")),
        findings=(missing("nt", "2025-12-31"), missing("nt", "2026-06-30"), missing("vt", "2025-12-31"),
                  missing("vt", "2026-06-30")),
    )
    states = ("meter E19788430 nt on 2025-12-31 and 2026-06-30; "
              "meter E19788430 vt on 2025-12-31 and 2026-06-30")
    checks = Checks(RULES)

    for today, text in [
        (dt.date(2026, 7, 5), f"No meter reading yet for {states}; waiting for the distributor's reading"),
        (dt.date(2026, 11, 30), f"No meter reading for {states} (153 days after the period's end): ask the "
                                "distributor, or estimate the reading and release"),
    ]:
        facts = pre_check_facts(consumption, today=today, supplied=True, supply_text="", price_problems=())
        verdict = checks.precheck(facts)
        assert [finding.text for finding in (*verdict.wait, *verdict.outsort)] == [text]
