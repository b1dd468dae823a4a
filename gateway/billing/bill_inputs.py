"""What billing one contract for one period reads, and the quote request it makes of it.

* **Terms.** The contract's terms in force over the period (product, account; ``bill_terms``). A change of
  product inside the period is one bill (``product_changes``, priced like a price change); a change of
  account, or to a product sharing consumption differently, is refused (``InvalidField`` on ``period_to``
  naming the day and the two periods to bill instead).
* **OPM.** The technical data versions in force over the period (``read_technical``, batched over many
  OPMs: the mass-billing reader calls it too); the quote is cut at each change (``opm_changes``). A change
  of the register layout (single-rate ↔ two-rate) is refused like a terms change: each part needs its own
  readings. Master data's DSO, mapped to the price list's DSO code (``dso_codes``).
* **Prices.** The product by its price-list code or its name; the DSO, every rate or band of the period and
  the period must be in the list, and for gas the calorific value of every month of the period (of the
  OPM's area, else the DSO's). What
  is not is a price problem (finding ``PRICE_MISSING``), not an error.
* **Supply.** Our supply period under this contract must cover the whole period (finding ``NOT_SUPPLIED``).
* **Consumption** from the reading store (as ``consumption_of`` computes it), with its plausibility
  findings, and the year before the period per register (``history``: the checks' daily history). Gas m³
  become kWh with the monthly calorific values of the OPM's area (``calorific``: the m³ shared to months
  like the product shares consumption) and its conversion factor (1 without one), each as the technical
  data in force on the day (``gas_parts``).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.billing.bill_terms import products_over, terms_over
from gateway.billing.calorific import GasPart, gas_kwh_parts, missing_months
from gateway.billing.dso_codes import price_list_dso
from gateway.billing.price_files import Product
from gateway.billing.prices import PriceList
from gateway.billing.quote import QUOTE_DAYS_MAX, resolve_list
from gateway.billing.readings import timeline as tl
from gateway.billing.readings.service import consumption_and_history, reading_window
from gateway.billing.split import bill_separately, part_ends
from gateway.errors import InvalidField
from gateway.masterdata import tables as t
from gateway.masterdata.accounts import get_account
from gateway.masterdata.contracts import get_contract
from gateway.masterdata.customers import get_customer
from gateway.masterdata.opm import get_opm
from gateway.masterdata.opm_rows import technical_from
from schemas.billing.readings import Consumption, RegisterConsumption
from schemas.billing.settlement import Consumption as QuoteConsumption
from schemas.billing.settlement import OpmChange, ProductChange, QuoteOpm, QuoteRequest
from schemas.masterdata.common import Segment
from schemas.masterdata.contracts import Contract, Terms
from schemas.masterdata.opm import Opm, Technical

#: [I] The gas conversion factor (objemový přepočítací koeficient: the meter's pressure and temperature,
#: vyhláška 108/2011 Sb.) of an OPM whose master data gives none: 1, right for a meter at the reference
#: conditions (or one with its own volume corrector), not for every meter.
GAS_CONVERSION_FACTOR_DEFAULT: Final = Decimal(1)
#: OPM codes per query of ``read_technical``: bounds the IN list of one statement.
TECHNICAL_CODES_PER_QUERY: Final = 1_000
KWH_PER_MWH: Final = Decimal(1000)
_WHOLE_KWH: Final = Decimal(1)
_MWH_STEP: Final = Decimal("0.001")
#: Segments billed without the gas tax (zákon 261/2007 Sb. část 45 §4: gas for households).
GAS_TAX_EXEMPT_SEGMENTS: Final = frozenset({"household"})


class BillInputs:
    """Everything read for one bill; ``price_problems`` and the supply flag feed the pre-checks.

    ``customer`` and ``segment``: the customer's number and segment (a household's gas is exempt from the
    gas tax), what a bill needs of the customer (the documents read the whole customer when they are made).
    ``account``: the contract account's variable symbol (the terms' account). ``history``: each register's
    consumption over the ``PREVIOUS_YEAR_DAYS`` before the period (may be incomplete). ``technical``: the
    OPM's technical data versions in force over the period, oldest first (``read_technical``); the quote is
    cut at each change. Empty: only ``opm.technical`` (the last day's) is known and priced.
    ``terms``: the terms of the period's first day, ``product`` its product; ``product_changes``: each
    later product (``bill_terms.products_over``), handed to the quote."""

    # A plain class, not a dataclass (as PaidRequest, PreCheck, Timeline, MeterInfo, OpmRows): mypyc compiles
    # its ``__init__``; a dataclass's is made at import and runs interpreted (a million objects of four
    # fields, compiled: 980 ns a frozen dataclass, 56 ns a plain class). One or more a bill.
    def __init__(
        self, *, contract: Contract, terms: Terms, customer: str, segment: Segment, account: str, opm: Opm,
        period_from: dt.date, period_to: dt.date, price_list: PriceList, product: Product | None,
        dso: str | None, price_problems: tuple[str, ...], supplied: bool, supply_text: str,
        consumption: Consumption, history: tuple[RegisterConsumption, ...],
        technical: tuple[Technical, ...] = (), product_changes: tuple[ProductChange, ...] = (),
    ) -> None:
        self.contract: Final = contract
        self.terms: Final = terms
        self.customer: Final = customer
        self.segment: Final = segment
        self.account: Final = account
        self.opm: Final = opm
        self.period_from: Final = period_from
        self.period_to: Final = period_to
        self.price_list: Final = price_list
        self.product: Final = product
        self.dso: Final = dso
        self.price_problems: Final = price_problems
        self.supplied: Final = supplied
        self.supply_text: Final = supply_text
        self.consumption: Final = consumption
        self.history: Final = history
        self.technical: Final = technical
        self.product_changes: Final = product_changes


async def read_inputs(
    conn: AsyncConnection, contract_number: str, period_from: dt.date, period_to: dt.date, prices: Path,
) -> BillInputs:
    """The master data, prices and consumption of ``contract_number`` for the period."""
    if period_to < period_from:
        raise InvalidField("period_to", period_to.isoformat(), f"is before period_from {period_from}")
    if (period_to - period_from).days >= QUOTE_DAYS_MAX:
        raise InvalidField("period_to", period_to.isoformat(), f"the period is over {QUOTE_DAYS_MAX} days")
    contract = await get_contract(conn, contract_number, period_to)
    versions = terms_over(contract, period_from, period_to)
    terms = versions[0]
    opm = await get_opm(conn, contract.opm, period_to)
    technical = (await read_technical(conn, {opm.code: (period_from, period_to)}))[opm.code]
    price_list = resolve_list(prices, None, paths_allowed=False)
    product, product_changes, product_problems = products_over(
        price_list, contract, versions, (period_from, period_to))
    dso = price_list_dso(contract.commodity, opm.dso)
    check_register_layout(opm.code, technical, price_list, dso, (period_from, period_to))
    supplied, supply_text = supply_over(contract.number, opm, period_from, period_to)
    consumption, history = await _consumption(conn, opm.code, period_from, period_to)
    period = (period_from, period_to)
    problems = price_problems(price_list, opm, terms, product, dso, period, technical=technical)
    customer = await get_customer(conn, contract.customer)
    return BillInputs(
        contract=contract, terms=terms, customer=customer.number, segment=customer.segment,
        account=(await get_account(conn, terms.account)).variable_symbol, opm=opm, period_from=period_from,
        period_to=period_to, price_list=price_list, product=product, dso=dso,
        price_problems=(*problems, *product_problems), supplied=supplied, supply_text=supply_text,
        consumption=consumption, history=history, technical=technical, product_changes=product_changes,
    )


async def read_technical(
    conn: AsyncConnection, periods: Mapping[str, tuple[dt.date, dt.date]],
) -> dict[str, tuple[Technical, ...]]:
    """Per OPM code (as master data stores it), the technical data versions in force over its period
    (``technical_in_period``): one query per ``TECHNICAL_CODES_PER_QUERY`` codes, whatever their number.
    A code without technical data (or unknown) maps to ``()``."""
    codes = sorted(periods)
    found: dict[str, tuple[Technical, ...]] = {code: () for code in codes}
    tech, opm = t.opm_technical.c, t.opm.c
    for first in range(0, len(codes), TECHNICAL_CODES_PER_QUERY):
        chunk = codes[first:first + TECHNICAL_CODES_PER_QUERY]
        last_day = max(periods[code][1] for code in chunk)
        query = (
            sa.select(opm.code, t.opm_technical).join(t.opm_technical, tech.opm_id == opm.id)
            .where(opm.code.in_(chunk), tech.effective_from <= last_day)
            .order_by(opm.code, tech.effective_from)
        )
        versions: dict[str, list[Technical]] = defaultdict(list)
        rows: Any = await conn.execute(query)  # Rows, not the tuples their stubs say (mypyc checks)
        for row in rows:
            versions[row.code].append(technical_from(row))
        for code, listed in versions.items():
            found[code] = technical_in_period(listed, *periods[code])
    return found


def technical_in_period(
    versions: Sequence[Technical], period_from: dt.date, period_to: dt.date,
) -> tuple[Technical, ...]:
    """The versions (in date order) in force over the period: the one in force on its first day and every
    one starting inside it. [I] When all start later, the earliest covers the first days too: the OPM is
    supplied (the supply check says so), its data was recorded from a later day."""
    on_first = [version for version in versions if version.effective_from <= period_from][-1:]
    inside = [version for version in versions if period_from < version.effective_from <= period_to]
    return (*on_first, *inside)


def check_register_layout(
    code: str, technical: Sequence[Technical], price_list: PriceList, dso: str | None,
    period: tuple[dt.date, dt.date],
) -> None:
    """``InvalidField`` on ``period_to`` when the distribution rate changes between single-rate and two-rate
    inside the period: the consumption is per register, so each part needs its own readings (bill the
    parts separately, like a terms change). Rates not in the list are a price problem, not checked here."""
    rates = price_list.rates.get(dso or "", {})
    known = [(version, rates[version.distribution_rate]) for version in technical
             if version.distribution_rate in rates]
    for (_, before), (version, after) in itertools.pairwise(known):
        if before.registers != after.registers:
            change = version.effective_from
            reason = (
                f"the distribution rate of OPM {code} changes on {change} from {before.code} "
                f"({before.registers}) to {after.code} ({after.registers}): the register layout changes, so "
                f"each part needs its own readings; {bill_separately(period[0], change, period[1])}"
            )
            raise InvalidField("period_to", period[1].isoformat(), reason)


async def _consumption(
    conn: AsyncConnection, code: str, period_from: dt.date, period_to: dt.date
) -> tuple[Consumption, tuple[RegisterConsumption, ...]]:
    """The period's consumption and the year before it, from one read of the OPM's states (the same read
    and computation as ``consumption_of``, which keeps the year before to itself)."""
    timeline = await tl.load(conn, code, *reading_window(period_from, period_to))
    return consumption_and_history(timeline, period_from, period_to)


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


def price_problems(
    price_list: PriceList, opm: Opm, terms: Terms, product: Product | None, dso: str | None,
    period: tuple[dt.date, dt.date], *, technical: Sequence[Technical] = (),
) -> list[str]:
    """Why the period cannot be priced with ``price_list``; empty when it can. ``technical``: the versions
    over the period (``read_technical``); without them, ``opm.technical`` (the last day's)."""
    problems: list[str] = []
    meta = price_list.meta
    inside = meta.valid_from <= period[0] and period[1] <= meta.valid_to
    if not inside:
        problems.append(f"price list {price_list.id} covers {meta.valid_from} … {meta.valid_to} only")
    if product is None:
        problems.append(f"product {terms.product!r} is not an {opm.commodity} product of {price_list.id}")
    versions = tuple(technical) or ((opm.technical,) if opm.technical is not None else ())
    if dso is None:
        problems.append(f"DSO {opm.dso!r} has no price-list code (gateway/billing/dso_codes.py)")
    elif not versions:
        problems.append(f"OPM {opm.code} has no technical data on {period[1]}")
    elif opm.commodity == "electricity":
        rates = price_list.rates.get(dso, {})
        unknown = dict.fromkeys(v.distribution_rate for v in versions if v.distribution_rate not in rates)
        problems += [f"rate {rate} of {dso} is not in {price_list.id}" for rate in unknown]
    else:
        bands = price_list.bands.get(dso, {})
        unknown = dict.fromkeys(v.gas_band for v in versions if v.gas_band not in bands)
        problems += [f"gas band {band} of {dso} is not in {price_list.id}" for band in unknown]
    if opm.commodity == "gas" and dso is not None and inside:
        problems += gas_parts(price_list, dso, versions, period)[1]
    return problems


def gas_parts(
    price_list: PriceList, dso: str, versions: Sequence[Technical], period: tuple[dt.date, dt.date],
) -> tuple[list[GasPart], list[str]]:
    """The conversion data over the period, a part per technical version: its conversion factor
    (``GAS_CONVERSION_FACTOR_DEFAULT`` without one) and its area's monthly calorific values (the DSO's own
    without an area); and the price problems that keep the m³ from being converted (an area the list does
    not know, a month without a value)."""
    parts: list[GasPart] = []
    problems: list[str] = []
    starts = [period[0], *(version.effective_from for version in versions[1:])]
    known = versions or (Technical(effective_from=period[0]),)
    for version, start, end in zip(known, starts, part_ends(starts, period[1]), strict=True):
        area = version.gas_area
        values = price_list.calorific_of(dso, area)
        if values is None:
            problems.append(f"gas area {area} of {dso} (OPM data from {start}) is not in {price_list.id}")
            continue
        missing = missing_months(start, end, values)
        if missing:
            months = ", ".join(f"{month:%Y-%m}" for month in missing)
            of = dso if area is None else f"{dso} area {area}"
            problems.append(f"price list {price_list.id} has no calorific value of {of} for {months} (gas "
                            "read in m³ is billed in kWh with the distribution area's monthly values)")
        parts.append(GasPart(start, version.gas_conversion_factor or GAS_CONVERSION_FACTOR_DEFAULT, values))
    return parts, problems



def quote_request(inputs: BillInputs, advances_paid: Decimal) -> QuoteRequest:
    """The price calculator's request for the inputs (prices checked: no price problems). The OPM's data of
    the first day, and a change (``opm_changes``) at each later version that changes what is priced."""
    assert inputs.product is not None and inputs.dso is not None and inputs.opm.technical is not None
    versions = inputs.technical or (inputs.opm.technical,)
    first = versions[0]
    used = {register.register: register.consumption for register in inputs.consumption.registers}
    period = (inputs.period_from, inputs.period_to)
    if inputs.contract.commodity == "gas":
        tdd = inputs.price_list.meta.tdd.gas if inputs.product.split_by_tdd else None
        parts, problems = gas_parts(inputs.price_list, inputs.dso, versions, period)
        assert not problems, problems
        kwh = gas_kwh_parts(sum(used.values(), Decimal(0)), parts, period, tdd)
        return QuoteRequest(
            commodity="gas", period_from=inputs.period_from, period_to=inputs.period_to,
            opm=QuoteOpm(dso=inputs.dso, band=first.gas_band), product=inputs.product.code,
            price_list=inputs.price_list.id, consumption=QuoteConsumption(kwh=kwh),
            advances_paid=advances_paid, opm_changes=_changes(versions, ("gas_band",)),
            product_changes=list(inputs.product_changes) or None,
            gas_tax_exempt=inputs.segment in GAS_TAX_EXEMPT_SEGMENTS,
        )
    rate = inputs.price_list.rates[inputs.dso][first.distribution_rate or ""]
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
            dso=inputs.dso, rate=first.distribution_rate, breaker_phases=first.breaker_phases,
            breaker_amps=first.breaker_amps,
        ),
        product=inputs.product.code, price_list=inputs.price_list.id, consumption=consumption,
        advances_paid=advances_paid,
        opm_changes=_changes(versions, ("distribution_rate", "breaker_phases", "breaker_amps")),
        product_changes=list(inputs.product_changes) or None,
    )


def _changes(versions: Sequence[Technical], priced: tuple[str, ...]) -> list[OpmChange] | None:
    """A change per version after the first whose ``priced`` fields differ from the version before (a new
    TDD class or yearly estimate alone changes no price); None without any, as before changes existed."""
    names = {"distribution_rate": "rate", "gas_band": "band"}
    changes = [
        OpmChange(valid_from=after.effective_from,
                  **{names.get(field, field): getattr(after, field) for field in priced})
        for before, after in itertools.pairwise(versions)
        if any(getattr(before, field) != getattr(after, field) for field in priced)
    ]
    return changes or None


def _whole_kwh(kwh: Decimal) -> Decimal:
    return kwh.quantize(_WHOLE_KWH, ROUND_HALF_UP)


def _mwh(kwh: Decimal) -> Decimal:
    """kWh (meter states have up to 3 decimals) as MWh of whole kWh, as the calculator takes them."""
    return (_whole_kwh(kwh) / KWH_PER_MWH).quantize(_MWH_STEP)
