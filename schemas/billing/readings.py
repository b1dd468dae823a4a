"""Readings entered by hand, consumption per period, plausibility findings and estimates (issue #6, "Readings
and consumption"): the shapes of ``POST /api/opm/{code}/readings``, ``GET /api/opm/{code}/consumption``,
``POST /api/opm/{code}/readings/estimate`` and ``proud readings import``.

Meter states are exact decimals in the register's unit (kWh for electricity, m³ for gas), written as decimal
strings in JSON. Registers are ``vt`` and ``nt`` (a two-rate meter) or ``single``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

import msgspec

from schemas.readings import ReadingKind, ReadingReason, ReadingStatus, Register

#: What a person may enter: a self-reading (``customer``), or an ``actual`` one read on site by the back
#: office (a control reading). ``estimated`` is ours alone (``POST …/readings/estimate``).
EnteredKind = Literal["actual", "customer"]
#: Where a meter state used for consumption came from: a reading of that kind, or the meter change in master
#: data (the removed meter's final and the new meter's initial state).
PointKind = Literal["actual", "estimated", "customer", "installation", "removal"]
Unit = Literal["kWh", "m3"]
Serial = Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
FindingCode = Literal[
    "negative_consumption", "consumption_jump", "reading_outside_period", "zero_consumption",
    "missing_reading",
]


class ReadingIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One meter's states on ``date``, one per register of the meter (``{"vt": "12345", "nt": "6789"}``).

    ``meter`` is the meter's serial; left out, the one meter installed at the OPM on ``date``."""

    date: dt.date
    registers: dict[Register, Decimal]
    meter: Serial | None = None
    kind: EnteredKind = "customer"
    reason: ReadingReason = "periodic"


class RecordedReading(msgspec.Struct, frozen=True, kw_only=True):
    """What ``record_reading`` stored: the reading's id and status (``duplicate``: the same states again,
    nothing changed; ``correction``: other states for the same meter and day, replacing ``corrects``), and the
    estimates of that meter it replaced (within ``ESTIMATE_REPLACED_WITHIN_DAYS`` of its date)."""

    reading_id: int
    opm: str
    meter: str
    date: dt.date
    kind: ReadingKind
    status: ReadingStatus
    corrects: int | None = None
    replaced_estimates: tuple[int, ...] = ()
    #: Consumption since the previous state of each register (0 for a meter's first state).
    consumption: dict[Register, Decimal] = msgspec.field(default_factory=dict)


class UsedReading(msgspec.Struct, frozen=True, kw_only=True):
    """A meter state a consumption was computed from."""

    meter: str
    date: dt.date
    state: Decimal
    kind: PointKind
    #: The stored reading (None for a meter change's state from master data).
    reading_id: int | None = None


class MeterSpan(msgspec.Struct, frozen=True, kw_only=True):
    """One meter's part of a register's consumption: from ``start`` to ``end``; ``rolled_over`` when the
    register passed its largest value (``digits``) in between."""

    meter: str
    start: UsedReading
    end: UsedReading
    consumption: Decimal
    rolled_over: bool = False


class MissingReading(msgspec.Struct, frozen=True, kw_only=True):
    """No state of ``meter``'s ``register`` near ``date`` (a period's start or end, or a meter change)."""

    meter: str
    register: Register
    date: dt.date


class RegisterConsumption(msgspec.Struct, frozen=True, kw_only=True):
    """A register's consumption over its spans (one per meter in the period). ``days`` are the days between
    the states used (the basis of consumption per day); ``summed``: the source sends consumption, no meter
    states (gas daily values), and the readings inside the period were added up."""

    register: Register
    consumption: Decimal
    unit: Unit
    days: int
    spans: tuple[MeterSpan, ...] = ()
    summed_readings: tuple[int, ...] = ()
    missing: tuple[MissingReading, ...] = ()

    @property
    def complete(self) -> bool:
        return not self.missing


class Finding(msgspec.Struct, frozen=True, kw_only=True):
    """A plausibility finding: ``code``, where (OPM, register, meter) and the values that raised it."""

    code: FindingCode
    opm: str
    register: Register
    text: str
    values: dict[str, str]
    meter: str | None = None


class Consumption(msgspec.Struct, frozen=True, kw_only=True):
    """An OPM's consumption from ``period_from`` to ``period_to`` (both inclusive), per register."""

    opm: str
    period_from: dt.date
    period_to: dt.date
    registers: tuple[RegisterConsumption, ...]
    findings: tuple[Finding, ...] = ()


class EstimateIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Estimate the states of the meter installed on ``date`` and store them as an estimated reading."""

    date: dt.date
    reason: ReadingReason = "periodic"


EstimateMethod = Literal["history", "profile"]


class EstimatedRegister(msgspec.Struct, frozen=True, kw_only=True):
    """How a register's state was estimated: from ``base`` (the last state before the date), plus
    ``daily`` × the days between (``history``) or the TDD profile's share of the annual consumption
    (``profile``)."""

    register: Register
    state: Decimal
    method: EstimateMethod
    base: UsedReading
    consumption: Decimal


class Estimate(msgspec.Struct, frozen=True, kw_only=True):
    reading: RecordedReading
    registers: tuple[EstimatedRegister, ...]
