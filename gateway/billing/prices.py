"""Price lists loaded and checked: every problem names the file, the field and the value.

``load_price_list`` reads one list directory (``rules/prices/<id>/``) into a ``PriceList`` or raises
``PriceListInvalid`` with every problem found; ``check_price_lists`` checks every list under the root (what
``proud billing prices check`` prints). Lists are cached by their files' sizes and modification times, so a
price file edited on disk is read again on the next quote.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Final, Generic, Protocol, TypeVar

import msgspec

from gateway.billing.price_checks import Problem, check_documents
from gateway.billing.price_files import (
    DsoFile,
    GasBand,
    ListFile,
    Product,
    ProductsFile,
    Rate,
    VatVersion,
)
from gateway.errors import InvalidField, ProudError
from gateway.http.bodies import invalid_field

if TYPE_CHECKING:
    from gateway.billing.rating_plan import RatingPlan

LIST_FILE: Final = "list.toml"
PRODUCTS_FILE: Final = "products.toml"
DSO_FILE: Final = re.compile(r"^dso-(?P<code>[A-Za-z0-9_-]+)\.toml$")
#: A price-list id: a directory name under the prices root (no path separators, no "..").
LIST_ID: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
#: Price files one list may have (list, products and the DSOs): a bound on what a directory can make us read.
LIST_FILES_MAX: Final = 64
#: Bytes of one price file at most.
PRICE_FILE_BYTES_MAX: Final = 1_048_576
#: Price lists kept parsed in memory.
LIST_CACHE_MAX: Final = 16


class PriceListInvalid(ProudError):
    """A price list has problems; ``problems`` lists them all."""

    def __init__(self, path: Path, problems: Sequence[Problem]) -> None:
        shown = "; ".join(str(problem) for problem in problems[:3])
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        super().__init__(f"price list {path} is invalid: {shown}{more}")
        self.problems = list(problems)


class _Dated(Protocol):
    @property
    def valid_from(self) -> dt.date: ...


D = TypeVar("D", bound=_Dated)


@dataclass(frozen=True)
class Span(Generic[D]):
    """One price version and the days it is valid (both inclusive)."""

    index: int
    valid_from: dt.date
    valid_to: dt.date
    entry: D


def spans(entries: Sequence[D], list_valid_to: dt.date) -> list[Span[D]]:
    """The versions with their end dates: each ends the day before the next begins, the last with the list."""
    ends = [entry.valid_from - dt.timedelta(days=1) for entry in entries[1:]] + [list_valid_to]
    pairs = enumerate(zip(entries, ends, strict=True))
    return [Span(index, entry.valid_from, end, entry) for index, (entry, end) in pairs]


@dataclass(frozen=True)
class PriceList:
    id: str
    path: Path
    meta: ListFile
    products: dict[str, Product]
    #: Electricity: DSO code → rate code → rate.
    rates: dict[str, dict[str, Rate]]
    #: Gas: DSO code → band code → band.
    bands: dict[str, dict[str, GasBand]]
    #: The VAT rate's versions (one from the list's start when ``list.toml`` has a single ``vat_rate``).
    vat: list[VatVersion]
    #: Gas: DSO code → first day of a month → the distribution area's calorific value (kWh/m³) that month.
    calorific: dict[str, dict[dt.date, Decimal]]
    #: Gas: DSO code → area code → first day of a month → the area's calorific value (kWh/m³).
    calorific_areas: dict[str, dict[str, dict[dt.date, Decimal]]]
    #: The quotes' rating plans with this list's prices (``rating_plan``): kept with the list, so that a
    #: changed list (a new object) never rates with an old plan.
    plans: dict[Hashable, RatingPlan] = field(default_factory=dict, compare=False, repr=False)

    def calorific_of(self, dso: str, area: str | None) -> dict[dt.date, Decimal] | None:
        """The monthly calorific values of ``dso``'s ``area`` (the DSO's own without one); None for an
        area the list does not know."""
        if area is None:
            return self.calorific.get(dso, {})
        return self.calorific_areas.get(dso, {}).get(area)


def vat_versions(meta: ListFile) -> list[VatVersion]:
    """``vat_rate`` as versions: a single rate is one version from the list's start."""
    if isinstance(meta.vat_rate, list):
        return meta.vat_rate
    return [VatVersion(valid_from=meta.valid_from, percent=meta.vat_rate)]


def month_start(month: str) -> dt.date:
    """``"2026-09"`` → 1 September 2026 (the format is checked by the file's type)."""
    year, number = month.split("-")
    return dt.date(int(year), int(number), 1)


_cache: dict[Path, tuple[tuple[tuple[str, int, int], ...], PriceList]] = {}


def load_price_list(directory: Path) -> PriceList:
    """The price list in ``directory``; ``PriceListInvalid`` with every problem if it has any."""
    directory = directory.resolve()
    files = _list_files(directory)
    stamp = tuple((path.name, path.stat().st_mtime_ns, path.stat().st_size) for path in files)
    cached = _cache.get(directory)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    price_list, problems = _read(directory, files)
    if problems or price_list is None:
        raise PriceListInvalid(directory, problems)
    if len(_cache) >= LIST_CACHE_MAX:
        _cache.clear()
    _cache[directory] = (stamp, price_list)
    return price_list


