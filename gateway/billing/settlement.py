"""From lines to a settlement: the VAT recap per rate, totals, the optional rounding line, advances.

* VAT per rate = (sum of that rate's line amounts) × rate / 100, rounded half-up to 0.01 CZK.
* ``total_base`` = the sum of the recap's bases, ``total_vat`` the sum of its VAT, ``total`` their sum.
* With a product that asks for it, a ``ROUNDING`` line brings ``total`` to whole CZK (half-up). Rounding the
  amount of a document is not a supply, so the line bears no VAT: it has ``vat_rate`` 0 and its own recap
  entry (rate 0, VAT 0), which keeps ``total = total_base + total_vat`` true.
* ``balance`` = ``total`` − ``advances_paid``: positive is due from the customer, negative an overpayment.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Final

from gateway.billing.rating import CZK_STEP, line
from gateway.billing.split import half_up
from schemas.billing.settlement import Settlement, SettlementLine, VatRecap

ROUNDING_CODE: Final = "ROUNDING"
ROUNDING_VAT_RATE: Final = Decimal("0")
_PERCENT: Final = Decimal(100)
_WHOLE_CZK: Final = Decimal(1)


def vat_recap(lines: list[SettlementLine]) -> list[VatRecap]:
    """Per VAT rate, highest first: the base and its VAT."""
    return _recap(_bases(lines))


def _bases(lines: list[SettlementLine]) -> dict[Decimal, Decimal]:
    bases: dict[Decimal, Decimal] = defaultdict(lambda: Decimal("0.00"))
    for item in lines:
        bases[item.vat_rate] += item.amount
    return bases


def _recap(bases: dict[Decimal, Decimal]) -> list[VatRecap]:
    return [
        VatRecap(rate=rate, base=base, vat=half_up(base * rate / _PERCENT, CZK_STEP))
        for rate, base in sorted(bases.items(), reverse=True)
    ]


def settle(
    lines: list[SettlementLine], *, period: tuple[dt.date, dt.date], round_to_whole_czk: bool,
    advances_paid: Decimal,
) -> Settlement:
    bases = _bases(lines)
    recap = _recap(bases)
    total = sum((entry.base + entry.vat for entry in recap), Decimal("0.00"))
    rounding = half_up(total, _WHOLE_CZK) - total if round_to_whole_czk else Decimal(0)
    if rounding:
        rounded = line(ROUNDING_CODE, "Zaokrouhlení (není předmětem DPH)", period[0], period[1], Decimal(1),
                       "CZK", rounding, ROUNDING_VAT_RATE)
        lines = [*lines, rounded]
        bases[rounded.vat_rate] += rounded.amount  # the recap of all lines, the rounding line's added
        recap = _recap(bases)
    total_base = sum((entry.base for entry in recap), Decimal("0.00"))
    total_vat = sum((entry.vat for entry in recap), Decimal("0.00"))
    assert not round_to_whole_czk or (total_base + total_vat) % 1 == 0
    return Settlement(
        lines=lines, vat=recap, total_base=total_base, total_vat=total_vat, total=total_base + total_vat,
        advances_paid=advances_paid, balance=total_base + total_vat - advances_paid,
    )
