"""OTE's reading codes → our ``kind`` and ``reason`` (``schemas.readings``): named tables, all [I].

OTE's code lists for the reading type and reason are not public (ote-market.md §7, §9: "reading type (real /
estimated / self-reading) and reason (periodic, switch, final, meter change, tariff change)"). The codes
below are our working model, as the codec's XSD is (``schemas/ote/README.md``): replace them from D1.4.2
(CDSDATA) and D1.4.2G (CDSGASPOF). A code not in a table is refused with ``UnknownReadingCode`` naming the
field and the value, never guessed: a reading filed under the wrong reason would send a switch or final
bill down the wrong path. The message is dead-lettered, the table is extended, the message replayed.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from gateway.errors import HandlerRejected, MalformedMessage
from schemas.ote.metered import GasSegment
from schemas.readings import ReadingKind, ReadingReason

#: [I] CDSDATA ``Reading/@reading-type`` → kind. Numeric, as the GP6 parser's hard-coded ``readingType="02"``
#: suggests (ote-market.md §4); the golden message has ``1`` and ``2``.
READING_TYPE_KIND: Final[Mapping[str, ReadingKind]] = MappingProxyType({
    "1": "actual",  # odečet skutečný: read by the DSO (on site or remotely)
    "2": "estimated",  # odhad / náhradní hodnota: the DSO's estimate or substitute value
    "3": "actual",  # samoodečet: the customer's own reading, accepted by the DSO
})

#: [I] CDSDATA ``Reading/@reading-reason`` → reason; the golden message has ``SW``.
READING_REASON: Final[Mapping[str, ReadingReason]] = MappingProxyType({
    "PE": "periodic",  # periodický (cyklický) odečet
    "SW": "switch",  # změna dodavatele
    "FI": "final",  # konečný odečet: end of supply, supply point disconnected
    "MO": "move",  # změna odběratele / stěhování (přepis)
    "CO": "control",  # kontrolní (mimořádný) odečet
})
#: [I] A reading without ``reading-reason`` is a periodic one (the golden message's second reading).
READING_REASON_ABSENT: Final[ReadingReason] = "periodic"

#: [I] GP6 daily values are measured (A/B metering, ote-market.md §4: ``readingType="02"`` hard-coded).
GAS_DAY_KIND: Final[ReadingKind] = "actual"
#: [I] CDSGASPOF ``attributes/@segment`` → reason of the day that ends the document's period; the other days
#: of a document are periodic (an end-of-contract document ends on one day, not on each of its days).
#: COR is a correction of an earlier document: its days keep the periodic reason and get status correction.
GAS_SEGMENT_REASON: Final[Mapping[GasSegment, ReadingReason]] = MappingProxyType({
    GasSegment.INV: "periodic",
    GasSegment.COR: "periodic",
    GasSegment.EXI: "control",  # mimořádný: an extraordinary reading outside the cycle
    GasSegment.EOC: "final",  # end of contract
    GasSegment.HST: "periodic",  # historical values
})
#: [I] Segments we do not store: CAN (storno) withdraws a document, which no reading status expresses yet;
#: such a message is refused (dead-lettered) for the back office instead of being filed as readings.
GAS_SEGMENTS_REFUSED: Final = frozenset({GasSegment.CAN})

assert set(GAS_SEGMENT_REASON).isdisjoint(GAS_SEGMENTS_REFUSED)
assert set(GAS_SEGMENT_REASON) | GAS_SEGMENTS_REFUSED == set(GasSegment)


class UnknownReadingCode(MalformedMessage):
    """A reading carries a code our tables do not map; ``field`` is the attribute, ``value`` the code."""

    def __init__(self, field: str, value: str, where: str, known: Mapping[str, object]) -> None:
        listed = ", ".join(sorted(str(code) for code in known))
        super().__init__(f"{where}: {field} {value!r} is not a code we map (known: {listed})")
        self.field = field
        self.value = value


def kind_of(reading_type: str, where: str) -> ReadingKind:
    kind = READING_TYPE_KIND.get(reading_type)
    if kind is None:
        raise UnknownReadingCode("reading-type", reading_type, where, READING_TYPE_KIND)
    return kind


def reason_of(reading_reason: str | None, where: str) -> ReadingReason:
    if reading_reason is None:
        return READING_REASON_ABSENT
    reason = READING_REASON.get(reading_reason)
    if reason is None:
        raise UnknownReadingCode("reading-reason", reading_reason, where, READING_REASON)
    return reason


def gas_reason_of(segment: GasSegment, where: str) -> ReadingReason:
    if segment in GAS_SEGMENTS_REFUSED:
        raise HandlerRejected(
            f"{where}: segment {segment.value!r} (storno) withdraws a document; withdrawn readings are not "
            "modelled yet, so it is left to the back office"
        )
    return GAS_SEGMENT_REASON[segment]
