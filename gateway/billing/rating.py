"""The components of a quote and their lines: one line per component and price version in the period.

A component is priced per MWh (of one register, or of all registers together) or per month. Its line for a
price version adds up the quantities of the pieces within that version (``split``) and prices them:
``amount = quantity × unit_price`` rounded half-up to 0.01 CZK. POZE is one component with two variants;
per POZE price version the cheaper of the two is billed (ties: per MWh). A VAT rate change within a price
version splits its line too: every line bears the one rate in force over its days.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Final, Literal

from gateway.billing.price_files import Band, MonthlyVersion, MwhVersion
from gateway.billing.prices import PriceList, spans
from gateway.billing.split import half_up
from gateway.errors import InvalidField
from schemas.billing.settlement import SettlementLine

CZK_STEP: Final = Decimal("0.01")
#: Where a component's quantity comes from: one register's MWh, all registers' MWh, or months.
Source = Literal["single", "vt", "nt", "all", "months"]
UNIT_BY_SOURCE: Final[dict[str, str]] = {"months": "month"}
REGISTER_SUFFIX: Final[dict[str, str]] = {"single": "", "vt": "_VT", "nt": "_NT"}
REGISTER_TEXT: Final[dict[str, str]] = {"single": "", "vt": " VT", "nt": " NT"}
PRODUCT_KEY: Final[dict[str, str]] = {"single": "mwh", "vt": "vt_mwh", "nt": "nt_mwh"}


@dataclass(frozen=True)
class Priced:
    """A price version of a component: its days and unit price."""

    valid_from: dt.date
    valid_to: dt.date
    unit_price: Decimal


@dataclass(frozen=True)
class Component:
    code: str
    text: str
    source: Source
    versions: list[Priced]


def clip(versions: Sequence[Priced], start: dt.date, end: dt.date) -> list[Priced]:
    """The versions' parts within ``start`` … ``end`` (a technical-data segment of the period)."""
    return [
        Priced(max(version.valid_from, start), min(version.valid_to, end), version.unit_price)
        for version in versions if version.valid_from <= end and start <= version.valid_to
    ]


def mwh_prices(entries: Sequence[MwhVersion], price_list: PriceList) -> list[Priced]:
    return [Priced(s.valid_from, s.valid_to, s.entry.mwh) for s in spans(entries, price_list.meta.valid_to)]


def monthly_prices(entries: Sequence[MonthlyVersion], price_list: PriceList) -> list[Priced]:
    versions = spans(entries, price_list.meta.valid_to)
    return [Priced(s.valid_from, s.valid_to, s.entry.monthly) for s in versions]


def breaker_price(bands: Sequence[Band], phases: int, amps: int, what: str, field: str) -> Decimal:
    """The monthly price of the first band of the OPM's phases that its amps fit (``field`` names the
    request's field that gave the breaker: ``opm`` or ``opm_changes[i]``)."""
    for band in bands:
        if band.phases == phases and amps <= band.amps_max:
            if band.monthly is not None:
                return band.monthly
            assert band.monthly_per_amp is not None
            return band.monthly_per_amp * amps
    raise InvalidField(f"{field}.breaker_amps", amps, f"{what} has no breaker band for {phases} × {amps} A")


def vat_parts(version: Priced, vat: Sequence[Priced]) -> list[tuple[dt.date, dt.date, Decimal]]:
    """The parts of a price version under each VAT rate: (first day, last day, rate)."""
    return [
        (max(version.valid_from, rate.valid_from), min(version.valid_to, rate.valid_to), rate.unit_price)
        for rate in vat if rate.valid_from <= version.valid_to and version.valid_from <= rate.valid_to
    ]


def line(
    code: str, text: str, start: dt.date, end: dt.date, quantity: Decimal, unit: str, unit_price: Decimal,
    vat_rate: Decimal,
) -> SettlementLine:
    return SettlementLine(
        code=code, text=text, period_from=start, period_to=end, quantity=quantity, unit=unit,
        unit_price=unit_price, amount=half_up(quantity * unit_price, CZK_STEP), vat_rate=vat_rate,
    )
