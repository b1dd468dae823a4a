"""Which components a quote has and their prices, from the price list: the supplier's product, the DSO's
distribution, the nationwide regulated prices and the taxes. Texts are the invoice's (Czech)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from gateway.billing.price_files import GasBand, PozeVersion, Product, Rate
from gateway.billing.prices import PriceList, spans
from gateway.billing.rating import (
    PRODUCT_KEY,
    REGISTER_SUFFIX,
    REGISTER_TEXT,
    Component,
    Priced,
    Quantities,
    breaker_price,
    line,
    monthly_prices,
    mwh_prices,
)
from gateway.errors import InvalidField
from schemas.billing.settlement import QuoteRequest, SettlementLine


@dataclass(frozen=True)
class Poze:
    """POZE's two variants per price version: per MWh of all registers, or the breaker band per month."""

    mwh: list[Priced]
    monthly: list[Priced]


def product_components(product: Product, registers: list[str], price_list: PriceList) -> list[Component]:
    """The commodity per register and the product's monthly fee."""
    versions = spans(product.version, price_list.meta.valid_to)
    found = []
    name = "Silová elektřina" if product.commodity == "electricity" else "Zemní plyn"
    for register in registers:
        key = PRODUCT_KEY[register]
        prices = []
        for span in versions:
            price = getattr(span.entry, key)
            if price is None:
                raise InvalidField("product", product.code, f"has no {key} price from {span.valid_from}")
            prices.append(Priced(span.valid_from, span.valid_to, price))
        found.append(Component(f"COMMODITY{REGISTER_SUFFIX[register]}", f"{name}{REGISTER_TEXT[register]}",
                               register, prices))  # type: ignore[arg-type]
    fee = [Priced(s.valid_from, s.valid_to, s.entry.monthly) for s in versions]
    found.append(Component("SUPPLY_FEE", "Stálý plat za dodávku", "months", fee))
    return found


def electricity_components(
    request: QuoteRequest, rate: Rate, registers: list[str], price_list: PriceList,
) -> list[Component]:
    """Distribution per register, the breaker fee, system services, market operator and the tax."""
    versions = spans(rate.version, price_list.meta.valid_to)
    found = []
    for register in registers:
        key = PRODUCT_KEY[register]
        prices = [Priced(s.valid_from, s.valid_to, getattr(s.entry, key)) for s in versions]
        found.append(Component(f"DISTRIBUTION{REGISTER_SUFFIX[register]}",
                               f"Distribuce elektřiny{REGISTER_TEXT[register]}", register, prices))  # type: ignore[arg-type]
    what = f"rate {rate.code}"
    breaker = [
        Priced(s.valid_from, s.valid_to, breaker_price(s.entry.breaker, request, what)) for s in versions
    ]
    phases, amps = request.opm.breaker_phases, request.opm.breaker_amps
    meta = price_list.meta
    return [
        *found,
        Component("BREAKER", f"Stálý plat za jistič {phases} × {amps} A", "months", breaker),
        Component("SYSTEM_SERVICES", "Systémové služby", "all", mwh_prices(meta.system_services, price_list)),
        Component("MARKET_OPERATOR", "Činnost operátora trhu", "months",
                  monthly_prices(meta.electricity_market_operator, price_list)),
        Component("ELECTRICITY_TAX", "Daň z elektřiny", "all", mwh_prices(meta.electricity_tax, price_list)),
    ]


def poze(request: QuoteRequest, price_list: PriceList) -> Poze:
    versions = spans(price_list.meta.poze, price_list.meta.valid_to)
    return Poze(
        mwh=[Priced(s.valid_from, s.valid_to, s.entry.mwh) for s in versions],
        monthly=[Priced(s.valid_from, s.valid_to, _poze_breaker(s.entry, request)) for s in versions],
    )


def _poze_breaker(version: PozeVersion, request: QuoteRequest) -> Decimal:
    return breaker_price(version.breaker, request, "POZE")


def poze_lines(variants: Poze, quantities: Quantities, vat_rate: Decimal) -> list[SettlementLine]:
    """Per POZE price version the lower of the two variants' amounts (before rounding; a tie: per MWh)."""
    found = []
    for per_mwh, per_month in zip(variants.mwh, variants.monthly, strict=False):
        inside = [i for i, piece in enumerate(quantities.pieces)
                  if per_mwh.valid_from <= piece.start and piece.end <= per_mwh.valid_to]
        if not inside:
            continue
        mwh = sum((quantities.of("all", i) for i in inside), Decimal(0))
        month_count = sum((quantities.of("months", i) for i in inside), Decimal(0))
        start, end = quantities.pieces[inside[0]].start, quantities.pieces[inside[-1]].end
        if mwh * per_mwh.unit_price <= month_count * per_month.unit_price:
            if mwh:
                found.append(line("POZE", "Podpora POZE (za MWh, nižší varianta)", start, end, mwh, "MWh",
                                  per_mwh.unit_price, vat_rate))
        else:
            found.append(line("POZE", "Podpora POZE (za jistič, nižší varianta)", start, end, month_count,
                              "month", per_month.unit_price, vat_rate))
    return found


def gas_components(request: QuoteRequest, band: GasBand, price_list: PriceList) -> list[Component]:
    """Distribution per MWh and per month by band, the market operator and, unless exempt, the gas tax."""
    versions = spans(band.version, price_list.meta.valid_to)
    meta = price_list.meta
    found = [
        Component("DISTRIBUTION", f"Distribuce plynu (pásmo {band.code} MWh/rok)", "single",
                  [Priced(s.valid_from, s.valid_to, s.entry.mwh) for s in versions]),
        Component("DISTRIBUTION_FEE", "Stálý plat za distribuci", "months",
                  [Priced(s.valid_from, s.valid_to, s.entry.monthly) for s in versions]),
        Component("MARKET_OPERATOR", "Činnost operátora trhu", "single",
                  mwh_prices(meta.gas_market_operator, price_list)),
    ]
    if not request.gas_tax_exempt:
        tax = mwh_prices(meta.gas_tax, price_list)
        found.append(Component("GAS_TAX", "Daň ze zemního plynu", "single", tax))
    return found
