"""The price calculator's exact contract: ``proud billing quote FILE.json`` and ``POST /api/billing/quote``.

Other tools depend on these shapes: field names and meanings do not change without a new version. Every
money amount and quantity is an exact decimal, written as a decimal string in JSON (msgspec encodes
``Decimal`` as a string); a float in the input is refused.

Request (electricity)::

    {"commodity": "electricity", "period_from": "2026-01-01", "period_to": "2026-12-31",
     "opm": {"dso": "<code>", "rate": "D02d", "breaker_phases": 3, "breaker_amps": 25},
     "product": "<product code>", "price_list": "<optional id or path; default: the bundled sample>",
     "consumption": {"vt_mwh": "2.100", "nt_mwh": "0"},
     "advances_paid": "9000.00"}

``consumption`` may instead be ``"readings": [{"register": "vt", "date": "2026-01-01", "value": "1000.0"},
…]`` (meter states in kWh, at least two per register). Gas: ``opm.band`` instead of rate and breaker, and
``consumption.kwh``, or readings in m³ with ``gas_conversion`` (conversion factor and calorific value).

Optional fields added after the first version (an old request gives the same result): ``gas_tax_exempt``;
``opm_changes`` (technical data changing inside the period); ``gas_conversion.calorific_values`` (a
calorific value per month) or neither calorific field (the price list's values of the OPM's DSO).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

import msgspec

Commodity = Literal["electricity", "gas"]
Register = Literal["vt", "nt", "single"]
#: Quantities and amounts of the request: must not be negative (msgspec cannot bound a Decimal, so the
#: calculator checks it and names the field); the settlement's own amounts may be negative (a credit line).
NonNegative = Decimal
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]


class _Strict(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


class QuoteOpm(_Strict, frozen=True, kw_only=True):
    #: The DSO whose regulated prices apply (its code in the price list, e.g. ``CEZ``, ``PRE``, ``EGD``).
    dso: Code
    #: Electricity: the distribution rate (sazba, e.g. D02d) and the main circuit breaker.
    rate: Code | None = None
    breaker_phases: Annotated[int, msgspec.Meta(ge=1, le=3)] | None = None
    breaker_amps: Annotated[int, msgspec.Meta(ge=1, le=4000)] | None = None
    #: Gas: the consumption band of the distribution tariff (e.g. ``7.56-15`` MWh/year).
    band: Code | None = None


class OpmChange(_Strict, frozen=True, kw_only=True):
    """Technical data changing on ``valid_from`` (inside the period, after its first day): the fields given
    replace ``opm``'s (or the previous change's) from that day; those left out stay as they were."""

    valid_from: dt.date
    rate: Code | None = None
    breaker_phases: Annotated[int, msgspec.Meta(ge=1, le=3)] | None = None
    breaker_amps: Annotated[int, msgspec.Meta(ge=1, le=4000)] | None = None
    band: Code | None = None


class ProductChange(_Strict, frozen=True, kw_only=True):
    """The supplier's product changing on ``valid_from`` (inside the period, after its first day): its
    commodity prices and fee apply from that day, like a price change."""

    valid_from: dt.date
    product: Code


class Consumption(_Strict, frozen=True, kw_only=True):
    """Consumption of the whole period: electricity in MWh per register (VT/NT, or ``mwh`` single-rate),
    gas in kWh."""

    vt_mwh: NonNegative | None = None
    nt_mwh: NonNegative | None = None
    mwh: NonNegative | None = None
    kwh: NonNegative | None = None


class QuoteReading(_Strict, frozen=True, kw_only=True):
    """A meter state on a day: kWh for electricity, m³ for gas."""

    register: Register
    date: dt.date
    value: NonNegative


class CalorificValue(_Strict, frozen=True, kw_only=True):
    """The distribution area's calorific value in a month (``"2026-09"``), kWh/m³."""

    month: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
    kwh_per_m3: Decimal  # > 0, checked by the calculator


class GasConversion(_Strict, frozen=True, kw_only=True):
    """kWh = m³ × conversion factor × calorific value (vyhláška 108/2011 Sb., Příloha 1).

    One calorific value for the period (``calorific_value_kwh_per_m3``, the first version), or one per month
    of the period (``calorific_values``: the m³ are shared to the months as the product shares consumption,
    by days or TDD weights), or neither: the price list's monthly values of the OPM's DSO."""

    conversion_factor: Decimal  # > 0, checked by the calculator
    calorific_value_kwh_per_m3: Decimal | None = None  # > 0, checked by the calculator
    calorific_values: list[CalorificValue] | None = None


class QuoteRequest(_Strict, frozen=True, kw_only=True):
    commodity: Commodity
    period_from: dt.date
    period_to: dt.date  # inclusive
    opm: QuoteOpm
    product: Code
    #: A price-list id (a bundled list) or a path to a price-list file; None: the bundled sample.
    price_list: str | None = None
    consumption: Consumption | None = None
    readings: list[QuoteReading] | None = None
    gas_conversion: GasConversion | None = None
    advances_paid: NonNegative = Decimal("0")
    #: Gas only: the supply is exempt from the gas tax (gas for households, zákon 261/2007 Sb. část 45 §4);
    #: false (the default) bills the tax. Added after the first version: optional, so old requests still fit.
    gas_tax_exempt: bool = False
    #: Technical data changing inside the period, in date order (added after the first version; optional).
    opm_changes: list[OpmChange] | None = None
    #: The product changing inside the period, in date order (added later; optional).
    product_changes: list[ProductChange] | None = None


class SettlementLine(msgspec.Struct, frozen=True, kw_only=True):
    """One component for one price period: ``amount`` = ``quantity`` × ``unit_price``, half-up to 0.01."""

    code: str
    text: str
    period_from: dt.date
    period_to: dt.date
    quantity: Decimal
    unit: str  # MWh, kWh, month, day, CZK
    unit_price: Decimal
    amount: Decimal
    vat_rate: Decimal  # percent, e.g. 21


class VatRecap(msgspec.Struct, frozen=True, kw_only=True):
    """Per rate: ``vat`` = sum of that rate's line amounts × rate / 100, half-up to 0.01."""

    rate: Decimal
    base: Decimal
    vat: Decimal


class Settlement(msgspec.Struct, frozen=True, kw_only=True):
    lines: list[SettlementLine]
    vat: list[VatRecap]
    total_base: Decimal
    total_vat: Decimal
    total: Decimal  # total_base + total_vat
    advances_paid: Decimal
    balance: Decimal  # total - advances_paid: positive is due from the customer, negative an overpayment
