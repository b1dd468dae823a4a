"""Everything of a batch's rows and events that needs no database, encoded ahead: ``PreparedBatch``.

What only the store knows — each reading's id, and its status with ``corrects`` / ``duplicate_of`` /
``superseded_by`` — is left out and spliced in when the batch is written (``reading_row``, ``register_rows``,
``event``). So the costly part (dates, numbers, JSON) can run anywhere: in the consumer's own process, or in
worker processes on the batch path (``gateway.readings.bulk``). A batch is columnar — lists of strings,
bytes and ints, one entry per reading — because that is what crosses a process boundary cheaply (a list of
objects per reading cost more to unpickle than to prepare).

Rows are COPY rows for PostgreSQL. ``rd_reading`` and ``outbox`` in the binary format
(``gateway.masterdata.bulk_copy``), with the store's columns last in ``READING_COLUMNS``. ``rd_register`` in
the text format: its values are mostly numbers, whose text PostgreSQL reads faster than Python writes
numeric's binary form (2 µs a value). The event is the ``meter.reading`` envelope as ``schemas.envelope``
encodes it, with stand-ins for the reading id and the status, cut around them; ``tests/readings`` hold the
spliced event equal to encoding the struct itself.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final

from gateway.bus.base import Headers
from gateway.bus.outbox import HEADER_MESSAGE_ID, HEADER_TYPE
from gateway.masterdata import bulk_copy as copy
from gateway.readings.events import EnvelopeTemplate, id_text, message_ids, payload_encoder
from gateway.readings.model import GasDocument, Incoming
from gateway.readings.register_text import register_values
from gateway.readings.tables import METER_UNKNOWN
from gateway.readings.topics import METER_READINGS
from schemas.envelope import Envelope
from schemas.readings import MeterReading, ReadingStatus

READING_COLUMNS: Final = (
    "id", "opm", "commodity", "meter_id", "date_from", "date_to", "reason", "kind", "fingerprint", "source",
    "ote_message_id", "archive_id", "document_id", "document_version", "document_segment",
    "correction_reason", "created_at", "register_values",
    # Spliced at write time:
    "status", "corrects", "duplicate_of", "superseded_by",
)
REGISTER_COLUMNS: Final = (
    "reading_id", "register", "start_state", "end_state", "consumption_kwh", "volume_m3", "conversion_factor",
    "calorific_value_kwh_per_m3", "dso_energy_kwh", "note",
)
OUTBOX_COLUMNS: Final = ("message_id", "topic", "key", "value", "headers", "created_at")
SOURCE_OTE: Final = "ote"
#: A key as the store compares it: OPM, meter, first and last day (ISO dates, as they cross processes).
Key = tuple[str, str, str, str]

_READING_START: Final = copy.field_count(len(READING_COLUMNS))
_OUTBOX_START: Final = copy.field_count(len(OUTBOX_COLUMNS))
# Stand-ins in the encoded event: an id no sequence reaches soon, and the status of a new reading.
_ID_STAND_IN: Final = 7_777_777_777_771
_ID_JSON: Final = b'"reading_id":%d' % _ID_STAND_IN
_STATUS_JSON: Final = b'"status":"new","corrects":null'
_TYPE: Final = MeterReading.message_type.encode()
_texts: Final = copy.Encodings[str | None](copy.text)
_dates: Final = copy.Encodings[dt.date](copy.date)
#: Dates kept in their ISO form (a batch has a few: its reading periods).
ISO_DATES_CACHED_MAX: Final = 4_096
_iso: Final = functools.lru_cache(maxsize=ISO_DATES_CACHED_MAX)(dt.date.isoformat)
_stamps: Final = copy.Encodings[dt.datetime](copy.timestamptz)
_UUID_LENGTH: Final = (16).to_bytes(4, "big")
_STATUS_TEXT: Final = {status: copy.text(status) for status in ("new", "duplicate", "correction")}
# COPY's text format: NULL, and the characters a value must not contain unescaped.
_TEXT_NULL: Final = "\\N"
_ELECTRICITY_TAIL: Final = "\t\\N" * 5 + "\n"
_TEXT_ESCAPES: Final = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _int8(value: int | None) -> bytes:
    return copy.NULL if value is None else copy.int8(value)


def _text_number(value: Decimal | None) -> str:
    return _TEXT_NULL if value is None else format(value, "f")


def headers(message_id: uuid.UUID) -> Headers:
    """The outbox headers of an event, as ``outbox.envelope_record`` makes them."""
    return ((HEADER_MESSAGE_ID, str(message_id).encode()), (HEADER_TYPE, _TYPE))


@dataclass(frozen=True, slots=True)
class NewRows:
    """A batch written as new readings with ``ids``: the three COPY payloads, whole and ready to send."""

    ids: list[int]
    readings: bytes  # rd_reading, binary format
    registers: bytes  # rd_register, text format (empty: no register row)
    events: bytes  # outbox, binary format
    register_count: int


@dataclass(slots=True)
class PreparedBatch:
    """Columns of prepared readings, one entry per reading, in arrival order."""

    keys: list[Key] = field(default_factory=list)
    fingerprints: list[bytes] = field(default_factory=list)
    documents: list[GasDocument | None] = field(default_factory=list)
    #: COPY fields of ``rd_reading`` between the id and the spliced status columns.
    reading_fields: list[bytes] = field(default_factory=list)
    #: Per reading, its ``rd_register`` COPY text lines after ``reading_id`` and a tab.
    register_lines: list[tuple[bytes, ...]] = field(default_factory=list)
    #: The event's ``outbox`` COPY fields before its value (message id, topic, key) and after (headers, time).
    outbox_heads: list[bytes] = field(default_factory=list)
    outbox_tails: list[bytes] = field(default_factory=list)
    #: The event up to the reading id, from after it to the status, and after ``corrects``.
    event_heads: list[bytes] = field(default_factory=list)
    event_middles: list[bytes] = field(default_factory=list)
    event_tails: list[bytes] = field(default_factory=list)
    message_ids: list[bytes] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.keys)

    def reading_row(self, index: int, reading_id: int, status: ReadingStatus, corrects: int | None,
                    duplicate_of: int | None, superseded_by: int | None) -> bytes:
        return b"".join((
            _READING_START, copy.int8(reading_id), self.reading_fields[index], _STATUS_TEXT[status],
            _int8(corrects), _int8(duplicate_of), _int8(superseded_by),
        ))

    def register_rows(self, index: int, reading_id: int) -> list[bytes]:
        head = b"%d\t" % reading_id
        return [head + line for line in self.register_lines[index]]

    def event(self, index: int, reading_id: int, status: ReadingStatus, corrects: int | None) -> bytes:
        status_json = b'"status":"%s","corrects":%s' % (
            status.encode(), b"null" if corrects is None else b"%d" % corrects,
        )
        return b"".join((
            self.event_heads[index], b'"reading_id":%d' % reading_id, self.event_middles[index], status_json,
            self.event_tails[index],
        ))

    def outbox_row(self, index: int, event: bytes) -> bytes:
        return b"".join((self.outbox_heads[index], copy.raw(event), self.outbox_tails[index]))

    def message_id(self, index: int) -> uuid.UUID:
        return uuid.UUID(bytes=self.message_ids[index])

    def unique_keys(self) -> bool:
        """No meter and period twice: read against nothing in force, every reading would be new."""
        return len(set(self.keys)) == len(self.keys)

    def new_rows(self, ids: Sequence[int]) -> NewRows:
        """The batch's rows and events as new readings with ``ids`` (one each, in order)."""
        assert len(ids) == len(self) and self.unique_keys()
        readings: list[bytes] = [copy.HEADER]
        registers: list[bytes] = []
        events: list[bytes] = [copy.HEADER]
        for index, reading_id in enumerate(ids):
            readings.append(self.reading_row(index, reading_id, "new", None, None, None))
            registers.extend(self.register_rows(index, reading_id))
            events.append(self.outbox_row(index, self.event(index, reading_id, "new", None)))
        readings.append(copy.TRAILER)
        events.append(copy.TRAILER)
        return NewRows(list(ids), b"".join(readings), b"".join(registers), b"".join(events), len(registers))


