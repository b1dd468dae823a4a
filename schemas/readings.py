"""The ``meter.reading`` event on ``meter.readings`` (keyed by OPM code): one meter's reading for a period.

Produced by the readings service (``gateway.readings``) from metered data (CS OTE today, EDC later); the
switching machines wait for the ``switch`` and ``final`` readings, billing (#6) consumes all of them.
Quantities are exact decimals; gas carries the volume, the conversion factor and the calorific value with
the energy computed from them (kWh = m³ × factor × calorific value).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

import msgspec

from schemas.envelope import Payload, payload

Register = Literal["vt", "nt", "single"]
ReadingReason = Literal["periodic", "switch", "final", "move", "control"]
#: actual: read by the DSO (or on site); estimated: the DSO's or our estimate; customer: a self-reading
#: (samoodečet) entered by the customer or the back office.
ReadingKind = Literal["actual", "estimated", "customer"]
#: new: first time seen; duplicate: the same values again (not applied twice); correction: other values
#: for a period already read, replacing ``corrects``.
ReadingStatus = Literal["new", "duplicate", "correction"]


class RegisterValue(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    register: Register
    #: Meter states at both ends (kWh or m³ as the meter counts); None when the source sends consumption only.
    start_state: Decimal | None = None
    end_state: Decimal | None = None
    consumption_kwh: Decimal
    #: Gas only.
    volume_m3: Decimal | None = None
    conversion_factor: Decimal | None = None
    calorific_value_kwh_per_m3: Decimal | None = None


@payload("meter.reading", 1)
class MeterReading(Payload, frozen=True, kw_only=True):
    reading_id: int
    opm: str
    commodity: Literal["electricity", "gas"]
    meter_id: str | None
    date_from: dt.date
    date_to: dt.date
    reason: ReadingReason
    kind: ReadingKind
    status: ReadingStatus
    #: The reading this one corrects (status correction).
    corrects: int | None = None
    registers: tuple[RegisterValue, ...]
    source: Literal["ote", "edc", "manual"] = "ote"
    ote_message_id: str | None = None
