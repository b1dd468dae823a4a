"""The price-list loader: every problem names the file, the field and the value; and the split rules."""

from __future__ import annotations

import datetime as dt
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from gateway.billing.prices import PriceListInvalid, load_price_list
from gateway.billing.split import Piece, allocate, cut, months
from tests.billing.quote.support import PRICES


def broken(tmp_path: Path, file: str, old: str, new: str) -> list[str]:
    directory = tmp_path / "sample-2026"
    shutil.copytree(PRICES / "sample-2026", directory)
    path = directory / file
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(PriceListInvalid) as caught:
        load_price_list(directory)
    return [str(problem) for problem in caught.value.problems]


@pytest.mark.parametrize(("file", "old", "new", "problem"), [
    ("products.toml", "valid_from = 2026-07-01", "valid_from = 2025-12-01",
     "products.toml: product[0].version[1].valid_from: is outside the list (2026-01-01..2026-12-31) "
     "(value '2025-12-01')"),
    ("products.toml", "valid_from = 2026-07-01", "valid_from = 2026-01-01",
     "products.toml: product[0].version[1].valid_from: must be after the previous version's 2026-01-01 "
     "(value '2026-01-01')"),
    ("products.toml", 'code = "E-FIX"', 'code = "E-STANDARD"',
     "products.toml: product[1].code: is already defined (value 'E-STANDARD')"),
    ("products.toml", "mwh = 2690.00", "mwh = 2690.00001",
     "products.toml: product[0].version[0].mwh: has more than 4 decimal places (value '2690.00001')"),
    ("products.toml", "mwh = 2690.00", 'mwh = "2690,00"',
     "products.toml: product[0].version[0].mwh: invalid decimal string (value '2690,00')"),
    ("dso-CEZ.toml", 'dso = "CEZ"', 'dso = "CEZX"',
     "dso-CEZ.toml: dso: must match the file name (dso-CEZX.toml) (value 'CEZX')"),
    ("dso-CEZ.toml", "monthly = 108.00", "monthly_per_amp = 1.00, monthly = 108.00",
     "dso-CEZ.toml: rate[0].version[0].breaker[0]: needs exactly one of monthly, monthly_per_amp"),
    ("dso-PRE.toml", "nt_mwh = 290.00", "",
     "dso-PRE.toml: rate[1].version[0]: registers = 'vt_nt' needs ['nt_mwh', 'vt_mwh'] (value ['vt_mwh'])"),
    ("list.toml", "vat_rate = 21", "vat_rate = 121",
     "list.toml: vat_rate: must be a percentage from 0 to 100 (value '121')"),
    ("list.toml", "[[gas_tax]]", "[[gas_tax]\n",
     "list.toml: is not valid TOML: Expected ']]' at the end of an array declaration "
     "(at line 19, column 10)"),
    ("list.toml", "vat_rate = 21", "vat_rate = 21\nvat = 21",
     "list.toml: vat: is not a known field (value 21)"),
])
def test_problems_name_file_field_and_value(
    tmp_path: Path, file: str, old: str, new: str, problem: str,
) -> None:
    assert problem in broken(tmp_path, file, old, new)


def test_a_file_that_is_not_a_price_file_is_a_problem(tmp_path: Path) -> None:
    shutil.copytree(PRICES / "sample-2026", tmp_path / "sample-2026")
    (tmp_path / "sample-2026" / "prices.toml").write_text("", encoding="utf-8")
    with pytest.raises(PriceListInvalid) as caught:
        load_price_list(tmp_path / "sample-2026")
    problem = "prices.toml: is not list.toml, products.toml or dso-<CODE>.toml"
    assert problem in [str(found) for found in caught.value.problems]


def test_cut_at_changes_and_months() -> None:
    pieces = cut(dt.date(2026, 1, 20), dt.date(2026, 3, 5), {dt.date(2026, 2, 10), dt.date(2027, 1, 1)})
    assert [(piece.start.isoformat(), piece.end.isoformat()) for piece in pieces] == [
        ("2026-01-20", "2026-01-31"), ("2026-02-01", "2026-02-09"), ("2026-02-10", "2026-02-28"),
        ("2026-03-01", "2026-03-05"),
    ]


def test_months_add_up_however_a_month_is_cut() -> None:
    # Whole months are exactly 1; the days of a month add up to 1 exactly.
    assert months(Piece(dt.date(2026, 2, 1), dt.date(2026, 2, 28))) == Decimal("1.0000")
    days = [months(Piece(dt.date(2026, 1, day), dt.date(2026, 1, day))) for day in range(1, 32)]
    assert sum(days) == 1 and set(days) == {Decimal("0.0322"), Decimal("0.0323")}


def test_allocation_adds_up_and_a_cut_piece_keeps_its_quantity() -> None:
    total = Decimal("2.101")
    assert sum(allocate(total, [1, 1, 1])) == total
    assert allocate(total, [1, 1, 1]) == [Decimal("0.700"), Decimal("0.701"), Decimal("0.700")]
    # Cutting the middle piece in two: the two halves hold exactly what the middle piece held.
    finer = allocate(total, [2, 1, 1, 2])
    assert finer[1] + finer[2] == Decimal("0.701") and finer[0] == Decimal("0.700")
