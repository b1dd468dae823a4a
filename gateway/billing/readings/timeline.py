"""An OPM's meter states over time, per meter and register: the ``Timeline`` consumption is computed from.

Every state is placed at the **end of a day**, so that the consumption of days ``F`` to ``T`` is the state at
the end of ``T`` minus the state at the end of ``F − 1``:

* a DSO reading for ``date_from`` … ``date_to`` gives its end state at ``date_to`` and its start state at
  ``date_from − 1`` (the meter showed it when ``date_from`` began);
* a reading entered here (customer, back office, our estimate) is a state on its date (``date_from`` =
  ``date_to``, no start state, see ``gateway.billing.readings.record``);
* a meter change on day ``D`` (master data): the removed meter's final and the new meter's initial states
  stand at ``D − 1``; the old meter counts the days before ``D``, the new one ``D`` and after.

Only readings in force are read (not superseded, not duplicates). Of several states of one meter, register
and day the best stands: actual (and meter change) before customer before estimated, an end state before a
start state, then the newest reading. An estimate is passed over when a reading that is not an estimate
lies within ``ESTIMATE_REPLACED_WITHIN_DAYS`` of it: the actual reading replaces the estimate even where the
store has not marked it superseded (a reading that came from CS OTE in bulk is not compared with estimates).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final, NamedTuple, cast

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.errors import NotFound
from gateway.masterdata import tables as md
from gateway.masterdata.opm_checks import lookup_code
from gateway.readings import tables as rd
from gateway.readings.estimates import ESTIMATE_REPLACED_WITHIN_DAYS
from gateway.readings.register_text import Part, parts
from schemas.billing.readings import PointKind, Unit, UsedReading
from schemas.readings import Register

#: Master data's register codes → the store's.
REGISTER_OF_CODE: Final[dict[str, Register]] = {"VT": "vt", "NT": "nt", "SINGLE": "single"}
UNIT_OF_COMMODITY: Final[dict[str, Unit]] = {"electricity": "kWh", "gas": "m3"}
# Lower ranks win among states of one meter, register and day.
_KIND_RANK: Final[dict[PointKind, int]] = {
    "actual": 0, "installation": 0, "removal": 0, "customer": 1, "estimated": 2,
}
#: Worse than every kind: no end state that day.
_RANK_NONE: Final = max(_KIND_RANK.values()) + 1
_ONE_DAY: Final = dt.timedelta(days=1)
#: Day numbers count from PostgreSQL's date epoch.
DAY_EPOCH: Final = dt.date(2000, 1, 1)
_EPOCH_ORDINAL: Final = DAY_EPOCH.toordinal()
#: Dates ``day_of`` keeps: a century's days (a mass run meets a few dozen).
DAYS_CACHED_MAX: Final = 36_600
_days: Final[dict[int, dt.date]] = {}
#: A point made from all its fields without the named tuple's generated ``__new__`` (a third of the cost;
#: a mass run makes millions).
_new: Final = tuple.__new__

MeterRegister = tuple[str, Register]


class Point(NamedTuple):
    """A meter state at the end of ``day``. A named tuple: a timeline makes two for each reading it reads,
    a mass run hundreds of thousands a minute, at a third of a frozen dataclass's cost."""

    meter: str
    register: Register
    day: dt.date
    state: Decimal
    kind: PointKind
    reading_id: int | None = None
    #: A DSO reading's start state (an end state of the same day is preferred to it).
    from_start: bool = False

    def used(self) -> UsedReading:
        return UsedReading(
            meter=self.meter, date=self.day, state=self.state, kind=self.kind, reading_id=self.reading_id
        )

    def rank(self) -> tuple[int, int, int]:
        return (_KIND_RANK[self.kind], int(self.from_start), -(self.reading_id or 0))


class ReadingRow(NamedTuple):
    """A stored reading in force, as a timeline reads it (``rd_reading`` with its ``register_values``): what
    ``from_rows`` takes, for one OPM from the store or for many from a batch of bills."""

    opm: str
    id: int
    meter_id: str
    #: The reading's first and last day as day numbers (``day_number``: days since 2000-01-01, PostgreSQL's
    #: own count): an integer decodes at a tenth of a date's cost, and a start state's day (the day before
    #: the first) is one subtraction. ``day_of`` gives the date.
    day_from: int
    day_to: int
    kind: PointKind
    #: Each register's states and quantities as exact decimal text (``gateway.readings.register_text``):
    #: ``from_rows`` makes a ``Decimal`` of those it keeps only. A monthly reading's start state is the
    #: month before's end state, which stands instead.
    register_values: str


