"""Which components a quote has and their prices, from the price list: the supplier's product, the DSO's
distribution, the nationwide regulated prices and the taxes. Texts are the invoice's (Czech)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from gateway.billing.price_files import GasBand, PozeVersion, Rate
from gateway.billing.prices import PriceList, spans
from gateway.billing.product_parts import ProductPart
from gateway.billing.rating import (
    PRODUCT_KEY,
    REGISTER_SUFFIX,
    REGISTER_TEXT,
    Component,
    Priced,
    breaker_price,
    clip,
    monthly_prices,
    mwh_prices,
)
from gateway.billing.technical import OpmState, band_key, breaker_key, grouped, poze_key, rate_key
from gateway.errors import InvalidField
from schemas.billing.settlement import QuoteRequest


@dataclass(frozen=True)
class Poze:
    """POZE's two variants per price version: per MWh of all registers, or the breaker band per month."""

    mwh: list[Priced]
    monthly: list[Priced]


def product_components(
    parts: Sequence[ProductPart], registers: list[str], price_list: PriceList,
) -> list[Component]:
    """The commodity per register and the product's monthly fee: each part's product's prices within the
    part (a product change is a price change; ``product_parts``)."""
    found = []
    name = "Silová elektřina" if parts[0].product.commodity == "electricity" else "Zemní plyn"
    for register in registers:
        key = PRODUCT_KEY[register]
        prices = []
        for index, part in enumerate(parts):
            field = "product" if index == 0 else f"product_changes[{index - 1}].product"
            for span in spans(part.product.version, price_list.meta.valid_to):
                price = getattr(span.entry, key)
                if price is None and span.valid_from <= part.end and part.start <= span.valid_to:
                    reason = f"has no {key} price from {span.valid_from}"
                    raise InvalidField(field, part.product.code, reason)
                if price is not None:
                    prices += clip([Priced(span.valid_from, span.valid_to, price)], part.start, part.end)
        found.append(Component(f"COMMODITY{REGISTER_SUFFIX[register]}", f"{name}{REGISTER_TEXT[register]}",
                               register, prices))  # type: ignore[arg-type]
    fee = [
        version for part in parts for version in clip(
            [Priced(s.valid_from, s.valid_to, s.entry.monthly)
             for s in spans(part.product.version, price_list.meta.valid_to)], part.start, part.end)
    ]
    found.append(Component("SUPPLY_FEE", "Stálý plat za dodávku", "months", fee))
    return found


def electricity_components(
    states: list[OpmState], rates: dict[str, Rate], registers: list[str], price_list: PriceList,
) -> list[Component]:
    """Distribution per register, the breaker fee, system services, market operator and the tax. With
    technical changes, distribution has a component per rate and the breaker fee one per rate and breaker."""
    found = []
    for register in registers:
        key = PRODUCT_KEY[register]
        for state in grouped(states, rate_key):
            versions = spans(rates[state.rate or ""].version, price_list.meta.valid_to)
            prices = clip([Priced(s.valid_from, s.valid_to, getattr(s.entry, key)) for s in versions],
                          state.start, state.end)
            found.append(Component(f"DISTRIBUTION{REGISTER_SUFFIX[register]}",
                                   f"Distribuce elektřiny{REGISTER_TEXT[register]}", register, prices))  # type: ignore[arg-type]
    for state in grouped(states, breaker_key):
        rate = rates[state.rate or ""]
        phases, amps = state.breaker_phases, state.breaker_amps
        assert phases is not None and amps is not None
        fees = [
            Priced(s.valid_from, s.valid_to, breaker_price(s.entry.breaker, phases, amps, f"rate {rate.code}",
                                                           state.field))
            for s in spans(rate.version, price_list.meta.valid_to)
        ]
        found.append(Component("BREAKER", f"Stálý plat za jistič {phases} × {amps} A", "months",
                               clip(fees, state.start, state.end)))
    meta = price_list.meta
    return [
        *found,
        Component("SYSTEM_SERVICES", "Systémové služby", "all", mwh_prices(meta.system_services, price_list)),
        Component("MARKET_OPERATOR", "Činnost operátora trhu", "months",
                  monthly_prices(meta.electricity_market_operator, price_list)),
        Component("ELECTRICITY_TAX", "Daň z elektřiny", "all", mwh_prices(meta.electricity_tax, price_list)),
    ]


def poze(states: list[OpmState], price_list: PriceList) -> Poze:
    """POZE's variants per price version and breaker: the breaker variant follows a breaker change."""
    versions = spans(price_list.meta.poze, price_list.meta.valid_to)
    per_mwh: list[Priced] = []
    per_month: list[Priced] = []
    for state in grouped(states, poze_key):
        mwh = clip([Priced(s.valid_from, s.valid_to, s.entry.mwh) for s in versions], state.start, state.end)
        monthly = clip([Priced(s.valid_from, s.valid_to, _poze_breaker(s.entry, state)) for s in versions],
                       state.start, state.end)
        per_mwh += mwh
        per_month += monthly
    return Poze(mwh=per_mwh, monthly=per_month)


def _poze_breaker(version: PozeVersion, state: OpmState) -> Decimal:
    assert state.breaker_phases is not None and state.breaker_amps is not None
    return breaker_price(version.breaker, state.breaker_phases, state.breaker_amps, "POZE", state.field)


def gas_components(
    request: QuoteRequest, states: list[OpmState], bands: dict[str, GasBand], price_list: PriceList,
) -> list[Component]:
    """Distribution per MWh and per month by band (a component per band when the band changes), the market
    operator and, unless exempt, the gas tax."""
    meta = price_list.meta
    distribution, fee = [], []
    for state in grouped(states, band_key):
        band = bands[state.band or ""]
        versions = spans(band.version, meta.valid_to)
        per_mwh = [Priced(s.valid_from, s.valid_to, s.entry.mwh) for s in versions]
        monthly = [Priced(s.valid_from, s.valid_to, s.entry.monthly) for s in versions]
        text = f"Distribuce plynu (pásmo {band.code} MWh/rok)"
        distribution.append(Component("DISTRIBUTION", text, "single", clip(per_mwh, state.start, state.end)))
        fee.append(Component("DISTRIBUTION_FEE", "Stálý plat za distribuci", "months",
                             clip(monthly, state.start, state.end)))
    found = [*distribution, *fee, Component("MARKET_OPERATOR", "Činnost operátora trhu", "single",
                                            mwh_prices(meta.gas_market_operator, price_list))]
    if not request.gas_tax_exempt:
        tax = mwh_prices(meta.gas_tax, price_list)
        found.append(Component("GAS_TAX", "Daň ze zemního plynu", "single", tax))
    return found
