"""Properties of every settlement, over random OPMs, products, periods and consumptions (hypothesis).

1. Lines and totals agree: each amount is quantity × unit price half-up to 0.01; the VAT recap holds each
   rate's line amounts and their VAT half-up; total = total_base + total_vat; balance = total − advances.
2. Splitting: settling a period in two parts (at any day ``d``, each part given the consumption the whole
   allocates to it) differs from settling the whole by no more than the stated rounding (docs/billing.md):

   |Σ whole − Σ parts| ≤ 0.005 CZK × (lines of the whole + lines of both parts)
                        + Σ over price changes inside a part, per register: 0.001 MWh × |per-MWh price step|

   over every line but POZE and the rounding line. POZE is the lower of two variants per price period, so
   settling in parts can only lower it: POZE(parts) ≤ POZE(whole) + 0.005 CZK × its lines + 0.001 MWh × its
   per-MWh price per boundary of its periods inside a part (a breaker, POZE price or VAT change there: the
   part re-shares its consumption, so up to 1 kWh may land on the other side of it).

Requests may carry technical changes (``opm_changes``: a breaker, a rate of the same register layout, a gas
band) and use a copy of the SAMPLE list whose VAT rate changes twice (``vat-2026``); a part then starts with
the technical data in force on its first day and keeps the changes inside it.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.billing.prices import load_price_list
from gateway.billing.quote import decode_quote, quote
from gateway.billing.rating import CZK_STEP
from gateway.billing.split import allocate, cut, half_up, weights
from schemas.billing.settlement import Settlement
from tests.billing.quote.support import PRICES

PRICE_LIST = load_price_list(PRICES / "sample-2026")
YEAR_START, YEAR_END = dt.date(2026, 1, 1), dt.date(2026, 12, 31)
LINE_ROUNDING = Decimal("0.005")
KWH = Decimal("0.001")
#: Lines priced per MWh of all registers together; the others are per MWh of their own register.
ALL_REGISTERS = {"SYSTEM_SERVICES", "ELECTRICITY_TAX"}
REGISTER_OF = {"_VT": "vt", "_NT": "nt"}
SKIPPED = {"POZE", "ROUNDING"}
#: The copy of the SAMPLE list whose VAT rate changes mid-May and again in November (to 0 %, as in the
#: 2021 waiver, so that supplies share the 0 % recap entry with the rounding line).
VAT_LIST = "vat-2026"
VAT_VERSIONS = """[[vat_rate]]
valid_from = 2026-01-01
percent = 21

[[vat_rate]]
valid_from = 2026-05-15
percent = 12