def payload(reading: Incoming, reading_id: int, status: ReadingStatus, corrects: int | None) -> MeterReading:
    """The ``meter.reading`` of ``reading``, as filed."""
    return MeterReading(
        reading_id=reading_id, opm=reading.opm, commodity=reading.commodity,
        meter_id=None if reading.meter_id == METER_UNKNOWN else reading.meter_id,
        date_from=reading.date_from, date_to=reading.date_to, reason=reading.reason, kind=reading.kind,
        status=status, corrects=corrects, registers=reading.registers, source=SOURCE_OTE,
        ote_message_id=reading.ote_message_id,
    )


def prepare_batch(
    readings: Sequence[Incoming], now: dt.datetime, causes: Sequence[Envelope | None] | None = None
) -> PreparedBatch:
    """The rows and events of ``readings``, all but what the store decides; ``causes`` per reading."""
    assert causes is None or len(causes) == len(readings)
    batch = PreparedBatch()
    stamp = _stamps[now]
    templates: dict[uuid.UUID | None, EnvelopeTemplate] = {}
    for index, (reading, message_id) in enumerate(zip(readings, message_ids(len(readings)), strict=True)):
        cause = None if causes is None else causes[index]
        body = payload(reading, _ID_STAND_IN, "new", None)
        cause_id = None if cause is None else cause.id
        template = templates.get(cause_id)
        if template is None:
            template = templates[cause_id] = EnvelopeTemplate.of(now, cause, body)
        _add(batch, reading, body, template, message_id, stamp)
    assert len(batch.reading_fields) == len(batch.event_tails) == len(readings)
    return batch


