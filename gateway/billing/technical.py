"""The OPM's technical data over a quote's period: ``opm`` from the first day, then each of the optional
``opm_changes`` from its ``valid_from`` (a breaker raised on 1 July, a rate or a gas band changed).

The period is cut at every change, like at a price change, and each component priced with the data it
depends on in each part: distribution by the rate, the breaker fee by the rate and the breaker, POZE's
breaker variant by the breaker, gas distribution and its fixed fee by the band. A change that alters the
register layout (single-rate ↔ two-rate) is refused: the consumption is given per register for the whole
period, and the two parts need their own meter readings, so they are billed separately.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable
from dataclasses import dataclass, replace
from typing import Final

from gateway.billing.prices import PriceList
from gateway.billing.split import bill_separately
from gateway.errors import InvalidField
from schemas.billing.settlement import OpmChange, QuoteRequest

#: Technical changes in one quote at most: one a month over the longest period (``QUOTE_DAYS_MAX``).
OPM_CHANGES_MAX: Final = 36
_ELECTRICITY_FIELDS: Final = ("rate", "breaker_phases", "breaker_amps")
_ONE_DAY: Final = dt.timedelta(days=1)


@dataclass(frozen=True)
class OpmState:
    """The technical data in force from ``start`` to ``end`` (inclusive); ``field`` names where the request
    gave it (``opm`` or ``opm_changes[i]``), so that a refusal names it."""

    start: dt.date
    end: dt.date
    field: str
    rate: str | None
    breaker_phases: int | None
    breaker_amps: int | None
    band: str | None


def opm_states(request: QuoteRequest, price_list: PriceList) -> list[OpmState]:
    """The technical data's parts over the period, oldest first; ``InvalidField`` naming the change."""
    changes = request.opm_changes or []
    if len(changes) > OPM_CHANGES_MAX:
        raise InvalidField("opm_changes", len(changes), f"at most {OPM_CHANGES_MAX} changes")
    opm = request.opm
    states = [OpmState(request.period_from, request.period_to, "opm", opm.rate, opm.breaker_phases,
                       opm.breaker_amps, opm.band)]
    for index, change in enumerate(changes):
        field = f"opm_changes[{index}]"
        _check_change(request, change, field, states[-1].start)
        previous = replace(states[-1], end=change.valid_from - _ONE_DAY)
        states[-1:] = [previous, OpmState(
            change.valid_from, request.period_to, field,
            change.rate or previous.rate,
            change.breaker_phases or previous.breaker_phases,
            change.breaker_amps or previous.breaker_amps,
            change.band or previous.band,
        )]
    for state in states[1:]:
        _check_known(request, state, states[0], price_list)
    return states


def _check_change(request: QuoteRequest, change: OpmChange, field: str, previous: dt.date) -> None:
    day = change.valid_from
    if not request.period_from < day <= request.period_to:
        reason = (f"must be inside the period, after its first day ({request.period_from} … "
                  f"{request.period_to}): the data of the first day is opm")
        raise InvalidField(f"{field}.valid_from", str(day), reason)
    if day <= previous:
        raise InvalidField(f"{field}.valid_from", str(day), f"must be after the previous change's {previous}")
    given = [name for name in (*_ELECTRICITY_FIELDS, "band") if getattr(change, name) is not None]
    if not given:
        reason = "changes nothing: give rate, breaker_phases, breaker_amps or band"
        raise InvalidField(field, str(day), reason)
    if request.commodity == "electricity" and change.band is not None:
        raise InvalidField(f"{field}.band", change.band, "is for gas; electricity has rate and breaker")
    if request.commodity == "gas":
        for name in _ELECTRICITY_FIELDS:
            if getattr(change, name) is not None:
                value = getattr(change, name)
                raise InvalidField(f"{field}.{name}", value, "is for electricity; gas has band")


def _check_known(request: QuoteRequest, state: OpmState, first: OpmState, price_list: PriceList) -> None:
    """The changed rate or band is in the list, and a rate keeps the register layout of the first."""
    dso = request.opm.dso
    if request.commodity == "gas":
        bands = price_list.bands[dso]
        if state.band not in bands:
            reason = f"is not a band of {dso} ({', '.join(bands)})"
            raise InvalidField(f"{state.field}.band", state.band, reason)
        return
    rates = price_list.rates[dso]
    rate = rates.get(state.rate or "")
    if rate is None:
        raise InvalidField(f"{state.field}.rate", state.rate, f"is not a rate of {dso} ({', '.join(rates)})")
    before = rates[first.rate or ""]
    if rate.registers != before.registers:
        reason = (
            f"changes the register layout ({before.code} is {before.registers}, {rate.code} is "
            f"{rate.registers}): the two parts need their own meter readings; "
            f"{bill_separately(request.period_from, state.start, request.period_to)}"
        )
        raise InvalidField(f"{state.field}.rate", state.rate, reason)


def grouped(states: list[OpmState], key: Callable[[OpmState], Hashable]) -> list[OpmState]:
    """Consecutive states with the same ``key`` merged: a component is cut only where its own data
    changes (a breaker change does not split the distribution's lines)."""
    merged = [states[0]]
    for state in states[1:]:
        if key(state) == key(merged[-1]):
            merged[-1] = replace(merged[-1], end=state.end)
        else:
            merged.append(state)
    return merged


def rate_key(state: OpmState) -> Hashable:
    return state.rate


def breaker_key(state: OpmState) -> Hashable:
    return (state.rate, state.breaker_phases, state.breaker_amps)


def poze_key(state: OpmState) -> Hashable:
    return (state.breaker_phases, state.breaker_amps)


def band_key(state: OpmState) -> Hashable:
    return state.band
