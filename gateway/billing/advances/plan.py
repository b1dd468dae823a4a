"""The pure arithmetic of advances: the year to price, the consumption to price it with, the instalments
and their due dates, and the VAT in a received advance. No database here (``schedules.py`` stores).

* **Amounts.** Each instalment is the year's quote total including VAT divided by the number of
  instalments, rounded **up** to whole CZK. Whole crowns because SIPO takes only whole crowns
  (czech-finance-formats §5.1) and a round amount is what a customer sets a standing order to; up rather
  than half-up so that a year of advances never falls short of the expected bill (the surplus is below one
  crown per instalment and comes back with the settlement), whereas a shortfall would become an amount due.
* **Due dates.** Day ``DUE_DAY`` (15) of the first month of each instalment's period, moved to the next
  working day when it falls on a weekend or a Czech public holiday: the civil code moves the last day of a
  period that way (§607 OZ, [I]), and printing the day the money is actually expected spares the customer
  the question and the dunning run a false "overdue" on Monday.
* **A settled period as a year.** The settlement's consumption is scaled to a year by the price list's TDD
  weights of the commodity, not by days: 500 m³ over June–August is a far smaller share of a gas year than
  92 days of 365 (``settled_consumption``), and scaling it by days would set the winter's advances too low.
* **VAT in a received advance.** The customer pays an amount *including* VAT; the tax document states
  ``base = amount / (1 + rate)`` rounded half-up to 0.01 and ``vat = amount − base``, so base + VAT equal
  the money received exactly (the document must state what was received; §37 ZDPH computes the tax from an
  amount including it this way since the coefficient was abolished in 2019, [I]).
"""

from __future__ import annotations

import datetime as dt
import itertools
import unicodedata
from collections.abc import Sequence
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from typing import Final

from gateway.billing.prices import PriceList
from gateway.billing.split import cut, weights
from gateway.errors import InvalidField
from gateway.process.calendar import WorkingCalendar
from schemas.billing.advances import INSTALMENTS_PER_YEAR
from schemas.billing.settlement import Consumption, Settlement

#: Advances fall due on this day of the month (before the working-day shift).
DUE_DAY: Final = 15
#: A schedule covers this many months.
SCHEDULE_MONTHS: Final = 12
CZK: Final = Decimal("1")
CENT: Final = Decimal("0.01")
MWH_PLACES: Final = Decimal("0.001")
KWH_PER_MWH: Final = Decimal("1000")
#: A settled period shorter than this says too little about a year (one reading interval, a move-in): the
#: schedule then keeps the OPM's technical estimate.
SETTLED_DAYS_MIN: Final = 28
#: [I] Share of a two-rate OPM's consumption in the low tariff (NT) by distribution rate, from the hours of
#: NT the rate grants (8 h: D25d/D26d/D27d, 16 h: D35d, 20 h: D45d/D57d, 22 h: D56d; D61d: weekends). An
#: estimate for the first schedule only: after the first settlement the measured VT/NT split is used.
NT_SHARE_BY_RATE: Final[dict[str, Decimal]] = {
    "D25d": Decimal("0.35"), "D26d": Decimal("0.35"), "D27d": Decimal("0.35"), "D35d": Decimal("0.60"),
    "D45d": Decimal("0.80"), "D56d": Decimal("0.85"), "D57d": Decimal("0.80"), "D61d": Decimal("0.50"),
    "C25d": Decimal("0.35"), "C26d": Decimal("0.35"), "C27d": Decimal("0.35"), "C35d": Decimal("0.60"),
    "C45d": Decimal("0.80"), "C46d": Decimal("0.80"), "C55d": Decimal("0.85"), "C56d": Decimal("0.85"),
    "C62d": Decimal("0.50"),
}
#: Any two-rate rate missing above.
NT_SHARE_DEFAULT: Final = Decimal("0.35")
#: Settlement line codes holding the consumption of each register (docs/billing.md, components).
COMMODITY_CODES: Final[dict[str, str]] = {"COMMODITY": "single", "COMMODITY_VT": "vt", "COMMODITY_NT": "nt"}

