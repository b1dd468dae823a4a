"""What billing one contract for one period reads, and the quote request it makes of it.

* **Terms.** The contract's terms in force over the period (product, account). A terms change inside the
  period is refused (``InvalidField`` on ``period_to`` naming the day): the two parts may differ in product
  *and* account, and each part needs its own closing reading, so the order is split at the change (one bill
  up to the day before, one from it) rather than guessed here.
* **OPM.** The technical data in force on the period's last day (rate, breaker, band); master data's DSO,
  mapped to the price list's DSO code (``dso_codes``).
* **Prices.** The product by its price-list code or its name; the DSO, rate or band and the period must be
  in the list. What is not is a price problem (finding ``PRICE_MISSING``), not an error.
* **Supply.** Our supply period under this contract must cover the whole period (finding ``NOT_SUPPLIED``).
* **Consumption** from the reading store (as ``consumption_of`` computes it), with its plausibility
  findings, and the year before the period per register (``history``: the checks' daily history).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Final

from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.billing.dso_codes import price_list_dso
from gateway.billing.price_files import Product
from gateway.billing.prices import PriceList
from gateway.billing.quote import QUOTE_DAYS_MAX, resolve_list
from gateway.billing.readings import timeline as tl
from gateway.billing.readings.compute import NEAREST_STATE_DAYS_MAX, register_consumption
from gateway.billing.readings.record import GAS_KWH_PER_M3_PROVISIONAL
from gateway.billing.readings.service import PREVIOUS_YEAR_DAYS, period_consumption
from gateway.errors import InvalidField
from gateway.masterdata.accounts import get_account
from gateway.masterdata.contracts import get_contract
from gateway.masterdata.customers import get_customer
from gateway.masterdata.opm import get_opm
from schemas.billing.readings import Consumption, RegisterConsumption
from schemas.billing.settlement import Consumption as QuoteConsumption
from schemas.billing.settlement import QuoteOpm, QuoteRequest
from schemas.masterdata.accounts import Account
from schemas.masterdata.contracts import Contract, Terms
from schemas.masterdata.customers import Customer
from schemas.masterdata.opm import Opm

#: [I] kWh per m³ for gas billed from meter states: the reading store's provisional figure, until the
#: period's calorific value is kept per OPM (distribution-area monthly values; an open point).
GAS_KWH_PER_M3: Final = GAS_KWH_PER_M3_PROVISIONAL
KWH_PER_MWH: Final = Decimal(1000)
_WHOLE_KWH: Final = Decimal(1)
_MWH_STEP: Final = Decimal("0.001")
#: Segments billed without the gas tax (zákon 261/2007 Sb. část 45 §4: gas for households).
GAS_TAX_EXEMPT_SEGMENTS: Final = frozenset({"household"})


@dataclass(frozen=True, slots=True)
class BillInputs:
    """Everything read for one bill; ``price_problems`` and the supply flag feed the pre-checks."""

    contract: Contract
    terms: Terms
    customer: Customer
    account: Account
    opm: Opm
    period_from: dt.date
    period_to: dt.date
    price_list: PriceList
    product: Product | None
    dso: str | None
    price_problems: tuple[str, ...]
    supplied: bool
    supply_text: str
    consumption: Consumption
    #: Each register's consumption over the ``PREVIOUS_YEAR_DAYS`` before the period (may be incomplete).
    history: tuple[RegisterConsumption, ...]


async def read_inputs(
    conn: AsyncConnection, contract_number: str, period_from: dt.date, period_to: dt.date, prices: Path,
) -> BillInputs:
    """The master data, prices and consumption of ``contract_number`` for the period."""
    if period_to < period_from:
        raise InvalidField("period_to", period_to.isoformat(), f"is before period_from {period_from}")
    if (period_to - period_from).days >= QUOTE_DAYS_MAX:
        raise InvalidField("period_to", period_to.isoformat(), f"the period is over {QUOTE_DAYS_MAX} days")
    contract = await get_contract(conn, contract_number, period_to)
    terms = terms_over(contract, period_from, period_to)
    opm = await get_opm(conn, contract.opm, period_to)
    price_list = resolve_list(prices, None, paths_allowed=False)
    product = find_product(price_list, terms.product, contract.commodity)
    dso = price_list_dso(contract.commodity, opm.dso)
    supplied, supply_text = supply_over(contract.number, opm, period_from, period_to)
    consumption, history = await _consumption(conn, opm.code, period_from, period_to)
    return BillInputs(
        contract=contract, terms=terms, customer=await get_customer(conn, contract.customer),
        account=await get_account(conn, terms.account), opm=opm, period_from=period_from,
        period_to=period_to, price_list=price_list, product=product, dso=dso,
        price_problems=tuple(price_problems(price_list, opm, terms, product, dso, (period_from, period_to))),
        supplied=supplied, supply_text=supply_text, consumption=consumption, history=history,
    )


async def _consumption(
    conn: AsyncConnection, code: str, period_from: dt.date, period_to: dt.date
) -> tuple[Consumption, tuple[RegisterConsumption, ...]]:
    """The period's consumption and the year before it, from one read of the OPM's states (the same read
    and computation as ``consumption_of``, which keeps the year before to itself)."""
    slack = dt.timedelta(days=NEAREST_STATE_DAYS_MAX + 1)
    year_from = period_from - dt.timedelta(days=PREVIOUS_YEAR_DAYS)
    timeline = await tl.load(conn, code, year_from - slack, period_to + slack)
    consumption = period_consumption(timeline, period_from, period_to)
    year_to = period_from - dt.timedelta(days=1)
    history = tuple(
        register_consumption(timeline, used.register, year_from, year_to) for used in consumption.registers
    )
    return consumption, history


def terms_over(contract: Contract, period_from: dt.date, period_to: dt.date) -> Terms:
    """The one terms version in force over the whole period, else ``InvalidField`` saying where to cut."""
    overlapping = [
        terms for terms in contract.versions if terms.effective_from <= period_to
        and (terms.effective_to is None or terms.effective_to >= period_from)
    ]
    if not overlapping:
        reason = f"the period ends before contract {contract.number} starts ({contract.valid_from})"
        raise InvalidField("period_to", period_to.isoformat(), reason)
    if len(overlapping) > 1:
        change = overlapping[1].effective_from
        reason = (
            f"the terms of contract {contract.number} change on {change} (version {overlapping[1].version}): "
            f"bill {period_from} … {change - dt.timedelta(days=1)} and {change} … {period_to} separately"
        )
        raise InvalidField("period_to", period_to.isoformat(), reason)
    return overlapping[0]


def supply_over(contract: str, opm: Opm, period_from: dt.date, period_to: dt.date) -> tuple[bool, str]:
    """Whether our supply under ``contract`` covers the period, and the sentence saying why not."""
    for period in opm.supply:
        if period.contract != contract:
            continue
        if period.start <= period_from and (period.end is None or period.end >= period_to):
            return True, ""
        until = "indefinitely" if period.end is None else f"until {period.end}"
        return False, (
            f"OPM {opm.code} is supplied under contract {contract} from {period.start} {until}, "
            f"not over {period_from} … {period_to}"
        )
    return False, f"OPM {opm.code} has no supply period under contract {contract}"


def find_product(price_list: PriceList, product: str, commodity: str) -> Product | None:
    """The price-list product whose code or name is the contract's ``product`` (names without case)."""
    found = price_list.products.get(product)
    if found is None:
        wanted = product.strip().casefold()
        found = next((item for item in price_list.products.values() if item.name.casefold() == wanted), None)
    return found if found is not None and found.commodity == commodity else None