[[vat_rate]]
valid_from = 2026-11-01
percent = 0
"""
_roots: list[Path] = []


@pytest.fixture(scope="module", autouse=True)
def prices_root() -> Iterator[Path]:
    """A prices root with the SAMPLE list and its VAT-changing copy; removed after the module."""
    root = Path(tempfile.mkdtemp(prefix="proud-prices-"))
    shutil.copytree(PRICES / "sample-2026", root / "sample-2026")
    shutil.copytree(PRICES / "sample-2026", root / VAT_LIST)
    head = root / VAT_LIST / "list.toml"
    text = head.read_text(encoding="utf-8").replace('id = "sample-2026"', f'id = "{VAT_LIST}"')
    text = text.replace("default = true", "default = false")
    text = text.replace("vat_rate = 21  # percent\n", VAT_VERSIONS)
    head.write_text(text, encoding="utf-8")
    _roots.append(root)
    yield root
    _roots.remove(root)
    shutil.rmtree(root)


def settle(request: dict[str, Any]) -> Settlement:
    return quote(decode_quote(msgspec.json.encode(request)), _roots[-1])


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    """A valid request over at least two days of 2026 (so that it can be cut)."""
    start = draw(st.dates(YEAR_START, YEAR_END - dt.timedelta(days=1)))
    end = draw(st.dates(start + dt.timedelta(days=1), YEAR_END))
    kwh = st.integers(0, 40_000).map(lambda n: str(Decimal(n) / 1000))
    base: dict[str, Any] = {"period_from": str(start), "period_to": str(end), "advances_paid": "1000.00"}
    if draw(st.booleans()):
        base["price_list"] = VAT_LIST
    days = sorted(draw(st.sets(st.dates(start + dt.timedelta(days=1), end), max_size=2)))
    if draw(st.booleans()):
        bands = sorted(PRICE_LIST.bands["GASNET"])
        band = draw(st.sampled_from(bands))
        product = draw(st.sampled_from(["G-STANDARD", "G-PROFIL"]))
        amount = str(draw(st.integers(0, 100_000)))
        changes = [{"valid_from": str(day), "band": draw(st.sampled_from(bands))} for day in days]
        return {**base, "commodity": "gas", "opm": {"dso": "GASNET", "band": band}, "product": product,
                "consumption": {"kwh": amount}, "gas_tax_exempt": draw(st.booleans()), "opm_changes": changes}
    dso = draw(st.sampled_from(sorted(PRICE_LIST.rates)))
    rate = draw(st.sampled_from(sorted(PRICE_LIST.rates[dso])))
    phases = draw(st.sampled_from([1, 3]))
    consumption = ({"mwh": draw(kwh)} if PRICE_LIST.rates[dso][rate].registers == "single"
                   else {"vt_mwh": draw(kwh), "nt_mwh": draw(kwh)})
    product = draw(st.sampled_from(["E-STANDARD", "E-FIX", "E-PROFIL"]))
    opm = {"dso": dso, "rate": rate, "breaker_phases": phases, "breaker_amps": draw(_amps(phases))}
    layout = PRICE_LIST.rates[dso][rate].registers
    same_layout = sorted(code for code, other in PRICE_LIST.rates[dso].items() if other.registers == layout)
    changes = [
        {"valid_from": str(day), "rate": draw(st.sampled_from(same_layout)),
         "breaker_amps": draw(_amps(phases))}
        for day in days
    ]
    return {**base, "commodity": "electricity", "opm": opm, "product": product, "consumption": consumption,
            "opm_changes": changes}


def _amps(phases: int) -> st.SearchStrategy[int]:
    return st.sampled_from([16, 25, 40] if phases == 1 else [10, 16, 25, 32, 50, 63, 80, 125])


@settings(max_examples=300, deadline=None)
@given(requests())
def test_lines_vat_and_totals_agree(request: dict[str, Any]) -> None:
    settlement = settle(request)
    for line in settlement.lines:
        assert line.amount == half_up(line.quantity * line.unit_price, CZK_STEP)
    assert sum((line.amount for line in settlement.lines), Decimal(0)) == settlement.total_base
    for entry in settlement.vat:
        of_rate = [line.amount for line in settlement.lines if line.vat_rate == entry.rate]
        assert entry.base == sum(of_rate, Decimal(0))
        assert entry.vat == half_up(entry.base * entry.rate / 100, CZK_STEP)
    assert {line.vat_rate for line in settlement.lines} == {entry.rate for entry in settlement.vat}
    assert settlement.total_vat == sum((entry.vat for entry in settlement.vat), Decimal(0))
    assert settlement.total == settlement.total_base + settlement.total_vat
    assert settlement.balance == settlement.total - settlement.advances_paid
    if PRICE_LIST.products[request["product"]].round_to_whole_czk:
        assert settlement.total == settlement.total.to_integral_value()


def _parts(request: dict[str, Any], day: dt.date) -> tuple[dict[str, Any], dict[str, Any]]:
    """The request cut before ``day``, each part with the consumption the whole allocates to its days."""
    start, end = dt.date.fromisoformat(request["period_from"]), dt.date.fromisoformat(request["period_to"])
    product = PRICE_LIST.products[request["product"]]
    tdd = getattr(PRICE_LIST.meta.tdd, request["commodity"]) if product.split_by_tdd else None
    pieces = cut(start, end, {day})
    shares = weights(pieces, tdd)
    first, second = dict(request["consumption"]), dict(request["consumption"])
    for name, value in request["consumption"].items():
        total = Decimal(value) / 1000 if name == "kwh" else Decimal(value)
        quantities = allocate(total.quantize(KWH), shares)
        before = sum((q for piece, q in zip(pieces, quantities, strict=True) if piece.end < day), Decimal(0))
        scale = 1000 if name == "kwh" else 1
        first[name], second[name] = str(before * scale), str((total - before) * scale)
    # Technical changes: the earlier part keeps those before the cut; the later starts with the data in
    # force on its first day and keeps those after it.
    changes = request["opm_changes"]
    opm = dict(request["opm"])
    for change in changes:
        if dt.date.fromisoformat(change["valid_from"]) <= day:
            opm.update({name: value for name, value in change.items() if name != "valid_from"})
    before = [change for change in changes if dt.date.fromisoformat(change["valid_from"]) < day]
    after = [change for change in changes if dt.date.fromisoformat(change["valid_from"]) > day]
    earlier = {**request, "period_to": str(day - dt.timedelta(days=1)), "consumption": first,
               "opm_changes": before}
    later = {**request, "period_from": str(day), "consumption": second, "opm": opm, "opm_changes": after}
    return earlier, later


def _per_mwh_price(settlements: list[Settlement], register: str, day: dt.date) -> Decimal:
    """The sum of the per-MWh prices on ``day`` that ``register``'s consumption pays (POZE aside)."""
    prices: dict[str, Decimal] = {}
    for settlement in settlements:
        for line in settlement.lines:
            if line.unit != "MWh" or line.code in SKIPPED or not line.period_from <= day <= line.period_to:
                continue
            own = REGISTER_OF.get(line.code[-3:], "single")
            if line.code in ALL_REGISTERS or own == register:
                prices[line.code] = line.unit_price
    return sum(prices.values(), Decimal(0))