assert 1 <= DUE_DAY <= 28, "every month has the due day"
assert all(SCHEDULE_MONTHS % count == 0 for count in INSTALMENTS_PER_YEAR.values())
assert all(Decimal(0) <= share <= Decimal(1) for share in NT_SHARE_BY_RATE.values())


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later; only for days that every month has (the first, the 15th)."""
    assert day.day <= 28, day
    index = day.month - 1 + months
    return day.replace(year=day.year + index // 12, month=index % 12 + 1)


def schedule_start(today: dt.date) -> dt.date:
    """A new schedule starts on the first day of the next month: the current month's advance, if any, was
    requested under the schedule in force when the month began."""
    return add_months(today.replace(day=1), 1)


def priced_window(start: dt.date, price_list: PriceList) -> tuple[dt.date, dt.date]:
    """The 12 months to quote: the schedule's own, or where the list ends earlier the newest 12 months it
    has prices for (the prices known now stand for the unknown later ones; a new list means a price change,
    and a price change regenerates the schedules)."""
    meta = price_list.meta
    end = add_months(start, SCHEDULE_MONTHS) - dt.timedelta(days=1)
    if end > meta.valid_to:
        start = add_months(meta.valid_to.replace(day=1), 1 - SCHEDULE_MONTHS)
        end = add_months(start, SCHEDULE_MONTHS) - dt.timedelta(days=1)
    if start < meta.valid_from or end > meta.valid_to:
        reason = f"has prices for {meta.valid_from} … {meta.valid_to}, not for 12 whole months"
        raise InvalidField("price_list", meta.id, reason)
    return start, end


def instalment_amount(annual_total: Decimal, count: int) -> Decimal:
    """The year's total including VAT over ``count`` instalments, rounded up to whole CZK (module doc)."""
    if annual_total < 0:
        raise InvalidField("annual_total", annual_total, "a year of supply cannot cost less than nothing")
    return (annual_total / count).quantize(CZK, rounding=ROUND_CEILING)


def instalment_periods(start: dt.date, count: int) -> list[tuple[dt.date, dt.date]]:
    """``count`` consecutive periods of equal months from ``start`` covering the schedule's 12 months."""
    months = SCHEDULE_MONTHS // count
    firsts = [add_months(start, index * months) for index in range(count + 1)]
    return [(first, after - dt.timedelta(days=1)) for first, after in itertools.pairwise(firsts)]


def due_date(period_from: dt.date, calendar: WorkingCalendar) -> dt.date:
    """Day ``DUE_DAY`` of the period's first month, or the next working day after it (module doc)."""
    day = period_from.replace(day=DUE_DAY)
    return day if calendar.is_working_day(day) else calendar.add_working_days(day, 1)


def received_vat(amount: Decimal, vat_rate: Decimal) -> tuple[Decimal, Decimal]:
    """(base, VAT) in ``amount`` received including VAT at ``vat_rate`` percent (module doc)."""
    if amount <= 0:
        raise InvalidField("amount", amount, "a received payment is positive")
    base = (amount * 100 / (100 + vat_rate)).quantize(CENT, rounding=ROUND_HALF_UP)
    return base, amount - base


def mwh(kwh: Decimal) -> Decimal:
    return (kwh / KWH_PER_MWH).quantize(MWH_PLACES, rounding=ROUND_HALF_UP)