def price_problems(
    price_list: PriceList, opm: Opm, terms: Terms, product: Product | None, dso: str | None,
    period: tuple[dt.date, dt.date],
) -> list[str]:
    """Why the period cannot be priced with ``price_list``; empty when it can."""
    problems: list[str] = []
    meta = price_list.meta
    if period[0] < meta.valid_from or period[1] > meta.valid_to:
        problems.append(f"price list {price_list.id} covers {meta.valid_from} … {meta.valid_to} only")
    if product is None:
        problems.append(f"product {terms.product!r} is not an {opm.commodity} product of {price_list.id}")
    technical = opm.technical
    if dso is None:
        problems.append(f"DSO {opm.dso!r} has no price-list code (gateway/billing/dso_codes.py)")
    elif technical is None:
        problems.append(f"OPM {opm.code} has no technical data on {period[1]}")
    elif opm.commodity == "electricity":
        rates = price_list.rates.get(dso, {})
        if technical.distribution_rate not in rates:
            problems.append(f"rate {technical.distribution_rate} of {dso} is not in {price_list.id}")
    elif technical.gas_band not in price_list.bands.get(dso, {}):
        problems.append(f"gas band {technical.gas_band} of {dso} is not in {price_list.id}")
    return problems


def quote_request(inputs: BillInputs, advances_paid: Decimal) -> QuoteRequest:
    """The price calculator's request for the inputs (prices checked: no price problems)."""
    assert inputs.product is not None and inputs.dso is not None and inputs.opm.technical is not None
    technical = inputs.opm.technical
    used = {register.register: register.consumption for register in inputs.consumption.registers}
    if inputs.contract.commodity == "gas":
        kwh = _whole_kwh(sum(used.values(), Decimal(0)) * GAS_KWH_PER_M3)
        return QuoteRequest(
            commodity="gas", period_from=inputs.period_from, period_to=inputs.period_to,
            opm=QuoteOpm(dso=inputs.dso, band=technical.gas_band), product=inputs.product.code,
            price_list=inputs.price_list.id, consumption=QuoteConsumption(kwh=kwh),
            advances_paid=advances_paid,
            gas_tax_exempt=inputs.customer.segment in GAS_TAX_EXEMPT_SEGMENTS,
        )
    rate = inputs.price_list.rates[inputs.dso][technical.distribution_rate or ""]
    if rate.registers == "vt_nt":
        consumption = QuoteConsumption(
            vt_mwh=_mwh(used.get("vt", Decimal(0)) + used.get("single", Decimal(0))),
            nt_mwh=_mwh(used.get("nt", Decimal(0))),
        )
    else:
        consumption = QuoteConsumption(mwh=_mwh(sum(used.values(), Decimal(0))))
    return QuoteRequest(
        commodity="electricity", period_from=inputs.period_from, period_to=inputs.period_to,
        opm=QuoteOpm(
            dso=inputs.dso, rate=technical.distribution_rate, breaker_phases=technical.breaker_phases,
            breaker_amps=technical.breaker_amps,
        ),
        product=inputs.product.code, price_list=inputs.price_list.id, consumption=consumption,
        advances_paid=advances_paid,
    )


def _whole_kwh(kwh: Decimal) -> Decimal:
    return kwh.quantize(_WHOLE_KWH, rounding=ROUND_HALF_UP)


def _mwh(kwh: Decimal) -> Decimal:
    """kWh (meter states have up to 3 decimals) as MWh of whole kWh, as the calculator takes them."""
    return (_whole_kwh(kwh) / KWH_PER_MWH).quantize(_MWH_STEP)