def _kwh_bound(settlements: list[Settlement], request: dict[str, Any], day: dt.date) -> Decimal:
    registers = {"vt_mwh": "vt", "nt_mwh": "nt", "mwh": "single", "kwh": "single"}
    start, end = dt.date.fromisoformat(request["period_from"]), dt.date.fromisoformat(request["period_to"])
    bound = Decimal(0)
    inside = [start + dt.timedelta(days=n) for n in range(1, (end - start).days + 1)]
    for name in request["consumption"]:
        register = registers[name]
        for current in inside:
            if current == day:
                continue  # the cut itself is where the parts meet: the whole has it as a cumulative point too
            step = (_per_mwh_price(settlements, register, current)
                    - _per_mwh_price(settlements, register, current - dt.timedelta(days=1)))
            bound += KWH * abs(step)
    return bound


def _sum(settlement: Settlement, codes: set[str], *, inside: bool) -> tuple[Decimal, int]:
    chosen = [line for line in settlement.lines if (line.code in codes) == inside]
    return sum((line.amount for line in chosen), Decimal(0)), len(chosen)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(requests(), st.data())
def test_settling_in_two_parts_differs_only_by_the_stated_rounding(
    request: dict[str, Any], data: st.DataObject,
) -> None:
    start, end = dt.date.fromisoformat(request["period_from"]), dt.date.fromisoformat(request["period_to"])
    # Cutting exactly at a technical change is drawn often: it must add nothing beyond the lines' rounding.
    at_changes = [dt.date.fromisoformat(change["valid_from"]) for change in request["opm_changes"]]
    any_day = st.dates(start + dt.timedelta(days=1), end)
    cuts = st.one_of(any_day, st.sampled_from(at_changes)) if at_changes else any_day
    day = data.draw(cuts, label="cut before")
    earlier, later = _parts(request, day)
    whole, first, second = settle(request), settle(earlier), settle(later)
    (amount_whole, lines_whole), (amount_first, lines_first), (amount_second, lines_second) = (
        _sum(part, SKIPPED, inside=False) for part in (whole, first, second)
    )
    bound = LINE_ROUNDING * (lines_whole + lines_first + lines_second)
    bound += _kwh_bound([whole, first, second], request, day)
    assert abs(amount_whole - amount_first - amount_second) <= bound
    (poze_whole, poze_lines), (poze_first, first_lines), (poze_second, second_lines) = (
        _sum(part, {"POZE"}, inside=True) for part in (whole, first, second)
    )
    poze_bound = LINE_ROUNDING * (poze_lines + first_lines + second_lines) + _poze_kwh_bound(request, day)
    assert poze_first + poze_second <= poze_whole + poze_bound


def _poze_kwh_bound(request: dict[str, Any], day: dt.date) -> Decimal:
    """0.001 MWh per register × the highest POZE price per MWh for each day inside the period (the cut
    aside) on which a POZE period may begin: a POZE price version, a technical change, a VAT change. Per
    register: each register's consumption is allocated to the days in whole kWh on its own, and the POZE
    per MWh is of all registers together (a VT/NT meter's period may differ by 2 kWh)."""
    starts = {version.valid_from for version in PRICE_LIST.meta.poze}
    starts |= {dt.date.fromisoformat(change["valid_from"]) for change in request["opm_changes"]}
    if request.get("price_list") == VAT_LIST:
        starts |= {version.valid_from for version in load_price_list(_roots[-1] / VAT_LIST).vat}
    start, end = dt.date.fromisoformat(request["period_from"]), dt.date.fromisoformat(request["period_to"])
    inside = {begin for begin in starts if start < begin <= end and begin != day}
    registers = len(request["consumption"])
    return KWH * registers * max(version.mwh for version in PRICE_LIST.meta.poze) * len(inside)
