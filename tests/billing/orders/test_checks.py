"""The controls' decision tables (rules/decisions/billing_precheck.json, billing_postcheck.json): each
finding from the facts ``gateway.billing.bill_checks`` computes, the thresholds at their edges, released
codes left out, zen's own evaluation agreeing with the compiled table, and the worker's wait decision."""

from __future__ import annotations

import datetime as dt
import json
import os
from decimal import ROUND_HALF_UP, Context, Decimal
from pathlib import Path
from typing import Any

import pytest
import zen
from hypothesis import given
from hypothesis import strategies as st

from gateway.billing.bill_checks import History, cents_text, post_check_facts, pre_check_facts
from gateway.billing.checks import (
    POSTCHECK_TABLE,
    PRECHECK_TABLE,
    TABLE_RECHECK_S,
    Checks,
    TableDecision,
    zen_facts,
)
from gateway.process.expressions import DECIMAL_DIGITS_MAX, ExpressionError, from_zen, to_zen
from schemas.billing.orders import Finding
from schemas.billing.readings import Consumption, RegisterConsumption
from schemas.billing.settlement import Settlement

RULES = Path(__file__).resolve().parents[3] / "rules"
_FIFTEEN = Context(prec=DECIMAL_DIGITS_MAX, rounding=ROUND_HALF_UP)


def pre(**facts: Any) -> dict[str, Any]:
    """Pre-check facts of a plain period (as ``pre_check_facts`` shapes them), with ``facts`` changed."""
    base: dict[str, Any] = {
        "reading_missing": False, "missing": "", "days_after_period": 5, "implausible_consumption": False,
        "supplied": True, "not_supplied": False, "price_missing": False, "consumption_kwh": Decimal("1500"),
        "daily_kwh": Decimal("8.29"), "history_daily_kwh": None, "texts": {},
    }
    return _texts({**base, **facts}, "daily_kwh", "history_daily_kwh")


def post(**facts: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "total": Decimal("9876.54"), "days": 365, "history_total": Decimal("8000.00"), "history_days": 365,
        "history_factor": Decimal(3),
        "consumption_kwh": Decimal("1500"), "negative_total": False, "far_above_history": False,
        "zero_consumption": False, "texts": {},
    }
    return _texts({**base, **facts}, "total", "history_total")


def quote_of_total(total: Decimal) -> Settlement:
    return Settlement(lines=[], vat=[], total_base=total, total_vat=Decimal("0.00"), total=total,
                      advances_paid=Decimal("0.00"), balance=total)


def register_used(kwh: Decimal, *, days: int) -> RegisterConsumption:
    """A complete register (no state missing) of ``kwh`` over ``days``."""
    return RegisterConsumption(register="vt", consumption=kwh, unit="kWh", days=days)


def consumption_of_kwh(kwh: Decimal, *, days: int) -> Consumption:
    start = dt.date(2026, 1, 1)
    end = start + dt.timedelta(days=days - 1)
    return Consumption(opm="859182400123456789", period_from=start, period_to=end,
                       registers=(register_used(kwh, days=days),))


def _texts(facts: dict[str, Any], *names: str) -> dict[str, Any]:
    """The ``*_text`` facts of ``names`` as ``bill_checks`` derives them, unless given."""
    return {**{f"{name}_text": cents_text(facts.get(name)) for name in names}, **facts}


@pytest.fixture(scope="module")
def checks() -> Checks:
    return Checks(RULES)


def codes(findings: tuple[Finding, ...]) -> list[str]:
    return [finding.code for finding in findings]


def test_a_plain_period_and_bill_find_nothing(checks: Checks) -> None:
    verdict = checks.precheck(pre())
    assert (verdict.outsort, verdict.wait) == ((), ())
    assert checks.postcheck(post()) == ()


@pytest.mark.parametrize(("days", "waits"), [(0, True), (19, True), (20, False), (400, False)])
def test_a_missing_reading_waits_20_days_then_outsorts(checks: Checks, days: int, waits: bool) -> None:
    facts = pre(reading_missing=True, missing="vt at 2026-06-30", days_after_period=days,
                consumption_kwh=None, daily_kwh=None)

    verdict = checks.precheck(facts)

    [found] = verdict.wait if waits else verdict.outsort
    assert found.code == "READING_MISSING" and "vt at 2026-06-30" in found.text
    assert (verdict.outsort if waits else verdict.wait) == ()


def test_negative_consumption_is_implausible(checks: Checks) -> None:
    [found] = checks.precheck(pre(consumption_kwh=Decimal("-120"), daily_kwh=Decimal("-0.66"))).outsort
    assert found.code == "IMPLAUSIBLE_CONSUMPTION" and "-120" in found.text


@pytest.mark.parametrize(("daily", "flagged"), [("30.01", True), ("30", False), ("5", False)])
def test_a_jump_above_3_times_the_year_before_is_implausible(
    checks: Checks, daily: str, flagged: bool
) -> None:
    facts = pre(daily_kwh=Decimal(daily), history_daily_kwh=Decimal("10"))
    assert codes(checks.precheck(facts).outsort) == (["IMPLAUSIBLE_CONSUMPTION"] if flagged else [])


