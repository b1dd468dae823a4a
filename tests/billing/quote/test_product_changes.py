"""A product changing inside the period (``product_changes``), worked out by hand with the SAMPLE list:
E-STANDARD 2690 CZK/MWh to 30 June and 2490 from 1 July, 129 CZK a month, rounded to whole CZK; E-FIX 2590
CZK/MWh, 99 CZK a month, not rounded; E-PROFIL shares consumption by TDD weights."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.errors import InvalidField
from tests.billing.quote.support import electricity, gas, rows, settle

TO_FIX = [{"valid_from": "2026-10-01", "product": "E-FIX"}]


def test_a_product_change_is_priced_like_a_price_change() -> None:
    settlement = settle(electricity(product_changes=TO_FIX))
    supply = [row for row in rows(settlement) if row[0] in ("COMMODITY", "SUPPLY_FEE")]
    # 2.100 MWh by days, cumulative: 181/365 → 1.041; 273/365 → 1.571 (0.530 for July … September);
    # the rest 0.529 at E-FIX's price. Fees: whole months of each part at its product's fee.
    assert supply == [
        ("COMMODITY", "2026-01-01", "2026-06-30", "1.041", "MWh", "2690.00", "2800.29"),
        ("COMMODITY", "2026-07-01", "2026-09-30", "0.530", "MWh", "2490.00", "1319.70"),
        ("COMMODITY", "2026-10-01", "2026-12-31", "0.529", "MWh", "2590.00", "1370.11"),
        ("SUPPLY_FEE", "2026-01-01", "2026-06-30", "6.0000", "month", "129.00", "774.00"),
        ("SUPPLY_FEE", "2026-07-01", "2026-09-30", "3.0000", "month", "129.00", "387.00"),
        ("SUPPLY_FEE", "2026-10-01", "2026-12-31", "3.0000", "month", "99.00", "297.00"),
    ]
    # The bill follows the product of its last day: E-FIX does not round to whole CZK.
    assert "ROUNDING" not in [row[0] for row in rows(settlement)]
    unchanged = settle(electricity())
    others = [row for row in rows(settlement) if row[0] not in ("COMMODITY", "SUPPLY_FEE")]
    assert others == [row for row in rows(unchanged) if row[0] not in ("COMMODITY", "SUPPLY_FEE", "ROUNDING")]
    assert settlement.total == settlement.total_base + settlement.total_vat


def test_a_change_back_rounds_as_the_last_product_does() -> None:
    changes = [*TO_FIX, {"valid_from": "2026-12-01", "product": "E-STANDARD"}]
    settlement = settle(electricity(product_changes=changes))
    assert [row[0] for row in rows(settlement)][-1] == "ROUNDING"
    assert settlement.total == settlement.total.to_integral_value()


def test_a_change_to_the_same_product_on_its_own_price_change_changes_nothing() -> None:
    same = settle(electricity(product_changes=[{"valid_from": "2026-07-01", "product": "E-STANDARD"}]))
    assert same == settle(electricity())  # E-STANDARD's own price change is on 1 July already


@pytest.mark.parametrize(("changes", "field", "value", "reason"), [
    ([{"valid_from": "2026-01-01", "product": "E-FIX"}], "product_changes[0].valid_from", "2026-01-01",
     "must be inside the period"),
    ([{"valid_from": "2027-01-01", "product": "E-FIX"}], "product_changes[0].valid_from", "2027-01-01",
     "must be inside the period"),
    ([*TO_FIX, {"valid_from": "2026-09-01", "product": "E-STANDARD"}], "product_changes[1].valid_from",
     "2026-09-01", "must be after the previous change's 2026-10-01"),
    ([{"valid_from": "2026-10-01", "product": "G-STANDARD"}], "product_changes[0].product", "G-STANDARD",
     "is not a electricity product"),
    ([{"valid_from": "2026-10-01", "product": "E-PROFIL"}], "product_changes[0].product", "E-PROFIL",
     "split_by_tdd differs from E-STANDARD's"),
    ([{"valid_from": f"2026-{month:02}-02", "product": "E-FIX"} for month in range(1, 13)] * 4,
     "product_changes", 48, "at most 36 changes"),
])
def test_a_change_that_cannot_be_priced_is_refused_naming_it(
    changes: list[dict[str, Any]], field: str, value: object, reason: str,
) -> None:
    with pytest.raises(InvalidField) as refused:
        settle(electricity(product_changes=changes))
    assert (refused.value.field, refused.value.value) == (field, value)
    assert reason in refused.value.reason


def test_gas_changes_product_too() -> None:
    # G-STANDARD's own price changes on 1 October: a change to it on that day cuts nothing more.
    settlement = settle(gas(product_changes=[{"valid_from": "2026-10-01", "product": "G-STANDARD"}]))
    assert settlement == settle(gas())
    # On 1 July the lines are cut there, at the same prices: the same total.
    july = settle(gas(product_changes=[{"valid_from": "2026-07-01", "product": "G-STANDARD"}]))
    assert len(july.lines) == len(settlement.lines) + 2 and july.total == settlement.total
    with pytest.raises(InvalidField) as refused:
        settle(gas(product_changes=[{"valid_from": "2026-07-01", "product": "G-PROFIL"}]))
    assert refused.value.field == "product_changes[0].product"