@dataclass(frozen=True, slots=True)
class Interval:
    """A reading's consumption without meter states (gas daily values), for days ``first`` … ``last``."""

    reading_id: int
    meter: str
    register: Register
    first: dt.date
    last: dt.date
    consumption: Decimal


class MeterInfo:
    """A meter of the OPM: counting from ``installed_on`` to the day before ``removed_on`` (None: unknown or
    open), with each register's digits when master data has the meter (a roll-over needs them)."""

    # A plain class, not a dataclass: ``bill_inputs.BillInputs`` says why.
    def __init__(
        self, serial: str, installed_on: dt.date | None = None, removed_on: dt.date | None = None,
        digits: dict[Register, int] | None = None,
    ) -> None:
        self.serial: Final = serial
        self.installed_on: Final = installed_on
        self.removed_on: Final = removed_on
        self.digits: Final[dict[Register, int]] = {} if digits is None else digits

    def counts_on(self, day: dt.date) -> bool:
        return (self.installed_on is None or self.installed_on <= day) and (
            self.removed_on is None or day < self.removed_on
        )


@dataclass(frozen=True, slots=True)
class Near:
    """The days a timeline is made to answer for, and how far around them a state can matter: ``from_rows``
    makes only the states within ``margin_days`` of one of ``days`` or of a meter's change (a bill asks for
    the bounds of its period and of the year before; a mass run's monthly readings lie mostly between)."""

    days: frozenset[dt.date]
    margin_days: int
    #: The day numbers (``ReadingRow``'s) within ``margin_days`` of ``days``: ``near_days`` makes them.
    numbers: frozenset[int]


def near_days(days: Iterable[dt.date], margin_days: int) -> Near:
    """``Near`` of ``days`` (a few) and ``margin_days``."""
    chosen = frozenset(days)
    return Near(chosen, margin_days, frozenset(
        number for day in chosen
        for number in range(number_of(day) - margin_days, number_of(day) + margin_days + 1)
    ))


class Timeline:
    """An OPM's states per meter and register (each list in day order) and its consumption-only intervals.
    ``states_left_out``: meters' registers with states not made (``Near``): they have states, far from the
    days asked. ``days_answered``: the days whose nearest states it holds (``Near``, with the meters' change
    days); None: all."""

    # A plain class, not a dataclass: ``bill_inputs.BillInputs`` says why.
    def __init__(self, opm: str, unit: Unit, meters: list[MeterInfo]) -> None:
        self.opm: Final = opm
        self.unit: Final = unit
        self.meters: Final = meters
        self.points: dict[MeterRegister, list[Point]] = {}
        self.intervals: dict[MeterRegister, list[Interval]] = {}
        self.states_left_out: set[MeterRegister] = set()
        self.days_answered: frozenset[dt.date] | None = None

    def meter(self, serial: str) -> MeterInfo | None:
        return next((meter for meter in self.meters if meter.serial == serial), None)

    def registers(self) -> list[Register]:
        found = {key[1] for key in (*self.points, *self.intervals, *self.states_left_out)}
        found.update(register for meter in self.meters for register in meter.digits)
        return sorted(found)

    def has_states(self, meter: str, register: Register) -> bool:
        """Whether the meter's register has states at all (made, or left out as far from the days asked)."""
        key = (meter, register)
        return key in self.points or key in self.states_left_out

    def answers(self, day: dt.date) -> bool:
        """Whether the states nearest ``day`` are all in the timeline."""
        return self.days_answered is None or day in self.days_answered

    def points_of(self, meter: str, register: Register) -> list[Point]:
        return self.points.get((meter, register), [])


def build(opm: str, unit: Unit, meters: list[MeterInfo], points: Iterable[Point],
          intervals: Iterable[Interval]) -> Timeline:
    """The timeline of the states and intervals given: one state per meter, register and day, estimates
    replaced by nearby readings dropped, each list in day order."""
    best: dict[tuple[str, Register, dt.date], Point] = {}
    for point in points:
        key = (point.meter, point.register, point.day)
        known = best.get(key)
        if known is None or point.rank() < known.rank():
            best[key] = point
    by_register: dict[MeterRegister, list[Point]] = defaultdict(list)
    for point in sorted(best.values(), key=lambda p: p.day):
        by_register[(point.meter, point.register)].append(point)
    timeline = Timeline(opm, unit, sorted(meters, key=_installed))
    for meter_register, found in by_register.items():
        timeline.points[meter_register] = [
            point for point in found if point.kind != "estimated" or not _replaced(point, found)
        ]
    spans: dict[MeterRegister, list[Interval]] = defaultdict(list)
    for interval in intervals:
        spans[(interval.meter, interval.register)].append(interval)
    timeline.intervals = {key: sorted(found, key=lambda i: i.first) for key, found in spans.items()}
    return timeline


