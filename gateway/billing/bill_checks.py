"""The billing checks (issue #6, "Controlling"): their *facts*, computed here, and the *decision*, kept apart.

``pre_check_facts`` and ``post_check_facts`` return plain dicts of JSON values (booleans, decimal strings,
texts) so that the decision tables (``rules/decisions/billing_precheck.json`` and ``billing_postcheck.json``,
evaluated by the billing worker) can be evaluated on them;
``decide`` is the default decision in Python: each fact flag that is true gives its finding code, unless a
clerk released that code for the order. A caller that evaluates a table instead passes its codes to
``findings_of``.

Facts (pre): flags ``reading_missing``, ``implausible_consumption``, ``supplied``/``not_supplied``,
``price_missing``; values ``missing`` (text), ``days_after_period``, ``consumption_kwh``, ``daily_kwh``,
``history_daily_kwh``. Facts (post): flags ``negative_total``, ``far_above_history``, ``zero_consumption``;
values ``total``, ``days``, ``history_total``, ``history_days``, ``history_factor``, ``consumption_kwh``.
Numbers are Decimals or ints (None when unknown); each flag's text for the clerk is under ``texts`` by its
code. The amounts a table's text prints are also given as ``*_text`` strings to 0.01 (``total_text``,
``history_total_text``, ``daily_kwh_text``, ``history_daily_kwh_text``): zen's ``string()`` writes a number
as the float it is (``-10.5`` for -10.50 CZK, 15 digits for a quotient), not as a bill prints it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final

from schemas.billing.orders import CheckStage, Finding
from schemas.billing.readings import Consumption, RegisterConsumption
from schemas.billing.readings import Finding as ReadingFinding
from schemas.billing.settlement import Settlement

READING_MISSING: Final = "READING_MISSING"
IMPLAUSIBLE_CONSUMPTION: Final = "IMPLAUSIBLE_CONSUMPTION"
NOT_SUPPLIED: Final = "NOT_SUPPLIED"
PRICE_MISSING: Final = "PRICE_MISSING"
NEGATIVE_TOTAL: Final = "NEGATIVE_TOTAL"
FAR_ABOVE_HISTORY: Final = "FAR_ABOVE_HISTORY"
ZERO_CONSUMPTION: Final = "ZERO_CONSUMPTION"

#: The fact flag of each check, by stage: ``decide`` outsorts for each flag that is true.
PRE_CHECKS: Final[dict[str, str]] = {
    "reading_missing": READING_MISSING,
    "implausible_consumption": IMPLAUSIBLE_CONSUMPTION,
    "not_supplied": NOT_SUPPLIED,
    "price_missing": PRICE_MISSING,
}
POST_CHECKS: Final[dict[str, str]] = {
    "negative_total": NEGATIVE_TOTAL,
    "far_above_history": FAR_ABOVE_HISTORY,
    "zero_consumption": ZERO_CONSUMPTION,
}
#: Without consumption or prices there is nothing to bill: ``bill_contract`` outsorts for these whatever the
#: decision says (a release cannot make a reading or a price appear).
BLOCKING_CODES: Final = frozenset({READING_MISSING, PRICE_MISSING})
#: A bill above this many times the account's previous settlement total, per day of each period, is outsorted
#: (FAR_ABOVE_HISTORY).
#: [I] 3, like the readings' jump factor: a cold winter doubles a heated household's bill, not triples it.
HISTORY_FACTOR: Final = Decimal(3)
#: Plausibility findings of the reading store that make the consumption implausible. ``zero_consumption``
#: is the post-check's own; ``reading_outside_period`` is normal (a periodic reading ± some weeks).
IMPLAUSIBLE_FINDINGS: Final = frozenset({"negative_consumption", "consumption_jump"})

_CENT: Final = Decimal("0.01")

assert HISTORY_FACTOR > 1


def pre_check_facts(
    consumption: Consumption | None, *, today: dt.date, supplied: bool, supply_text: str,
    price_problems: Iterable[str], history: Sequence[RegisterConsumption] = (),
) -> dict[str, Any]:
    """The facts before pricing: the consumption and its findings, our supply over the period, the prices.

    Numbers are Decimals (``to_zen`` gives a table numbers); ``*_kwh`` sum the registers in their unit
    (kWh; m³ for gas, whose kWh depend on the calorific value). ``history``: each register over the year
    before the period; ``history_daily_kwh`` is known when all of them are complete."""
    texts: dict[str, str] = {}
    findings = consumption.findings if consumption is not None else ()
    missing = _missing_states([finding for finding in findings if finding.code == "missing_reading"])
    if consumption is None:
        missing.append("no consumption could be read for the period")
    elif not consumption.registers:
        missing.append(f"no meter counts at OPM {consumption.opm} in the period")
    if missing:
        texts[READING_MISSING] = "; ".join(missing)
    implausible = [finding.text for finding in findings if finding.code in IMPLAUSIBLE_FINDINGS]
    if implausible:
        texts[IMPLAUSIBLE_CONSUMPTION] = "; ".join(implausible)
    if not supplied:
        texts[NOT_SUPPLIED] = supply_text
    problems = list(price_problems)
    if problems:
        texts[PRICE_MISSING] = "; ".join(problems)
    used = None if consumption is None or missing else total_consumption(consumption)
    days = None if consumption is None else (consumption.period_to - consumption.period_from).days + 1
    daily = None if used is None or not days else used / days
    history_daily = _history_daily(history, findings)
    return {
        "reading_missing": bool(missing), "missing": "; ".join(missing),
        "days_after_period": None if consumption is None else (today - consumption.period_to).days,
        "implausible_consumption": bool(implausible), "supplied": supplied, "not_supplied": not supplied,
        "price_missing": bool(problems), "consumption_kwh": used,
        "daily_kwh": daily, "history_daily_kwh": history_daily, "daily_kwh_text": cents_text(daily),
        "history_daily_kwh_text": cents_text(history_daily), "texts": texts,
    }


def _missing_states(findings: Sequence[ReadingFinding]) -> list[str]:
    """The states a bill lacks, one phrase per meter and register in the order found ("meter E1 vt on
    2025-12-31 and 2026-06-30"): the decision tables put them after "No meter reading for"."""
    dates: dict[tuple[str | None, str], list[str]] = {}
    for finding in findings:
        dates.setdefault((finding.meter, finding.register), []).append(finding.values["date"])
    return [
        f"meter {meter or '(unknown)'} {register} on {' and '.join(days)}"
        for (meter, register), days in dates.items()
    ]


def total_consumption(consumption: Consumption) -> Decimal:
    """All registers together, in the registers' unit."""
    return sum((register.consumption for register in consumption.registers), Decimal(0))


def _history_daily(
    history: Sequence[RegisterConsumption], findings: Iterable[ReadingFinding]
) -> Decimal | None:
    """The year before's consumption per day: from ``history`` when every register is complete, else where
    the store judged a jump against it."""
    if history and all(used.complete and used.days > 0 for used in history):
        return sum((used.consumption for used in history), Decimal(0)) / max(used.days for used in history)
    days = [Decimal(f.values["previous_year_per_day"]) for f in findings if f.code == "consumption_jump"]
    return sum(days, Decimal(0)) if days else None


class History:
    """The account's previous issued settlement, as the post-check weighs a bill against it."""

    # A plain class, not a dataclass: ``bill_inputs.BillInputs`` says why.
    def __init__(self, total: Decimal, days: int) -> None:
        assert days > 0, days
        self.total: Final = total
        #: The days its period covered (both ends counted).
        self.days: Final = days

    @staticmethod
    def over(total: Decimal, period_from: dt.date, period_to: dt.date) -> History:
        """The settlement of ``total`` for the period from ``period_from`` to ``period_to`` (both counted)."""
        return History(total, (period_to - period_from).days + 1)


def post_check_facts(
    settlement: Settlement, *, consumption: Decimal, unit: str, days: int, previous: History | None,
) -> dict[str, Any]:
    """The facts after pricing: the bill's total against zero and, per day of each period, against the
    account's previous settlement (a short first period would make a full year look far above it)."""
    assert days > 0, days
    texts: dict[str, str] = {}
    total = settlement.total
    if total < 0:
        texts[NEGATIVE_TOTAL] = f"the total {total} CZK is negative"
    # total / days > factor × previous / previous days, without the division's rounding.
    far = previous is not None and previous.total > 0 and (
        total * previous.days > HISTORY_FACTOR * previous.total * days
    )
    if far:
        assert previous is not None
        texts[FAR_ABOVE_HISTORY] = (
            f"the total {total} CZK over {days} days ({_per_day(total, days)} CZK a day) is more than "
            f"{HISTORY_FACTOR} × the previous settlement's {previous.total} CZK over {previous.days} days "
            f"({_per_day(previous.total, previous.days)} CZK a day)"
        )
    if consumption == 0:
        texts[ZERO_CONSUMPTION] = f"no consumption in the period (0 {unit})"
    history_total = None if previous is None else previous.total
    return {
        "total": total, "days": days, "history_total": history_total,
        "total_text": cents_text(total), "history_total_text": cents_text(history_total),
        "history_days": None if previous is None else previous.days, "history_factor": HISTORY_FACTOR,
        "consumption_kwh": consumption, "negative_total": total < 0, "far_above_history": far,
        "zero_consumption": consumption == 0, "texts": texts,
    }


def cents_text(value: Decimal | None) -> str | None:
    """``value`` as a text to 0.01, half-up, as a bill prints it (``-10.50``); None stays None."""
    return None if value is None else str(value.quantize(_CENT, ROUND_HALF_UP))


def _per_day(total: Decimal, days: int) -> Decimal:
    return (total / days).quantize(_CENT, ROUND_HALF_UP)


#: A decision: the findings of a stage's facts, leaving out codes released (``decide`` by default; the
#: billing worker may pass one that evaluates ``rules/decisions/``).
CheckDecision = Callable[[CheckStage, Mapping[str, Any], frozenset[str]], tuple[Finding, ...]]


def decide(stage: CheckStage, facts: Mapping[str, Any], released: frozenset[str]) -> tuple[Finding, ...]:
    """The default decision: a finding for each true flag of ``stage`` whose code is not released."""
    checks = PRE_CHECKS if stage == "pre" else POST_CHECKS
    return findings_of((code for flag, code in checks.items() if facts.get(flag) and code not in released),
                       facts)


def findings_of(codes: Iterable[str], facts: Mapping[str, Any]) -> tuple[Finding, ...]:
    """Each code as a finding with the facts' text for it."""
    texts: Mapping[str, str] = facts.get("texts", {})
    return tuple(Finding(code=code, text=texts.get(code, code)) for code in codes)
