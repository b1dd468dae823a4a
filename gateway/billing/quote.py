"""The price calculator: a ``QuoteRequest`` (schemas/billing/settlement.py) → a ``Settlement``.

``decode_quote`` reads the JSON request and refuses what does not fit the contract, floats included (an
amount or quantity must be a decimal string: a JSON number is not exact in most of the tools that write
it); ``quote`` checks the request against the price list and rates it. Every refusal is an ``InvalidField``
naming the field and its value: HTTP 422, or the CLI's ``error:`` line.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import msgspec

from gateway.billing.components import electricity_components, gas_components, poze, product_components
from gateway.billing.consumption import GasMonths, Registers, checked_decimal, register_totals
from gateway.billing.prices import LIST_ID, PriceList, default_list, load_price_list, spans
from gateway.billing.product_parts import ProductPart, known_product, product_parts
from gateway.billing.rating import Component, Priced
from gateway.billing.rating_plan import RatingPlan, poze_templates, remember, templates_of
from gateway.billing.split import cut, weights
from gateway.billing.technical import OpmState, opm_states
from gateway.errors import InvalidField
from gateway.http.bodies import BODY_SHOWN_CHARS_MAX, invalid_field
from gateway.http.views import BadParameter
from schemas.billing.settlement import QuoteRequest, Settlement

#: Days one quote may span at most: a settlement covers a year or so; three leap years bound it.
QUOTE_DAYS_MAX: Final = 3 * 366
#: Advances paid at most (CZK).
ADVANCES_MAX: Final = Decimal("100000000")
#: Bytes of a quote request at most: readings for a few years of a meter fit easily.
QUOTE_BYTES_MAX: Final = 262_144
#: Fields of the request that hold a decimal: a JSON number there is refused.
_DECIMAL_FIELDS: Final = frozenset({
    "advances_paid", "consumption.vt_mwh", "consumption.nt_mwh", "consumption.mwh", "consumption.kwh",
    "readings[].value", "gas_conversion.conversion_factor", "gas_conversion.calorific_value_kwh_per_m3",
    "gas_conversion.calorific_values[].kwh_per_m3",
})


def decode_quote(body: bytes) -> QuoteRequest:
    """The request in ``body``: BadParameter if it is not JSON, InvalidField if it does not fit."""
    if len(body) > QUOTE_BYTES_MAX:
        raise InvalidField("", len(body), f"the request is over {QUOTE_BYTES_MAX} bytes")
    try:
        raw = msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        shown = body[:BODY_SHOWN_CHARS_MAX].decode("utf-8", errors="replace")
        raise BadParameter("body", shown, f"a JSON document ({exc})") from exc
    _refuse_numbers(raw, "", "")
    try:
        return msgspec.json.decode(body, type=QuoteRequest)
    except msgspec.ValidationError as exc:
        raise invalid_field(str(exc), body) from exc


def _refuse_numbers(value: Any, path: str, shape: str) -> None:
    """A JSON number where a decimal belongs is refused, naming its path (elsewhere msgspec judges it)."""
    if isinstance(value, dict):
        for key, item in value.items():
            _refuse_numbers(item, f"{path}.{key}" if path else key, f"{shape}.{key}" if shape else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _refuse_numbers(item, f"{path}[{index}]", f"{shape}[]")
    elif isinstance(value, int | float) and not isinstance(value, bool) and shape in _DECIMAL_FIELDS:
        raise InvalidField(path, value, 'must be a decimal string such as "2.100", not a JSON number')


def resolve_list(root: Path, name: str | None, *, paths_allowed: bool) -> PriceList:
    """The list ``name`` (an id under ``root``, or with ``paths_allowed`` a directory), else the default."""
    if name is None:
        return load_price_list(default_list(root))
    if LIST_ID.match(name) and (root / name).is_dir():
        return load_price_list(root / name)
    if paths_allowed and Path(name).is_dir():
        return load_price_list(Path(name))
    where = "a price-list id or directory" if paths_allowed else f"a price-list id under {root.name}/"
    raise InvalidField("price_list", name, f"is not {where}")


def quote(
    request: QuoteRequest, root: Path, *, paths_allowed: bool = False, price_list: PriceList | None = None
) -> Settlement:
    """The settlement of ``request`` with the prices of its list (root: the price lists' directory).

    ``price_list``: the request's list, resolved by the caller already (a batch of bills resolves it once:
    resolving lists and stats the list's files to see whether they changed, a tenth of a bill's time)."""
    _check_request(request)
    advances = checked_decimal("advances_paid", request.advances_paid, ADVANCES_MAX, 2)
    if price_list is None:
        price_list = resolve_list(root, request.price_list, paths_allowed=paths_allowed)
    else:
        assert request.price_list in (None, price_list.id), (request.price_list, price_list.id)
    _check_period(request, price_list)
    product = known_product(price_list, request.product, request.commodity, "product")
    key = _plan_key(request)
    plan = price_list.plans.get(key)
    if plan is not None:
        return plan.rate(register_totals(request, _layout(plan.registers), plan.gas_months), advances)
    tdd = getattr(price_list.meta.tdd, request.commodity) if product.split_by_tdd else None
    products = product_parts(request, price_list)
    states, components, registers = _components(request, price_list, products)
    gas_months = GasMonths(tdd, price_list.calorific.get(request.opm.dso, {}), price_list.id)
    totals = register_totals(request, _layout(registers), gas_months)
    variants = poze(states, price_list) if request.commodity == "electricity" else None
    vat_spans = spans(price_list.vat, price_list.meta.valid_to)
    vat = [Priced(span.valid_from, span.valid_to, span.entry.percent) for span in vat_spans]
    changes = {version.valid_from for component in components for version in component.versions}
    # POZE is billed apart (the lower of two variants) but its price changes cut the period like the others;
    # so does a change of the VAT rate: every line bears one rate.
    changes |= {version.valid_from for version in variants.mwh} if variants else set()
    changes |= {rate.valid_from for rate in vat}
    pieces = cut(request.period_from, request.period_to, changes)
    plan = RatingPlan(
        registers=tuple(registers), gas_months=gas_months, period=(request.period_from, request.period_to),
        shares=tuple(weights(pieces, tdd)), templates=tuple(templates_of(components, pieces, vat)),
        poze=tuple(poze_templates(variants.mwh, variants.monthly, pieces, vat) if variants else ()),
        # Rounding to whole CZK is the bill's: the product of its last day says (``product_parts``).
        round_to_whole_czk=products[-1].product.round_to_whole_czk,
    )
    return remember(price_list.plans, key, plan).rate(totals, advances)


def _plan_key(request: QuoteRequest) -> Hashable:
    """What a rating plan depends on: the request but for its consumption (or readings) and advances."""
    return (request.commodity, request.period_from, request.period_to, request.opm, request.product,
            request.gas_tax_exempt, tuple(request.opm_changes or ()), tuple(request.product_changes or ()))


def _layout(registers: Sequence[str]) -> Registers:
    return "vt_nt" if tuple(registers) == ("vt", "nt") else "single"


def _components(
    request: QuoteRequest, price_list: PriceList, products: list[ProductPart],
) -> tuple[list[OpmState], list[Component], list[str]]:
    dso = request.opm.dso
    if request.commodity == "gas":
        bands = price_list.bands.get(dso)
        if bands is None:
            reason = f"is not a gas DSO of {price_list.id} ({', '.join(price_list.bands)})"
            raise InvalidField("opm.dso", dso, reason)
        if request.opm.band not in bands:
            reason = f"is not a band of {dso} ({', '.join(bands)})"
            raise InvalidField("opm.band", request.opm.band, reason)
        states = opm_states(request, price_list)
        supply = product_components(products, ["single"], price_list)
        return states, [*supply, *gas_components(request, states, bands, price_list)], ["single"]
    rates = price_list.rates.get(dso)
    if rates is None:
        reason = f"is not an electricity DSO of {price_list.id} ({', '.join(price_list.rates)})"
        raise InvalidField("opm.dso", dso, reason)
    rate = rates.get(request.opm.rate or "")
    if rate is None:
        raise InvalidField("opm.rate", request.opm.rate, f"is not a rate of {dso} ({', '.join(rates)})")
    states = opm_states(request, price_list)
    registers = ["single"] if rate.registers == "single" else ["vt", "nt"]
    return states, [
        *product_components(products, registers, price_list),
        *electricity_components(states, rates, registers, price_list),
    ], registers


def _check_request(request: QuoteRequest) -> None:
    if request.period_to < request.period_from:
        reason = f"is before period_from {request.period_from}"
        raise InvalidField("period_to", str(request.period_to), reason)
    days = (request.period_to - request.period_from).days + 1
    if days > QUOTE_DAYS_MAX:
        raise InvalidField("period_to", str(request.period_to), f"the period is over {QUOTE_DAYS_MAX} days")
    opm = request.opm
    if request.commodity == "electricity":
        for name in ("rate", "breaker_phases", "breaker_amps"):
            if getattr(opm, name) is None:
                raise InvalidField(f"opm.{name}", None, "is required for electricity")
        if opm.band is not None:
            raise InvalidField("opm.band", opm.band, "is for gas; electricity has rate and breaker")
    else:
        if opm.band is None:
            raise InvalidField("opm.band", None, "is required for gas")
        for name in ("rate", "breaker_phases", "breaker_amps"):
            if getattr(opm, name) is not None:
                raise InvalidField(f"opm.{name}", getattr(opm, name), "is for electricity; gas has band")
    if request.gas_tax_exempt and request.commodity != "gas":
        raise InvalidField("gas_tax_exempt", True, "is for gas only")


def _check_period(request: QuoteRequest, price_list: PriceList) -> None:
    meta = price_list.meta
    if request.period_from < meta.valid_from:
        reason = f"is before the prices of {meta.id} ({meta.valid_from})"
        raise InvalidField("period_from", str(request.period_from), reason)
    if request.period_to > meta.valid_to:
        reason = f"is after the prices of {meta.id} (until {meta.valid_to})"
        raise InvalidField("period_to", str(request.period_to), reason)