def _installed(meter: MeterInfo) -> dt.date:
    return meter.installed_on or dt.date.min


def _replaced(point: Point, others: list[Point]) -> bool:
    """An estimate with a state that is not an estimate within the tolerance."""
    if point.kind != "estimated":
        return False
    return any(
        other.kind != "estimated" and abs((other.day - point.day).days) <= ESTIMATE_REPLACED_WITHIN_DAYS
        for other in others
    )


async def load(conn: AsyncConnection, code: str, since: dt.date, until: dt.date) -> Timeline:
    """The OPM's timeline from readings touching ``since`` … ``until`` and its meters in master data."""
    code = lookup_code(code)
    query = sa.select(md.opm.c.id, md.opm.c.commodity).where(md.opm.c.code == code)
    result: Any = await conn.execute(query)  # Rows, not the tuples their stubs say (mypyc checks those)
    row = result.first()
    if row is None:
        raise NotFound(f"OPM {code!r} does not exist")
    meter_rows = list(await conn.execute(sa.select(md.meter).where(md.meter.c.opm_id == row.id)))
    return from_rows(code, row.commodity, meter_rows, await _readings(conn, code, since, until))


def from_rows(
    code: str, commodity: str, meter_rows: Sequence[Any], readings: Iterable[Any], near: Near | None = None,
) -> Timeline:
    """The timeline of an OPM's meters (``md_meter`` rows) and readings (rows laid out as ``ReadingRow``: a
    driver's records as they come will do); a batch of bills reads those rows for many OPMs at once.
    ``near``: only the states that can matter to the days it names (the meters' changes added)."""
    meters = [meter_info(meter) for meter in meter_rows]
    points = [point for meter in meter_rows for point in change_points(meter)]
    intervals: list[Interval] = []
    readings = list(readings)
    answered: frozenset[dt.date] | None = None
    made: frozenset[int] | None = None  # the day numbers whose states are made; None: all
    if near is not None:
        near = _with_changes(near, meters)
        answered, made = near.days, near.numbers
    left_out: dict[str, set[str]] = {}  # by meter, the registers of states not made
    # Each reading's registers, its text split once (``Part``s, in the readings' order).
    split: list[list[Part]] = []
    # The best kind of end state per meter, register and day: a reading's start state on such a day, of no
    # better kind, always loses to it in ``build`` (an end state ranks before a start state), so it is not
    # made at all. Monthly readings start where the month before ended: half the states a timeline reads.
    ends: dict[tuple[str, str, int], int] = {}
    for _opm, _id, meter, _from, day_to, kind, values in readings:
        registers = parts(values)
        split.append(registers)
        if made is not None and day_to not in made:
            continue  # its end states are not made: they rank no start state
        rank = _KIND_RANK[kind]
        for register, _start, end, _kwh, _m3 in registers:
            if end is not None:
                key = (meter, register, day_to)
                if rank < ends.setdefault(key, rank):
                    ends[key] = rank
    # The rows' fields stay the driver's objects (untyped): a typed tuple of them boxed each integer again.
    for reading, registers in zip(readings, split, strict=True):
        _opm, reading_id, meter, day_from, day_to, kind, _values = reading
        end_made = made is None or day_to in made
        start_made = made is None or day_from - 1 in made
        for register, start, end, kwh, m3 in registers:
            if end is None:
                # Consumption only (gas daily values): m³ where the source sent it, as the meter counts.
                used = m3 if m3 is not None else kwh
                assert used is not None, f"reading {reading_id}: consumption_kwh NOT NULL, no end state"
                intervals.append(Interval(reading_id, meter, cast(Register, register), day_of(day_from),
                                          day_of(day_to), Decimal(used)))
                continue
            if not end_made or (start is not None and not start_made):
                left_out.setdefault(meter, set()).add(register)
            if end_made:
                points.append(_new(Point, (meter, register, day_of(day_to), Decimal(end), kind, reading_id,
                                           False)))
            if start is not None and start_made:
                before = day_from - 1
                if ends.get((meter, register, before), _RANK_NONE) > _KIND_RANK[kind]:
                    points.append(_new(Point, (meter, register, day_of(before), Decimal(start), kind,
                                               reading_id, True)))
    # Meters the readings name that master data does not have: their dates and digits are unknown.
    unknown = {reading[2] for reading in readings} - {meter.serial for meter in meters}
    meters.extend(MeterInfo(serial) for serial in sorted(unknown))
    timeline = build(code, UNIT_OF_COMMODITY[commodity], meters, points, intervals)
    timeline.states_left_out = {
        (meter, cast(Register, register)) for meter, registers in left_out.items() for register in registers
    }
    timeline.days_answered = answered
    return timeline