def test_without_history_there_is_no_jump(checks: Checks) -> None:
    assert checks.precheck(pre(daily_kwh=Decimal("1000"), history_daily_kwh=None)).outsort == ()


def test_not_supplied_and_missing_price_name_the_facts_texts(checks: Checks) -> None:
    facts = pre(supplied=False, not_supplied=True, price_missing=True, texts={
        "NOT_SUPPLIED": "the contract ended on 2026-03-31",
        "PRICE_MISSING": "no product E-XYZ in sample-2026",
    })

    verdict = checks.precheck(facts)

    assert [(f.code, f.text) for f in verdict.outsort] == [
        ("NOT_SUPPLIED", "We did not supply the OPM over the whole period: the contract ended on 2026-03-31"),
        ("PRICE_MISSING", "No price for the period: no product E-XYZ in sample-2026"),
    ]


def test_every_pre_check_at_once_in_table_order(checks: Checks) -> None:
    facts = pre(reading_missing=True, missing="nt", days_after_period=30, consumption_kwh=Decimal("-1"),
                supplied=False, price_missing=True, texts={"NOT_SUPPLIED": "x", "PRICE_MISSING": "y"})
    assert codes(checks.precheck(facts).outsort) == [
        "READING_MISSING", "IMPLAUSIBLE_CONSUMPTION", "NOT_SUPPLIED", "PRICE_MISSING",
    ]


def test_a_negative_total_is_outsorted(checks: Checks) -> None:
    [found] = checks.postcheck(post(total=Decimal("-10.50"), history_total=None))
    assert found.code == "NEGATIVE_TOTAL" and "(-10.50 CZK)" in found.text


@pytest.mark.parametrize(("total", "flagged"), [("24000.01", True), ("24000.00", False)])
def test_more_than_3_times_the_previous_total_is_far_above_history(
    checks: Checks, total: str, flagged: bool
) -> None:
    found = checks.postcheck(post(total=Decimal(total), history_total=Decimal("8000.00")))
    assert codes(found) == (["FAR_ABOVE_HISTORY"] if flagged else [])


@pytest.mark.parametrize(("days", "total", "history_days", "history_total", "flagged"), [
    (365, "12000.00", 31, "1000.00", False),  # a month first, then a year: the same per day
    (31, "300.00", 365, "1000.00", True),  # 9.68 CZK a day against 3 × 2.74
    (31, "254.80", 365, "1000.00", True),  # the bound: 3 × 1000.00 × 31 / 365 = 254.7945…
    (31, "254.79", 365, "1000.00", False),
])
def test_the_history_is_weighed_per_day_of_each_period(
    checks: Checks, days: int, total: str, history_days: int, history_total: str, flagged: bool
) -> None:
    found = checks.postcheck(post(
        total=Decimal(total), days=days, history_total=Decimal(history_total), history_days=history_days,
    ))
    assert codes(found) == (["FAR_ABOVE_HISTORY"] if flagged else [])
    if flagged:
        assert f"over {days} days" in found[0].text and f"over {history_days} days" in found[0].text


def test_the_texts_print_amounts_as_a_bill_does(checks: Checks) -> None:
    """Zen's ``string()`` writes -10.5 for -10.50 CZK and 15 digits of a quotient: the tables print the
    facts' ``*_text`` instead, made by ``bill_checks`` from the facts it computes."""
    settlement = quote_of_total(Decimal("-10.50"))
    facts = post_check_facts(settlement, consumption=Decimal(0), unit="kWh", days=30,
                             previous=History(Decimal("1200.00"), 365))
    assert (facts["total_text"], facts["history_total_text"]) == ("-10.50", "1200.00")
    [negative, zero] = checks.postcheck(facts)
    assert negative.text == ("The bill's total is negative (-10.50 CZK): a settlement never pays the "
                             "customer for consumption; check the readings and corrections")
    assert zero.code == "ZERO_CONSUMPTION"
    far = post_check_facts(quote_of_total(Decimal("3000.00")), consumption=Decimal(100), unit="kWh",
                           days=30, previous=History(Decimal("1200.00"), 365))
    [found] = checks.postcheck(far)
    assert found.text == ("The total of 3000.00 CZK over 30 days is, per day, more than 3 times the previous "
                          "settlement's 1200.00 CZK over 365 days: check before it goes out")
    jump = pre_check_facts(consumption_of_kwh(Decimal(1500), days=181), today=dt.date(2026, 8, 1),
                           supplied=True, supply_text="", price_problems=(),
                           history=(register_used(Decimal(365), days=365),))
    assert (jump["daily_kwh_text"], jump["history_daily_kwh_text"]) == ("8.29", "1.00")
    [found] = checks.precheck(jump).outsort
    assert found.text == ("Consumption of 8.29 kWh a day is more than 3 times the year before (1.00 kWh a "
                          "day): check the readings")


def test_without_a_previous_bill_no_total_is_far_above_history(checks: Checks) -> None:
    assert checks.postcheck(post(total=Decimal("99999.99"), history_total=None, history_days=None)) == ()