def technical_consumption(
    commodity: str, annual_kwh: Decimal | None, rate_code: str | None, registers: str
) -> Consumption:
    """The quote's consumption from the OPM's expected yearly kWh; ``registers`` ``single`` or ``vt_nt``."""
    if annual_kwh is None or annual_kwh <= 0:
        raise InvalidField("annual_consumption_kwh", annual_kwh, "the OPM has no expected yearly consumption")
    if commodity == "gas":
        return Consumption(kwh=annual_kwh.quantize(CZK, rounding=ROUND_HALF_UP))
    total = mwh(annual_kwh)
    if registers == "single":
        return Consumption(mwh=total)
    share = NT_SHARE_BY_RATE.get(rate_code or "", NT_SHARE_DEFAULT)
    low = (total * share).quantize(MWH_PLACES, ROUND_HALF_UP)
    return Consumption(vt_mwh=total - low, nt_mwh=low)


def settled_consumption(
    commodity: str, settlement: Settlement, tdd: Sequence[Decimal],
) -> Consumption | None:
    """The settlement's consumption per register scaled to a year by ``tdd`` (the commodity's 12 monthly
    weights: a summer's gas is a small share of its year, a winter's a large one); None when the settled
    period is shorter than ``SETTLED_DAYS_MIN`` or holds no consumption.

    yearly = settled × W(the calendar year of its first day) ÷ W(the settled period), W summing the weights
    of ``split.weights`` (each day weighs its month's weight ÷ the month's days), exact in integers, rounded
    once per register."""
    last = max((line.period_to for line in settlement.lines), default=None)
    first = min((line.period_from for line in settlement.lines), default=None)
    if last is None or first is None or (last - first).days + 1 < SETTLED_DAYS_MIN:
        return None
    period_weight = sum(weights(cut(first, last, ()), tdd))
    year_weight = sum(weights(cut(dt.date(first.year, 1, 1), dt.date(first.year, 12, 31), ()), tdd))
    totals: dict[str, Decimal] = {}
    for line in settlement.lines:
        register = COMMODITY_CODES.get(line.code)
        if register is not None:
            totals[register] = totals.get(register, Decimal(0)) + line.quantity
    if not totals or sum(totals.values()) <= 0:
        return None
    yearly = {name: (value * year_weight / period_weight).quantize(MWH_PLACES, ROUND_HALF_UP)
              for name, value in totals.items()}
    if commodity == "gas":
        return Consumption(kwh=(yearly.get("single", Decimal(0)) * KWH_PER_MWH).quantize(CZK))
    if "single" in yearly:
        return Consumption(mwh=yearly["single"])
    return Consumption(vt_mwh=yearly.get("vt", Decimal(0)), nt_mwh=yearly.get("nt", Decimal(0)))


def consumption_mwh(consumption: Consumption) -> dict[str, Decimal]:
    """Per register in MWh, for the schedule's record."""
    if consumption.kwh is not None:
        return {"single": mwh(consumption.kwh)}
    if consumption.mwh is not None:
        return {"single": consumption.mwh}
    return {"vt": consumption.vt_mwh or Decimal(0), "nt": consumption.nt_mwh or Decimal(0)}


def consumption_of(commodity: str, recorded: dict[str, Decimal]) -> Consumption:
    """The inverse of ``consumption_mwh``: a schedule's recorded consumption as the quote's."""
    if commodity == "gas":
        return Consumption(kwh=(recorded["single"] * KWH_PER_MWH).quantize(CZK))
    if "single" in recorded:
        return Consumption(mwh=recorded["single"])
    return Consumption(vt_mwh=recorded["vt"], nt_mwh=recorded["nt"])


def _name_key(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if char.isascii() and char.isalnum())


def product_code(price_list: PriceList, commodity: str, product: str) -> str:
    """The list's product code for the contract's product (its code, or its name ignoring case, diacritics
    and spaces: contracts record the name the customer signed)."""
    if product in price_list.products and price_list.products[product].commodity == commodity:
        return product
    wanted = _name_key(product)
    for code, item in price_list.products.items():
        if item.commodity == commodity and wanted in (_name_key(item.name), _name_key(code)):
            return code
    known = ", ".join(code for code, item in price_list.products.items() if item.commodity == commodity)
    raise InvalidField("product", product, f"is not a product for {commodity} in {price_list.id} ({known})")

