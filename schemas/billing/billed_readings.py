"""The meter readings a settlement billed, as its invoice prints them (the "odečty" block).

Kept with the invoice (``bl_invoice.readings``) when it is issued, not read again when a document is made:
a reading corrected later is billed by a credit note and a new bill, and the first bill's documents must
still show the states it billed. An estimated state is printed as an estimate, so the customer sees which
figures wait for an actual reading.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import msgspec

from schemas.billing.readings import PointKind, Unit
from schemas.readings import Register


class MeterReadingUsed(msgspec.Struct, frozen=True, kw_only=True):
    """One meter register's part of the billed consumption: its state at the end of ``date_from`` and at
    the end of ``date_to``, each with how it was obtained, and the consumption between them in ``unit``
    (``rolled_over``: the register passed its largest value in between)."""

    meter: str
    register: Register
    date_from: dt.date
    state_from: Decimal
    kind_from: PointKind
    date_to: dt.date
    state_to: Decimal
    kind_to: PointKind
    consumption: Decimal
    unit: Unit
    rolled_over: bool = False


class GasVolume(msgspec.Struct, frozen=True, kw_only=True):
    """Gas measured in m³ and billed in kWh: the volume, the whole kWh it was billed as (m³ × conversion
    factor × the calorific values of the period's months) and the conversion factors in force, in order
    (one unless the OPM's factor changed inside the period)."""

    m3: Decimal
    kwh: Decimal
    conversion_factors: tuple[Decimal, ...]


class BilledReadings(msgspec.Struct, frozen=True, kw_only=True):
    """What a settlement's consumption came from: the meter states per register and meter, and for gas
    read in m³ its conversion to kWh. ``summed``: readings of consumption without meter states (gas daily
    values) added up, printed as their count."""

    meters: tuple[MeterReadingUsed, ...] = ()
    gas: GasVolume | None = None
    summed: int = 0
