"""What the market rules share: the registry, the schedule, the calendar and the way out (``post``).

The rules (``switching``, ``supply``) never do I/O: they change the registry, schedule later steps and
``post`` messages, which the simulator encodes, signs and puts in its outbox.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Protocol, TypeVar

from connectors.ote.simulator import codes, messages, metering
from connectors.ote.simulator.registry import Opm, Registry
from connectors.ote.simulator.schedule import Scheduler
from gateway.process.calendar import PRAGUE, WorkingCalendar
from gateway.switching.deadlines import SwitchProfile
from schemas.ote import Commodity, ElectricityReading, GasSegment, MasterDataItem, MeteredElectricity
from schemas.ote.common import MESSAGE_CODE_GAS_POF, OteMessage

#: Readings in one CDSDATA message; more go in several messages.
READINGS_PER_MESSAGE_MAX: Final = 500
#: Days in one GP6 document; a longer period goes in several (a quarter is a usual billing period).
GAS_DAYS_PER_MESSAGE_MAX: Final = 92
#: Items of one master-data message (the last-resort assignment of a large supplier's OPMs).
ITEMS_PER_MESSAGE_MAX: Final = 1_000


T = TypeVar("T")


class Post(Protocol):
    def __call__(self, message: OteMessage, *, opm: str | None, note: str) -> None:
        """Encode, sign and queue ``message`` for its envelope's receiver."""
        ...


def chunks(items: list[T], size: int) -> Iterable[list[T]]:
    assert size > 0
    return (items[start:start + size] for start in range(0, len(items), size))


@dataclass(slots=True)
class Context:
    registry: Registry
    scheduler: Scheduler
    calendar: WorkingCalendar
    profile: SwitchProfile
    post: Post
    #: Answer switch requests on receipt instead of at the objection deadline (a demo on the system clock
    #: would otherwise wait weeks); the losing supplier is still notified but has no time to object.
    prompt_answers: bool = False

    @property
    def operator(self) -> str:
        return self.registry.operator_ean

    @staticmethod
    def today(now: dt.datetime) -> dt.date:
        return now.astimezone(PRAGUE).date()

    @staticmethod
    def midnight(day: dt.date) -> dt.datetime:
        """The instant ``day`` begins in Prague: when a change "from ``day``" takes effect."""
        return dt.datetime.combine(day, dt.time(0, 0), tzinfo=PRAGUE)

    def masterdata(
        self, receiver: str, commodity: Commodity, items: list[MasterDataItem], now: dt.datetime, note: str
    ) -> None:
        for part in chunks(items, ITEMS_PER_MESSAGE_MAX):
            message = messages.masterdata(
                operator=self.operator, receiver=receiver, now=now, commodity=commodity, items=tuple(part)
            )
            self.post(message, opm=part[0].opm if len(part) == 1 else None, note=note)

    def closing_reading(
        self, opm: Opm, receiver: str, last: dt.date, now: dt.datetime, *, reason: str
    ) -> None:
        """Metered data up to ``last`` for the supplier leaving the OPM (a switch or the end of supply)."""
        if opm.commodity is Commodity.electricity:
            reading = metering.electricity_reading(opm, last, reason=reason)
            self.electricity(receiver, [reading], now, note=f"{reason} reading (closing)")
            return
        # [I] GP6 has no meter states: the leaving supplier gets its last daily values as "end of contract".
        self.gas(opm, receiver, last, now, segment=GasSegment.EOC, note="final daily values")

    def opening_reading(self, opm: Opm, receiver: str, day: dt.date, now: dt.datetime) -> None:
        """The meter states as a new supplier (or customer) takes the OPM over on ``day``."""
        if opm.commodity is Commodity.electricity:
            reading = metering.initial_reading(opm, day)
            self.electricity(receiver, [reading], now, note="switch reading (opening)")
        # [I] Gas: GP6 carries daily values only; the new supplier's first ones come with the periodic data.

    def electricity(
        self, receiver: str, readings: list[ElectricityReading], now: dt.datetime, *, note: str
    ) -> int:
        """CDSDATA messages of ``READINGS_PER_MESSAGE_MAX`` readings at most; how many were sent."""
        sent = 0
        for part in chunks(readings, READINGS_PER_MESSAGE_MAX):
            envelope = messages.envelope(
                codes.CODE_METERED_ELECTRICITY, sender=self.operator, receiver=receiver, now=now
            )
            opm = part[0].opm if len(part) == 1 else None
            self.post(MeteredElectricity(envelope=envelope, readings=tuple(part)), opm=opm, note=note)
            sent += 1
        return sent

    def gas(
        self, opm: Opm, receiver: str, last: dt.date, now: dt.datetime, *, segment: GasSegment, note: str
    ) -> int:
        """GP6 documents up to ``last``, a quarter at most each; how many were sent."""
        sent = 0
        while opm.read_until < last:
            part_last = min(last, opm.read_until + dt.timedelta(days=GAS_DAYS_PER_MESSAGE_MAX))
            envelope = messages.envelope(
                MESSAGE_CODE_GAS_POF, sender=self.operator, receiver=receiver, now=now
            )
            document = metering.gas_document(opm, part_last, envelope=envelope, segment=segment)
            assert document is not None, "a day was left to read"
            self.post(document, opm=opm.code, note=note)
            sent += 1
        return sent
