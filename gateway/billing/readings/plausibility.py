"""Plausibility of a period's consumption, as values: a list of ``Finding`` with codes, never an exception.

* ``negative_consumption``: a register went down (and was no roll-over, see ``compute.difference``);
* ``consumption_jump``: consumption per day above ``JUMP_FACTOR`` × the average per day of the year before
  the period (only when that year's consumption is known and above zero);
* ``reading_outside_period``: a state used lies outside the period (the nearest reading was taken before its
  start or after its end): the consumption covers other days than the period's;
* ``zero_consumption``: nothing consumed (a vacant flat, or a meter that stopped);
* ``missing_reading``: no state near a boundary (billing cannot go on without a reading or an estimate).

Each finding names the OPM, the register, the meter where one is concerned, and the values that raised it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Final

from gateway.billing.readings.compute import inside
from schemas.billing.readings import Finding, RegisterConsumption
from schemas.readings import Register

#: Consumption per day this many times the previous year's average is a jump (issue #6: "consumption per
#: day > N × the average of the previous year"). [I] 3: a cold winter doubles a heated household's use.
JUMP_FACTOR: Final = Decimal(3)
#: Digits of a consumption per day shown in a finding.
PER_DAY_QUANTUM: Final = Decimal("0.001")

assert JUMP_FACTOR > 1


def findings(
    opm: str, period_from: dt.date, period_to: dt.date, registers: tuple[RegisterConsumption, ...],
    previous_year: Mapping[Register, RegisterConsumption],
) -> tuple[Finding, ...]:
    """The findings for ``registers`` (this period) against ``previous_year`` (by register)."""
    found: list[Finding] = []
    for used in registers:
        found.extend(register_findings(opm, period_from, period_to, used, previous_year.get(used.register)))
    return tuple(found)


def register_findings(
    opm: str, period_from: dt.date, period_to: dt.date, used: RegisterConsumption,
    history: RegisterConsumption | None,
) -> list[Finding]:
    register = used.register
    found = [
        Finding(
            code="missing_reading", opm=opm, register=register, meter=missing.meter,
            text=f"no state of meter {missing.meter} {register} near {missing.date}",
            values={"date": missing.date.isoformat()},
        )
        for missing in used.missing
    ]
    for span in used.spans:
        for point in (span.start, span.end):
            if not inside(point.date, period_from, period_to):
                found.append(Finding(
                    code="reading_outside_period", opm=opm, register=register, meter=span.meter,
                    text=f"state {point.state} of {point.date} is outside {period_from} … {period_to}",
                    values={"date": point.date.isoformat(), "state": str(point.state),
                            "reading_id": str(point.reading_id)},
                ))
    if used.missing:
        return found  # a partial consumption says nothing about its size
    values = {"consumption": str(used.consumption), "unit": used.unit, "days": str(used.days)}
    if used.consumption < 0:
        text = f"consumption {used.consumption} {used.unit} is negative (a state went down)"
        found.append(
            Finding(code="negative_consumption", opm=opm, register=register, text=text, values=values)
        )
    elif used.consumption == 0:
        text = f"no consumption over {used.days} days"
        found.append(Finding(code="zero_consumption", opm=opm, register=register, text=text, values=values))
    jump = _jump(opm, used, history)
    if jump is not None:
        found.append(jump)
    return found


def per_day(used: RegisterConsumption) -> Decimal | None:
    if used.days <= 0 or used.missing:
        return None
    return used.consumption / used.days


def _jump(opm: str, used: RegisterConsumption, history: RegisterConsumption | None) -> Finding | None:
    now, before = per_day(used), None if history is None else per_day(history)
    if now is None or before is None or before <= 0 or now <= JUMP_FACTOR * before:
        return None
    shown_now, shown_before = now.quantize(PER_DAY_QUANTUM), before.quantize(PER_DAY_QUANTUM)
    return Finding(
        code="consumption_jump", opm=opm, register=used.register,
        text=(
            f"{shown_now} {used.unit}/day is more than {JUMP_FACTOR} × the previous year's "
            f"{shown_before} {used.unit}/day"
        ),
        values={
            "per_day": str(shown_now), "previous_year_per_day": str(shown_before),
            "factor": str(JUMP_FACTOR), "consumption": str(used.consumption), "days": str(used.days),
        },
    )