async def _readings(conn: AsyncConnection, code: str, since: dt.date, until: dt.date) -> list[ReadingRow]:
    rows: Any = await conn.execute(readings_query(conn.dialect, rd.reading.c.opm == code, since, until))
    return [ReadingRow._make(row) for row in rows]  # Rows, as in ``load``


def readings_query(
    dialect: sa.Dialect, opms: sa.ColumnElement[bool], since: dt.date, until: dt.date
) -> sa.Select[Any]:
    """The readings in force, laid out as ``ReadingRow``, of the OPMs ``opms`` selects (a condition on
    ``rd_reading``) touching ``since`` … ``until``."""
    r = rd.reading.c
    return sa.select(
        r.opm, r.id, r.meter_id, day_number(r.date_from, dialect), day_number(r.date_to, dialect),
        r.kind, r.register_values,
    ).where(
        opms, r.superseded_by.is_(None), r.status != "duplicate", r.date_to >= since, r.date_from <= until,
    )


def day_number(column: Any, dialect: sa.Dialect) -> Any:
    """A date column as ``ReadingRow`` takes it: days since 2000-01-01 (SQLite keeps dates as ISO text)."""
    if dialect.name == "sqlite":
        return sa.cast(sa.func.julianday(column) - sa.func.julianday(DAY_EPOCH.isoformat()), sa.Integer)
    return sa.cast(column - sa.literal(DAY_EPOCH, sa.Date), sa.Integer)


def day_of(day: int) -> dt.date:
    """The date of a day number (``ReadingRow``): a mass run makes the same few dozen dates for every bill,
    so they are kept (at most ``DAYS_CACHED_MAX``)."""
    found = _days.get(day)
    if found is None:
        if len(_days) >= DAYS_CACHED_MAX:
            _days.clear()
        found = _days[day] = dt.date.fromordinal(_EPOCH_ORDINAL + day)
    return found


def number_of(day: dt.date) -> int:
    """The day number of a date (``day_of``'s inverse)."""
    return day.toordinal() - _EPOCH_ORDINAL


def meter_info(row: Any) -> MeterInfo:
    """A meter of master data (an ``md_meter`` row): its dates and each register's digits."""
    digits = {REGISTER_OF_CODE[register["code"]]: int(register["digits"]) for register in row.registers}
    return MeterInfo(row.serial, row.installed_on, row.removed_on, digits)


def change_points(row: Any) -> list[Point]:
    """A meter's installation and removal states (an ``md_meter`` row), at the end of the day before."""
    found = []
    changes: tuple[tuple[Any, dt.date | None, PointKind], ...] = (
        (row.initial_readings, row.installed_on, "installation"),
        (row.final_readings, row.removed_on, "removal"),
    )
    for states, day, kind in changes:
        for register_code, value in (states or {}).items():
            assert day is not None, (row.serial, kind)
            found.append(Point(
                row.serial, REGISTER_OF_CODE[register_code], day - _ONE_DAY, Decimal(value), kind,
            ))
    return found


def _with_changes(near: Near, meters: Sequence[MeterInfo]) -> Near:
    """``near`` with the meters' change days between its first and last day (a meter counts from its
    installation day to the day before its removal: a bound of a period asked there moves to those)."""
    first, last = min(near.days), max(near.days)
    changes = {
        day - _ONE_DAY for meter in meters for day in (meter.installed_on, meter.removed_on)
        if day is not None and first <= day - _ONE_DAY <= last
    }
    return near if changes <= near.days else near_days(near.days | changes, near.margin_days)