def _add(
    batch: PreparedBatch, reading: Incoming, body: MeterReading, template: EnvelopeTemplate,
    message_id: bytes, stamp: bytes,
) -> None:
    # Each stand-in occurs once (nothing else in a payload can spell them: ids and codes have no quotes);
    # unpacking the splits into exactly two parts checks it.
    head, rest = payload_encoder.encode(body).split(_ID_JSON)
    middle, tail = rest.split(_STATUS_JSON)
    text = id_text(message_id)
    batch.keys.append((reading.opm, reading.meter_id, _iso(reading.date_from), _iso(reading.date_to)))
    batch.fingerprints.append(reading.fingerprint)
    batch.documents.append(reading.document)
    batch.reading_fields.append(_reading_fields(reading, stamp))
    batch.register_lines.append(_register_lines(reading))
    batch.outbox_heads.append(b"".join((
        _OUTBOX_START, _UUID_LENGTH, message_id, _texts[METER_READINGS.name], copy.text(reading.opm),
    )))
    batch.outbox_tails.append(copy.raw(template.headers_json(text)) + stamp)
    batch.event_heads.append(template.prefix(text, reading.opm) + head)
    batch.event_middles.append(middle)
    batch.event_tails.append(tail + b"}")
    batch.message_ids.append(message_id)


def _reading_fields(reading: Incoming, stamp: bytes) -> bytes:
    texts, document = _texts, reading.document
    return b"".join((
        copy.text(reading.opm), texts[reading.commodity], copy.text(reading.meter_id),
        _dates[reading.date_from], _dates[reading.date_to], texts[reading.reason], texts[reading.kind],
        copy.raw(reading.fingerprint), texts[SOURCE_OTE], texts[reading.ote_message_id],
        _int8(reading.archive_id), texts[None if document is None else document.pof_id],
        copy.int4(None if document is None else document.version),
        texts[None if document is None else document.segment],
        texts[None if document is None else document.correction_reason], stamp,
        copy.text(register_values(reading.registers)),
    ))


def _register_lines(reading: Incoming) -> tuple[bytes, ...]:
    number = _text_number
    if reading.commodity == "electricity" and not any(reading.notes):
        # No gas values, no DSO energy, no note: the same five NULLs end every line.
        return tuple(
            f"{value.register}\t{number(value.start_state)}\t{number(value.end_state)}"
            f"\t{number(value.consumption_kwh)}{_ELECTRICITY_TAIL}".encode()
            for value in reading.registers
        )
    return tuple(
        "\t".join((
            value.register, number(value.start_state), number(value.end_state),
            number(value.consumption_kwh), number(value.volume_m3), number(value.conversion_factor),
            number(value.calorific_value_kwh_per_m3), number(dso_kwh),
            _TEXT_NULL if note is None else note.translate(_TEXT_ESCAPES),
        )).encode() + b"\n"
        for value, dso_kwh, note in zip(reading.registers, reading.dso_energy_kwh, reading.notes, strict=True)
    )
