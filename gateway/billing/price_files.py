"""The price-list files under ``rules/prices/<id>/`` as msgspec structs (format: docs/billing.md).

A price list is a directory of TOML files: ``list.toml`` (the list's validity, VAT, taxes, nationwide
regulated prices and the TDD weights), ``products.toml`` (the supplier's products) and one ``dso-<CODE>.toml``
per distribution system operator. TOML numbers are read as ``Decimal`` (``tomllib``'s ``parse_float``), so a
price such as ``2790.10`` is exact. Every versioned price is a list of entries with ``valid_from``; an entry
is valid until the day before the next one's, the last until the list's ``valid_to``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

import msgspec

Code = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
#: A calendar month as the calorific values name it: ``"2026-01"``.
Month = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
#: Months of a year: the TDD weight tables have one weight per month.
MONTHS_PER_YEAR = 12


class _File(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


class Band(_File, frozen=True, kw_only=True):
    """A breaker band: OPMs with ``phases`` and at most ``amps_max`` amps (the first band that fits).
    Priced per month (``monthly``) or per amp and month (``monthly_per_amp``, for large breakers)."""

    phases: Annotated[int, msgspec.Meta(ge=1, le=3)]
    amps_max: Annotated[int, msgspec.Meta(ge=1, le=4000)]
    monthly: Decimal | None = None
    monthly_per_amp: Decimal | None = None


class MwhVersion(_File, frozen=True, kw_only=True):
    valid_from: dt.date
    mwh: Decimal


class MonthlyVersion(_File, frozen=True, kw_only=True):
    valid_from: dt.date
    monthly: Decimal


class PozeVersion(_File, frozen=True, kw_only=True):
    valid_from: dt.date
    mwh: Decimal
    breaker: list[Band]


class VatVersion(_File, frozen=True, kw_only=True):
    """A VAT rate (percent) from ``valid_from``: ``[[vat_rate]]`` when the statutory rate changes."""

    valid_from: dt.date
    percent: Decimal


class Tdd(_File, frozen=True, kw_only=True):
    """Relative monthly weights (January first) of a year's consumption; sample weights in the sample."""

    electricity: list[Decimal]
    gas: list[Decimal]


class ListFile(_File, frozen=True, kw_only=True):
    """``list.toml``."""

    id: Code
    title: str
    sample: bool = False
    default: bool = False
    valid_from: dt.date
    valid_to: dt.date
    #: Percent: one rate for the whole list (``vat_rate = 21``), or versions (``[[vat_rate]]``) when the
    #: statutory rate changes within the list's validity.
    vat_rate: Decimal | list[VatVersion]
    electricity_tax: list[MwhVersion]
    gas_tax: list[MwhVersion]
    system_services: list[MwhVersion]
    poze: list[PozeVersion]
    electricity_market_operator: list[MonthlyVersion]
    gas_market_operator: list[MwhVersion]
    tdd: Tdd


class ProductVersion(_File, frozen=True, kw_only=True):
    """Commodity prices per MWh: ``mwh`` for single-rate, ``vt_mwh``/``nt_mwh`` for two-rate distribution
    rates (electricity); ``mwh`` for gas. ``monthly``: the product's fixed fee."""

    valid_from: dt.date
    mwh: Decimal | None = None
    vt_mwh: Decimal | None = None
    nt_mwh: Decimal | None = None
    monthly: Decimal


class Product(_File, frozen=True, kw_only=True):
    code: Code
    commodity: Literal["electricity", "gas"]
    name: str
    #: Add a rounding line so that the total is whole CZK.
    round_to_whole_czk: bool = False
    #: Split consumption across price periods by the TDD monthly weights instead of by days.
    split_by_tdd: bool = False
    version: list[ProductVersion]


class ProductsFile(_File, frozen=True, kw_only=True):
    """``products.toml``."""

    product: list[Product]


class RateVersion(_File, frozen=True, kw_only=True):
    """Distribution per MWh (``mwh`` single-rate, ``vt_mwh``/``nt_mwh`` two-rate) and the breaker fee."""

    valid_from: dt.date
    mwh: Decimal | None = None
    vt_mwh: Decimal | None = None
    nt_mwh: Decimal | None = None
    breaker: list[Band]


class Rate(_File, frozen=True, kw_only=True):
    code: Code
    registers: Literal["single", "vt_nt"]
    version: list[RateVersion]


class GasBandVersion(_File, frozen=True, kw_only=True):
    valid_from: dt.date
    mwh: Decimal
    monthly: Decimal


class GasBand(_File, frozen=True, kw_only=True):
    code: Code
    version: list[GasBandVersion]


class CalorificValue(_File, frozen=True, kw_only=True):
    """The gas DSO's gross calorific value (spalné teplo) of its distribution area in a month, kWh/m³."""

    month: Month
    kwh_per_m3: Decimal


class CalorificArea(_File, frozen=True, kw_only=True):
    """One of a gas DSO's calorific-value areas (oblast spalného tepla) and its monthly values: an OPM whose
    master data names the area (``gas_area``) is converted with these instead of the DSO's ``calorific``."""

    code: Code
    name: str = ""
    calorific: list[CalorificValue] = []


class DsoFile(_File, frozen=True, kw_only=True):
    """``dso-<CODE>.toml``: an electricity DSO's rates or a gas DSO's consumption bands and the monthly
    calorific values of its distribution area (``calorific``; gas read in m³ is billed in kWh with them),
    and of each of its areas where they differ (``area``)."""

    dso: Code
    name: str
    commodity: Literal["electricity", "gas"]
    rate: list[Rate] = []
    band: list[GasBand] = []
    calorific: list[CalorificValue] = []
    area: list[CalorificArea] = []
