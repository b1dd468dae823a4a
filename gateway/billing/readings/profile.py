"""SAMPLE monthly weights of the standard load profiles (TDD, typové diagramy dodávky), by TDD class as
master data stores it (``md_opm_technical.tdd_class``): the share of a year's consumption in each month.

[I] SAMPLE values, not OTE's: OTE publishes the normalised TDD per hour and year (electricity classes 1–8,
gas DOM/MO classes), from which these shares would be summed; until then they are shaped by hand (heating
classes weigh winter, business classes are flat). Each row sums to exactly 1. The estimate spreads a month's
share evenly over its days.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Final

from schemas.masterdata.opm import ELECTRICITY_TDD, GAS_TDD
from schemas.readings import Register

_MONTHS: Final = 12


def _shares(*values: str) -> tuple[Decimal, ...]:
    shares = tuple(Decimal(value) for value in values)
    assert len(shares) == _MONTHS and sum(shares) == 1, values
    return shares


#: SAMPLE: flat, business hours (TDD 1–3: C rates), a household without electric heating (4), storage and
#: direct electric heating (5, 6), heat pumps (7), public lighting (8).
_FLAT: Final = _shares(*["0.0833"] * 11, "0.0837")
_HOUSEHOLD: Final = _shares(
    "0.0980", "0.0870", "0.0870", "0.0790", "0.0750", "0.0700",
    "0.0710", "0.0720", "0.0740", "0.0830", "0.0900", "0.1140",
)
_HEATING: Final = _shares(
    "0.1500", "0.1300", "0.1100", "0.0750", "0.0450", "0.0300",
    "0.0300", "0.0300", "0.0450", "0.0800", "0.1150", "0.1600",
)
_LIGHTING: Final = _shares(
    "0.1150", "0.0950", "0.0850", "0.0700", "0.0600", "0.0500",
    "0.0550", "0.0650", "0.0750", "0.0950", "0.1100", "0.1250",
)
#: SAMPLE: gas households (DOM: cooking only to heating) and small businesses (MO).
_GAS_COOKING: Final = _shares(
    "0.0900", "0.0850", "0.0850", "0.0820", "0.0800", "0.0780",
    "0.0760", "0.0760", "0.0800", "0.0840", "0.0880", "0.0960",
)
_GAS_HEATING: Final = _shares(
    "0.1750", "0.1500", "0.1250", "0.0800", "0.0400", "0.0200",
    "0.0150", "0.0150", "0.0350", "0.0800", "0.1150", "0.1500",
)

MONTHLY_SHARES_SAMPLE: Final[Mapping[str, tuple[Decimal, ...]]] = MappingProxyType({
    "1": _FLAT, "2": _FLAT, "3": _FLAT, "4": _HOUSEHOLD, "5": _HEATING, "6": _HEATING, "7": _HEATING,
    "8": _LIGHTING,
    "DOM1": _GAS_COOKING, "DOM2": _GAS_HEATING, "DOM3": _GAS_HEATING, "DOM4": _GAS_HEATING,
    "MO1": _FLAT, "MO2": _GAS_HEATING, "MO3": _GAS_HEATING, "MO4": _GAS_HEATING,
})
#: [I] SAMPLE share of a two-rate meter's annual consumption on each register (heating rates run much of
#: it at the low tariff); a single register takes it all.
REGISTER_SHARES_SAMPLE: Final[Mapping[Register, Decimal]] = MappingProxyType({
    "vt": Decimal("0.4"), "nt": Decimal("0.6"), "single": Decimal(1),
})

assert set(MONTHLY_SHARES_SAMPLE) == ELECTRICITY_TDD | GAS_TDD
assert REGISTER_SHARES_SAMPLE["vt"] + REGISTER_SHARES_SAMPLE["nt"] == 1


def share_between(tdd_class: str, after: dt.date, through: dt.date) -> Decimal:
    """The share of a year's consumption from the day after ``after`` through ``through``."""
    assert after <= through, (after, through)
    shares = MONTHLY_SHARES_SAMPLE[tdd_class]
    total = Decimal(0)
    day = after + dt.timedelta(days=1)
    while day <= through:
        month_days = calendar.monthrange(day.year, day.month)[1]
        month_end = dt.date(day.year, day.month, month_days)
        last = min(month_end, through)
        total += shares[day.month - 1] * ((last - day).days + 1) / month_days
        day = last + dt.timedelta(days=1)
    return total