def test_zero_consumption_is_outsorted(checks: Checks) -> None:
    [found] = checks.postcheck(post(consumption_kwh=Decimal(0)))
    assert found.code == "ZERO_CONSUMPTION"


def test_released_codes_are_left_out(checks: Checks) -> None:
    facts = post(total=Decimal("-1"), consumption_kwh=Decimal(0))
    assert codes(checks.postcheck(facts, released={"NEGATIVE_TOTAL"})) == ["ZERO_CONSUMPTION"]
    waiting = pre(reading_missing=True, missing="vt", days_after_period=1)
    assert checks.precheck(waiting, released={"READING_MISSING"}).wait == ()


@pytest.mark.parametrize(("name", "facts"), [
    (PRECHECK_TABLE, pre(reading_missing=True, missing="vt", days_after_period=3, supplied=False,
                         daily_kwh=Decimal("50"), history_daily_kwh=Decimal("2"),
                         texts={"NOT_SUPPLIED": "x"})),
    (POSTCHECK_TABLE, post(total=Decimal("-5"), consumption_kwh=Decimal(0))),
])
def test_zen_evaluates_the_tables_as_the_compiled_path_does(
    checks: Checks, name: str, facts: dict[str, Any]
) -> None:
    text = (RULES / "decisions" / f"{name}.json").read_text(encoding="utf-8")
    by_zen = from_zen(zen.ZenEngine().create_decision(text).evaluate(to_zen(facts))["result"])
    assert by_zen == checks.table(name).rows(facts)
    assert json.loads(text)["nodes"][1]["content"]["hitPolicy"] == "collect"


def test_the_decision_waits_only_when_every_finding_is_one_to_wait_for(checks: Checks) -> None:
    decision = TableDecision(checks)
    waiting = pre(reading_missing=True, missing="vt", days_after_period=3)

    found = decision("pre", waiting, frozenset())

    assert codes(found) == ["READING_MISSING"] and decision.only_waiting(found)
    also = (*found, Finding(code="PRICE_MISSING", text="added by bill_contract"))
    assert not decision.only_waiting(also)
    found = decision("pre", {**waiting, "supplied": False, "texts": {"NOT_SUPPLIED": "x"}}, frozenset())
    assert codes(found) == ["NOT_SUPPLIED", "READING_MISSING"] and not decision.only_waiting(found)
    assert codes(decision("post", post(total=Decimal("-1")), frozenset())) == ["NEGATIVE_TOTAL"]


def test_a_changed_table_is_read_again(tmp_path: Path) -> None:
    decisions = tmp_path / "decisions"
    decisions.mkdir()
    source = (RULES / "decisions" / f"{POSTCHECK_TABLE}.json").read_text(encoding="utf-8")
    target = decisions / f"{POSTCHECK_TABLE}.json"
    target.write_text(source, encoding="utf-8")
    now = [100.0]
    checks = Checks(tmp_path, monotonic=lambda: now[0])
    assert checks.postcheck(post(total=Decimal("20000"))) == ()

    target.write_text(source.replace("3 * history_total", "2 * history_total"), encoding="utf-8")
    os.utime(target, ns=(1, 1))
    now[0] += TABLE_RECHECK_S / 2
    assert checks.postcheck(post(total=Decimal("20000"))) == ()  # not looked at again yet
    now[0] += TABLE_RECHECK_S / 2

    assert codes(checks.postcheck(post(total=Decimal("20000")))) == ["FAR_ABOVE_HISTORY"]


def test_a_quotient_with_many_digits_is_compared_all_the_same(checks: Checks) -> None:
    # 1500 kWh over 181 days: 28 significant digits, more than zen takes exactly.
    daily = Decimal(1500) / Decimal(181)
    assert codes(checks.precheck(pre(daily_kwh=daily, history_daily_kwh=Decimal("2.7"))).outsort) == [
        "IMPLAUSIBLE_CONSUMPTION"
    ]
    assert checks.precheck(pre(daily_kwh=daily, history_daily_kwh=Decimal("2.8"))).outsort == ()


_FACT_VALUES = st.one_of(
    st.none(), st.booleans(), st.text(max_size=5), st.integers(-10**6, 10**6),
    st.decimals(allow_nan=False, allow_infinity=False).filter(lambda d: abs(d) < Decimal("1e20")),
    st.builds(lambda a, b: Decimal(a) / Decimal(b), st.integers(-10**9, 10**9), st.integers(1, 10**4)),
    st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2),
)


@given(st.dictionaries(st.text(min_size=1, max_size=8), _FACT_VALUES, max_size=8))
def test_facts_reach_zen_as_cut_and_converted(facts: dict[str, Any]) -> None:
    """One pass gives what cutting each Decimal to 15 digits and then ``to_zen`` gave."""
    cut = {name: _FIFTEEN.plus(v) if isinstance(v, Decimal) else v for name, v in facts.items()}
    assert zen_facts(facts) == to_zen(cut)


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity")])
def test_a_fact_that_is_no_number_is_refused_naming_it(value: Decimal) -> None:
    with pytest.raises(ExpressionError, match=str(value)):
        zen_facts({"total": value})
