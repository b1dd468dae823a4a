"""Checks of a price list beyond the files' shape: dates in order and within the list, prices that are
finite and not negative, the price keys a rate or product needs, codes that are unique. Each problem names
the file, the field (dotted path, list indices in brackets) and the value."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

import msgspec

from gateway.billing.consumption import CALORIFIC_VALUE_MAX
from gateway.billing.price_files import (
    MONTHS_PER_YEAR,
    Band,
    CalorificValue,
    DsoFile,
    ListFile,
    ProductsFile,
)

#: A price above this (CZK per MWh or per month) is a typing error, not a tariff.
PRICE_MAX: Final = Decimal("1000000")
#: Prices carry at most this many decimal places (CZK with haléře, or a finer unit price).
PRICE_DECIMALS_MAX: Final = 4
#: A VAT rate in percent has at most this many decimal places (statutory rates are whole percents).
VAT_DECIMALS_MAX: Final = 2
#: Decimal places of a calorific value (kWh/m³): the DSOs publish three or four.
CALORIFIC_DECIMALS_MAX: Final = 4
#: The commodity prices an electricity product may have: single-rate, two-rate, or both.
_ELECTRICITY_PRODUCT_KEYS: Final = ({"mwh"}, {"vt_mwh", "nt_mwh"}, {"mwh", "vt_mwh", "nt_mwh"})


@dataclass(frozen=True)
class Problem:
    file: str
    field: str
    value: object
    reason: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.field}" if self.field else self.file
        shown = "" if self.value is None else f" (value {self.value!r})"
        return f"{where}: {self.reason}{shown}"


def check_documents(
    directory_name: str, meta: ListFile, products: ProductsFile, dsos: Sequence[tuple[str, DsoFile]],
) -> list[Problem]:
    problems = list(_check_meta(directory_name, meta))
    problems += _check_prices("list.toml", meta)
    problems += _check_products(meta, products)
    seen: dict[tuple[str, str], str] = {}
    for file, dso in dsos:
        problems += _check_dso(file, meta, dso)
        problems += _check_prices(file, dso)
        key = (dso.commodity, dso.dso)
        if key in seen:
            problems.append(Problem(file, "dso", dso.dso, f"is already defined in {seen[key]}"))
        seen[key] = file
    return problems


def _check_meta(directory_name: str, meta: ListFile) -> Iterator[Problem]:
    file = "list.toml"
    if meta.id != directory_name:
        yield Problem(file, "id", meta.id, f"must equal the directory name {directory_name!r}")
    if meta.valid_to < meta.valid_from:
        yield Problem(file, "valid_to", str(meta.valid_to), "is before valid_from")
    yield from _check_vat(file, meta)
    for name in ("electricity_tax", "gas_tax", "system_services", "poze", "electricity_market_operator",
                 "gas_market_operator"):
        yield from _check_dates(file, name, getattr(meta, name), meta)
    for index, version in enumerate(meta.poze):
        yield from _check_bands(file, f"poze[{index}].breaker", version.breaker)
    for commodity in ("electricity", "gas"):
        weights: list[Decimal] = getattr(meta.tdd, commodity)
        if len(weights) != MONTHS_PER_YEAR:
            yield Problem(file, f"tdd.{commodity}", len(weights), f"needs {MONTHS_PER_YEAR} monthly weights")
        for month, weight in enumerate(weights):
            if not weight > 0:
                yield Problem(file, f"tdd.{commodity}[{month}]", str(weight), "must be greater than 0")


def _check_vat(file: str, meta: ListFile) -> Iterator[Problem]:
    """One rate, or versions like any other price (the first from the list's start, in date order)."""
    if not isinstance(meta.vat_rate, list):
        rates = [("vat_rate", meta.vat_rate)]
    else:
        yield from _check_dates(file, "vat_rate", meta.vat_rate, meta)
        rates = [(f"vat_rate[{number}].percent", item.percent) for number, item in enumerate(meta.vat_rate)]
    for field, rate in rates:
        if not (rate.is_finite() and Decimal(0) <= rate <= Decimal(100)):
            yield Problem(file, field, str(rate), "must be a percentage from 0 to 100")
        elif -rate.as_tuple().exponent > VAT_DECIMALS_MAX:  # type: ignore[operator]
            yield Problem(file, field, str(rate), f"has more than {VAT_DECIMALS_MAX} decimal places")


def _check_dates(file: str, field: str, versions: Sequence[Any], meta: ListFile) -> Iterator[Problem]:
    if not versions:
        yield Problem(file, field, None, "needs at least one version")
    previous: dt.date | None = None
    for index, version in enumerate(versions):
        day: dt.date = version.valid_from
        where = f"{field}[{index}].valid_from"
        if not meta.valid_from <= day <= meta.valid_to:
            yield Problem(file, where, str(day), f"is outside the list ({meta.valid_from}..{meta.valid_to})")
        if index == 0 and day != meta.valid_from:
            # Every price covers the whole list, so that a period within the list always has a price.
            reason = f"the first version must start with the list ({meta.valid_from})"
            yield Problem(file, where, str(day), reason)
        if previous is not None and day <= previous:
            yield Problem(file, where, str(day), f"must be after the previous version's {previous}")
        previous = day


def _check_bands(file: str, field: str, bands: Sequence[Band]) -> Iterator[Problem]:
    if not bands:
        yield Problem(file, field, None, "needs at least one breaker band")
    last: dict[int, int] = {}
    for index, band in enumerate(bands):
        if (band.monthly is None) == (band.monthly_per_amp is None):
            yield Problem(file, f"{field}[{index}]", None, "needs exactly one of monthly, monthly_per_amp")
        if band.amps_max <= last.get(band.phases, 0):
            yield Problem(file, f"{field}[{index}].amps_max", band.amps_max,
                          f"must be above the previous {band.phases}-phase band's {last[band.phases]}")
        last[band.phases] = band.amps_max


def _check_products(meta: ListFile, products: ProductsFile) -> Iterator[Problem]:
    file, seen = "products.toml", set()
    yield from _check_prices(file, products)
    for index, product in enumerate(products.product):
        where = f"product[{index}]"
        if product.code in seen:
            yield Problem(file, f"{where}.code", product.code, "is already defined")
        seen.add(product.code)
        yield from _check_dates(file, f"{where}.version", product.version, meta)
        for number, version in enumerate(product.version):
            keys = {key for key in ("mwh", "vt_mwh", "nt_mwh") if getattr(version, key) is not None}
            at = f"{where}.version[{number}]"
            if product.commodity == "gas" and keys != {"mwh"}:
                yield Problem(file, at, sorted(keys), "a gas product needs mwh (and no vt_mwh, nt_mwh)")
            if product.commodity == "electricity" and keys not in _ELECTRICITY_PRODUCT_KEYS:
                yield Problem(file, at, sorted(keys), "needs mwh, or vt_mwh with nt_mwh, or all three")


def _check_dso(file: str, meta: ListFile, dso: DsoFile) -> Iterator[Problem]:
    if file != f"dso-{dso.dso}.toml":
        yield Problem(file, "dso", dso.dso, f"must match the file name (dso-{dso.dso}.toml)")
    if dso.commodity == "electricity" and (dso.band or not dso.rate):
        yield Problem(file, "rate", None, "an electricity DSO has [[rate]] entries and no [[band]]")
    if dso.commodity == "gas" and (dso.rate or not dso.band):
        yield Problem(file, "band", None, "a gas DSO has [[band]] entries and no [[rate]]")
    codes: set[str] = set()
    for index, rate in enumerate(dso.rate):
        if rate.code in codes:
            yield Problem(file, f"rate[{index}].code", rate.code, "is already defined")
        codes.add(rate.code)
        yield from _check_dates(file, f"rate[{index}].version", rate.version, meta)
        needed = {"mwh"} if rate.registers == "single" else {"vt_mwh", "nt_mwh"}
        for number, version in enumerate(rate.version):
            keys = {key for key in ("mwh", "vt_mwh", "nt_mwh") if getattr(version, key) is not None}
            at = f"rate[{index}].version[{number}]"
            if keys != needed:
                reason = f"registers = {rate.registers!r} needs {sorted(needed)}"
                yield Problem(file, at, sorted(keys), reason)
            yield from _check_bands(file, f"{at}.breaker", version.breaker)
    for index, band in enumerate(dso.band):
        if band.code in codes:
            yield Problem(file, f"band[{index}].code", band.code, "is already defined")
        codes.add(band.code)
        yield from _check_dates(file, f"band[{index}].version", band.version, meta)
    if (dso.calorific or dso.area) and dso.commodity != "gas":
        field = "calorific" if dso.calorific else "area"
        yield Problem(file, field, None, "calorific values are for a gas DSO")
    yield from _check_calorific(file, meta, dso.calorific, "")
    areas: set[str] = set()
    for index, area in enumerate(dso.area):
        if area.code in areas:
            yield Problem(file, f"area[{index}].code", area.code, "is already defined")
        areas.add(area.code)
        yield from _check_calorific(file, meta, area.calorific, f"area[{index}].")


def _check_calorific(
    file: str, meta: ListFile, values: Sequence[CalorificValue], prefix: str,
) -> Iterator[Problem]:
    """Months within the list, in order, each once; values above 0 and at most ``CALORIFIC_VALUE_MAX``.
    A month may be missing (the DSO publishes a month's value after it): billing refuses gas of that month
    read in m³, naming it, and the list stays usable for everything else."""
    first, last = meta.valid_from.replace(day=1), meta.valid_to.replace(day=1)
    previous: dt.date | None = None
    for index, value in enumerate(values):
        where = f"{prefix}calorific[{index}]"
        year, number = value.month.split("-")
        month = dt.date(int(year), int(number), 1)
        if not first <= month <= last:
            yield Problem(file, f"{where}.month", value.month,
                          f"is outside the list ({meta.valid_from}..{meta.valid_to})")
        if previous is not None and month <= previous:
            yield Problem(file, f"{where}.month", value.month,
                          f"must be after the previous month {previous:%Y-%m}")
        previous = month
        rate = value.kwh_per_m3
        if not (rate.is_finite() and Decimal(0) < rate <= CALORIFIC_VALUE_MAX):
            yield Problem(file, f"{where}.kwh_per_m3", str(rate),
                          f"must be above 0 and at most {CALORIFIC_VALUE_MAX} kWh/m³")
        elif -rate.as_tuple().exponent > CALORIFIC_DECIMALS_MAX:  # type: ignore[operator]
            yield Problem(file, f"{where}.kwh_per_m3", str(rate),
                          f"has more than {CALORIFIC_DECIMALS_MAX} decimal places")


def _check_prices(file: str, document: msgspec.Struct) -> Iterator[Problem]:
    """Every Decimal of the document (but the VAT rate, TDD weights and calorific values, checked apart) is a
    price."""
    for field, value in _decimals(msgspec.to_builtins(document, builtin_types=(Decimal, dt.date)), ""):
        if field.startswith(("vat_rate", "tdd.", "calorific[", "area[")):
            continue
        if not value.is_finite() or value < 0 or value > PRICE_MAX:
            yield Problem(file, field, str(value), f"must be a price from 0 to {PRICE_MAX}")
        elif -value.as_tuple().exponent > PRICE_DECIMALS_MAX:  # type: ignore[operator]
            yield Problem(file, field, str(value), f"has more than {PRICE_DECIMALS_MAX} decimal places")


def _decimals(value: object, path: str) -> Iterator[tuple[str, Decimal]]:
    if isinstance(value, Decimal):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _decimals(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _decimals(item, f"{path}[{index}]")