def _list_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        raise PriceListInvalid(directory, [Problem(str(directory), "", None, "is not a directory")])
    files = sorted(path for path in directory.iterdir() if path.suffix == ".toml")
    if len(files) > LIST_FILES_MAX:
        problem = Problem(str(directory), "", len(files), f"has more than {LIST_FILES_MAX} price files")
        raise PriceListInvalid(directory, [problem])
    return files


def check_price_lists(root: Path) -> tuple[list[str], list[Problem]]:
    """The ids of the lists under ``root`` and every problem of every list (and of the default choice)."""
    problems: list[Problem] = []
    ids, defaults = [], []
    for directory in sorted(path for path in root.iterdir() if path.is_dir()):
        ids.append(directory.name)
        try:
            problems.extend(_read(directory, _list_files(directory))[1])
        except PriceListInvalid as exc:
            problems.extend(exc.problems)
        if _is_default(directory):
            defaults.append(directory.name)
    if len(defaults) != 1:
        problems.append(Problem(str(root), "default", defaults, "exactly one list must have default = true"))
    return ids, problems


_defaults: dict[tuple[Path, int, int], bool] = {}


def _is_default(directory: Path) -> bool:
    """Whether the list says ``default = true`` (read on its own: a list with other problems still counts).
    Remembered per file version, as a request without ``price_list`` asks this every time."""
    head = directory / LIST_FILE
    try:
        status = head.stat()
        key = (head, status.st_mtime_ns, status.st_size)
        if key not in _defaults:
            if len(_defaults) >= LIST_CACHE_MAX:
                _defaults.clear()
            _defaults[key] = _parse(head).get("default") is True
        return _defaults[key]
    except (PriceListInvalid, tomllib.TOMLDecodeError, OSError, UnicodeDecodeError):
        return False


def default_list(root: Path) -> Path:
    """The directory of the list marked ``default = true`` under ``root``."""
    for directory in sorted(path for path in root.iterdir() if path.is_dir()):
        if _is_default(directory):
            return directory
    raise InvalidField("price_list", None, f"no price list under {root} has default = true")


def _parse(path: Path) -> dict[str, object]:
    if path.stat().st_size > PRICE_FILE_BYTES_MAX:
        raise PriceListInvalid(path, [Problem(path.name, "", None, f"is over {PRICE_FILE_BYTES_MAX} bytes")])
    return tomllib.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)


def _convert(path: Path, kind: type[msgspec.Struct], problems: list[Problem]) -> msgspec.Struct | None:
    """The file as ``kind``; a TOML or shape error becomes a problem naming the field and value."""
    try:
        raw = _parse(path)
    except tomllib.TOMLDecodeError as exc:
        problems.append(Problem(path.name, "", None, f"is not valid TOML: {exc}"))
        return None
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(path.name, "", None, f"cannot be read: {exc}"))
        return None
    try:
        return msgspec.convert(raw, type=kind)
    except msgspec.ValidationError as exc:
        invalid = invalid_field(str(exc), msgspec.json.encode(raw))
        problems.append(Problem(path.name, invalid.field, invalid.value, invalid.reason))
        return None


def _read(directory: Path, files: list[Path]) -> tuple[PriceList | None, list[Problem]]:
    problems: list[Problem] = []
    meta = products = None
    dsos: list[tuple[str, DsoFile]] = []
    for path in files:
        named = DSO_FILE.match(path.name)
        if path.name == LIST_FILE:
            meta = _convert(path, ListFile, problems)
        elif path.name == PRODUCTS_FILE:
            products = _convert(path, ProductsFile, problems)
        elif named:
            dso = _convert(path, DsoFile, problems)
            if isinstance(dso, DsoFile):
                dsos.append((path.name, dso))
        else:
            reason = "is not list.toml, products.toml or dso-<CODE>.toml"
            problems.append(Problem(path.name, "", None, reason))
    for name, _kind, found in ((LIST_FILE, ListFile, meta), (PRODUCTS_FILE, ProductsFile, products)):
        if found is None and not any(problem.file == name for problem in problems):
            problems.append(Problem(name, "", None, f"is missing from {directory}"))
    if not isinstance(meta, ListFile) or not isinstance(products, ProductsFile):
        return None, problems
    problems.extend(check_documents(directory.name, meta, products, dsos))
    if problems:
        return None, problems
    return _assemble(directory, meta, products, dsos), problems


def _assemble(
    directory: Path, meta: ListFile, products: ProductsFile, dsos: list[tuple[str, DsoFile]],
) -> PriceList:
    rates = {dso.dso: {rate.code: rate for rate in dso.rate} for _, dso in dsos if dso.commodity != "gas"}
    bands = {dso.dso: {band.code: band for band in dso.band} for _, dso in dsos if dso.commodity == "gas"}
    calorific = {
        dso.dso: {month_start(value.month): value.kwh_per_m3 for value in dso.calorific}
        for _, dso in dsos if dso.commodity == "gas"
    }
    areas = {
        dso.dso: {area.code: {month_start(value.month): value.kwh_per_m3 for value in area.calorific}
                  for area in dso.area}
        for _, dso in dsos if dso.commodity == "gas"
    }
    return PriceList(
        id=meta.id, path=directory, meta=meta, rates=rates, bands=bands, vat=vat_versions(meta),
        calorific=calorific, calorific_areas=areas,
        products={product.code: product for product in products.product},
    )
