"""A quote's rating plan: everything about a settlement that does not depend on the consumption.

Two quotes with the same commodity, period, OPM data (and changes), product, tax exemption and price list
have the same pieces, the same weights, the same components, price versions and VAT parts, and the same
months of every monthly fee; only the MWh differ. The plan holds all of that, computed once, as *line
templates*: one per line ``rating.lines`` / the POZE rule could give, each with the contiguous range of
pieces it adds up. Rating a consumption then shares each register's total over the pieces by cumulative
rounding (``split.cumulative_kwh``) and reads a template's MWh as the difference of two running sums, which
is exactly the sum of its pieces' rounded shares (``split.allocate``'s quantities add up that way).

A mass run bills many contracts of one rate, breaker, product and period: ``plan_for`` keeps the plans of a
price list on the list object itself (a reloaded list starts empty), at most ``PLANS_PER_LIST_MAX``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from gateway.billing.consumption import GasMonths
from gateway.billing.rating import UNIT_BY_SOURCE, Component, Priced, Source, line, vat_parts
from gateway.billing.settlement import settle
from gateway.billing.split import MWH_STEP, Piece, cumulative_kwh, months
from schemas.billing.settlement import Settlement, SettlementLine

#: Plans kept per price list: every (rate, breaker or band, product, period) of a book fits many times over.
PLANS_PER_LIST_MAX: Final = 4_096
_ZERO_MONTHS: Final = Decimal(0)


@dataclass(frozen=True, slots=True)
class LineTemplate:
    """A component's line for one price version and VAT rate: pieces ``first`` … ``last`` (inclusive).
    ``fixed``: the months of a monthly fee (the same for every consumption); None for MWh."""

    code: str
    text: str
    source: Source
    first: int
    last: int
    start: dt.date
    end: dt.date
    unit: str
    unit_price: Decimal
    vat_rate: Decimal
    fixed: Decimal | None
    #: A monthly fee's line, made once: it is the same for every consumption (a frozen struct, shared).
    fixed_line: SettlementLine | None = None


@dataclass(frozen=True, slots=True)
class PozeTemplate:
    """POZE in one price version, breaker and VAT rate: the cheaper of per MWh and per month."""

    first: int
    last: int
    start: dt.date
    end: dt.date
    months: Decimal
    per_mwh: Decimal
    per_month: Decimal
    vat_rate: Decimal


@dataclass(frozen=True, slots=True)
class RatingPlan:
    registers: tuple[str, ...]
    gas_months: GasMonths
    period: tuple[dt.date, dt.date]
    shares: tuple[int, ...]
    templates: tuple[LineTemplate, ...]
    poze: tuple[PozeTemplate, ...]
    round_to_whole_czk: bool

    def rate(self, totals: dict[str, Decimal], advances_paid: Decimal) -> Settlement:
        """The settlement of ``totals`` (MWh to whole kWh per register of the plan)."""
        running = {register: cumulative_kwh(total, self.shares) for register, total in totals.items()}
        found: list[SettlementLine] = []
        for template in self.templates:
            if template.fixed_line is not None:
                found.append(template.fixed_line)
                continue
            quantity = _mwh(running, template.source, template.first, template.last)
            if quantity == 0:
                continue
            found.append(line(template.code, template.text, template.start, template.end, quantity,
                              template.unit, template.unit_price, template.vat_rate))
        for poze in self.poze:
            found.extend(_poze_line(poze, _mwh(running, "all", poze.first, poze.last)))
        return settle(found, period=self.period, round_to_whole_czk=self.round_to_whole_czk,
                      advances_paid=advances_paid)


assert Decimal(1234).scaleb(-3).as_tuple().exponent == MWH_STEP.as_tuple().exponent, "_mwh's exponent"


def _mwh(running: dict[str, list[int]], source: str, first: int, last: int) -> Decimal:
    """MWh of ``source`` (a register, or ``all``) over pieces ``first`` … ``last``: whole kWh."""
    if source == "all":
        kwh = sum(values[last + 1] - values[first] for values in running.values())
    else:
        values = running[source]
        kwh = values[last + 1] - values[first]
    # Whole kWh as MWh: exponent −3, MWH_STEP's, exactly (a quantize to it changed nothing).
    return Decimal(kwh).scaleb(-3)


def _poze_line(poze: PozeTemplate, mwh: Decimal) -> list[SettlementLine]:
    """The lower variant (before rounding; a tie: per MWh); no line for a zero MWh variant."""
    if mwh * poze.per_mwh <= poze.months * poze.per_month:
        if not mwh:
            return []
        return [line("POZE", "Podpora POZE (za MWh, nižší varianta)", poze.start, poze.end, mwh, "MWh",
                     poze.per_mwh, poze.vat_rate)]
    return [line("POZE", "Podpora POZE (za jistič, nižší varianta)", poze.start, poze.end, poze.months,
                 "month", poze.per_month, poze.vat_rate)]


def _inside(pieces: Sequence[Piece], start: dt.date, end: dt.date) -> tuple[int, int] | None:
    """The first and last piece lying within ``start`` … ``end`` (the period is cut at every bound, so none
    straddles and those within are contiguous); None for none."""
    inside = [i for i, piece in enumerate(pieces) if start <= piece.start and piece.end <= end]
    if not inside:
        return None
    assert inside == list(range(inside[0], inside[-1] + 1))
    return inside[0], inside[-1]


def _months(pieces: Sequence[Piece], first: int, last: int) -> Decimal:
    return sum((months(piece) for piece in pieces[first:last + 1]), _ZERO_MONTHS)


def templates_of(
    components: Sequence[Component], pieces: Sequence[Piece], vat: Sequence[Priced]
) -> list[LineTemplate]:
    """Per component, price version and VAT rate with pieces in it, a template (a monthly fee of zero
    months gives none, as ``lines`` gave no line of a zero quantity)."""
    found = []
    for component in components:
        unit = UNIT_BY_SOURCE.get(component.source, "MWh")
        for version in component.versions:
            for start, end, vat_rate in vat_parts(version, vat):
                bounds = _inside(pieces, start, end)
                if bounds is None:
                    continue
                fixed = _months(pieces, *bounds) if component.source == "months" else None
                if fixed is not None and fixed == 0:
                    continue
                start, end = pieces[bounds[0]].start, pieces[bounds[1]].end
                fixed_line = None if fixed is None else line(
                    component.code, component.text, start, end, fixed, unit, version.unit_price, vat_rate)
                found.append(LineTemplate(
                    component.code, component.text, component.source, *bounds, start, end, unit,
                    version.unit_price, vat_rate, fixed, fixed_line,
                ))
    return found


def poze_templates(
    per_mwh: Sequence[Priced], per_month: Sequence[Priced], pieces: Sequence[Piece], vat: Sequence[Priced]
) -> list[PozeTemplate]:
    found = []
    for mwh_price, month_price in zip(per_mwh, per_month, strict=True):
        for start, end, vat_rate in vat_parts(mwh_price, vat):
            bounds = _inside(pieces, start, end)
            if bounds is not None:
                found.append(PozeTemplate(
                    *bounds, pieces[bounds[0]].start, pieces[bounds[1]].end, _months(pieces, *bounds),
                    mwh_price.unit_price, month_price.unit_price, vat_rate,
                ))
    return found


def remember(plans: dict[Hashable, RatingPlan], key: Hashable, plan: RatingPlan) -> RatingPlan:
    """``plan`` kept under ``key``; a full cache starts over (plans are cheap to make again)."""
    if len(plans) >= PLANS_PER_LIST_MAX:
        plans.clear()
    plans[key] = plan
    return plan
