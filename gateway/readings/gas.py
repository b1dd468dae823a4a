"""Gas: m³ → kWh (vyhláška 108/2011 Sb., Příloha 1; ote-market.md §7), exact, and the plausibility check.

    energy (kWh) = volume (m³) × conversion factor × gross calorific value (kWh/m³)

The product is computed exactly (a decimal context that traps any rounding) and rounded **once**, at the end,
to 0.001 kWh **half-up**: 0.001 kWh (one Wh) is the resolution the DSO's ``sumGas`` has, so our figure is
comparable digit for digit; half-up (0.0005 → 0.001) is the commercial rounding Czech invoices use, where
Python's default half-even would round some halves down and differ from the DSO's figure by a Wh; rounding
the intermediate product would compound errors.

GP6 A/B daily values carry the volume, the calorific value and the DSO's energy, but no factor. The factor is
a property of the meter's location (altitude, pressure, temperature), the same for all its days, so where the
meter does not send it (``GasMeter.conversion_factor``), it is derived once per meter from all its days:
factor = Σ energy / Σ (volume × calorific value), the day-level form of ote-market.md §7's
``factor = sumGas / flueGasHeat / reductionConsumption``, rounded to the four places factors are published
with [K]. Each day's kWh is then recomputed with that factor and compared with the DSO's: a day beyond
the tolerance gets a plausibility note (it was not computed with its meter's factor and calorific value).
"""

from __future__ import annotations

import decimal
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Final

from gateway.errors import MalformedMessage

#: Resolution of energy: one Wh, as the DSO's ``sumGas``.
ENERGY_QUANTUM: Final = Decimal("0.001")
#: [K] Conversion factors are published with four decimal places (e.g. 0.9736).
FACTOR_QUANTUM: Final = Decimal("0.0001")
#: Plausibility: our kWh may differ from the DSO's by this share of it (a factor rounded to four places is
#: off by at most 0.00005, about 0.005 % of the energy; twice that is allowed) …
ENERGY_TOLERANCE_RATIO: Final = Decimal("0.0001")
#: … or by this much, whichever is larger (both figures are rounded to 0.001 kWh).
ENERGY_TOLERANCE_KWH_MIN: Final = Decimal("0.002")
#: Significant digits a quantity may have: more is not a meter value, and it bounds the exact arithmetic.
QUANTITY_DIGITS_MAX: Final = 30

# Products of three quantities of at most QUANTITY_DIGITS_MAX digits each fit without rounding; any rounding
# would raise (Inexact is trapped), so "exact" is checked, not assumed.
_EXACT: Final = decimal.Context(
    prec=3 * QUANTITY_DIGITS_MAX + 1, rounding=ROUND_HALF_UP,
    traps=[decimal.Inexact, decimal.InvalidOperation],
)
_ROUNDING: Final = decimal.Context(prec=3 * QUANTITY_DIGITS_MAX + 1, rounding=ROUND_HALF_UP)


def checked(value: Decimal, where: str) -> Decimal:
    """``value`` if it is finite and has at most ``QUANTITY_DIGITS_MAX`` digits, else ``MalformedMessage``."""
    if not value.is_finite() or len(value.as_tuple().digits) > QUANTITY_DIGITS_MAX:
        raise MalformedMessage(f"{where}: {value} is not a quantity of at most {QUANTITY_DIGITS_MAX} digits")
    return value


def energy_kwh(volume_m3: Decimal, factor: Decimal, calorific_kwh_per_m3: Decimal) -> Decimal:
    """m³ × factor × kWh/m³, exact, then rounded half-up to 0.001 kWh."""
    exact = _EXACT.multiply(_EXACT.multiply(volume_m3, factor), calorific_kwh_per_m3)
    rounded = _ROUNDING.quantize(exact, ENERGY_QUANTUM)
    assert abs(rounded - exact) <= ENERGY_QUANTUM / 2, (exact, rounded)
    return rounded


def derived_factor(days: Sequence[tuple[Decimal, Decimal, Decimal]]) -> Decimal | None:
    """Σ energy / Σ (volume × calorific value) over (volume, calorific value, energy) days, to four places;
    None when no day has volume and calorific value (the factor then changes no energy: every day is 0)."""
    basis = sum((_EXACT.multiply(volume, calorific) for volume, calorific, _ in days), Decimal(0))
    if basis == 0:
        return None
    energy = sum((day[2] for day in days), Decimal(0))
    return _ROUNDING.quantize(_ROUNDING.divide(energy, basis), FACTOR_QUANTUM)


def energy_note(ours_kwh: Decimal, dso_kwh: Decimal) -> str | None:
    """A plausibility note when our kWh and the DSO's differ beyond the tolerance; None when they agree."""
    tolerance = max(ENERGY_TOLERANCE_KWH_MIN, abs(dso_kwh) * ENERGY_TOLERANCE_RATIO)
    difference = ours_kwh - dso_kwh
    if abs(difference) <= tolerance:
        return None
    return (
        f"energy: ours {ours_kwh} kWh, DSO's {dso_kwh} kWh, difference {difference} kWh "
        f"over the tolerance of {tolerance.normalize():f} kWh"
    )
