"""Everything of a reading's rows and event that needs no database, encoded ahead: ``Prepared``.

What only the store knows — the reading's id, and its status with ``corrects`` / ``duplicate_of`` /
``superseded_by`` — is left out and spliced in when the batch is written (``Prepared.reading_row``,
``register_rows``, ``event``). So the costly part (encoding numbers, dates, JSON) can run anywhere: in the
consumer's own process, or in worker processes on the batch path (``gateway.readings.bulk``), whose results
cross the process boundary as a few byte strings per reading.

Rows are PostgreSQL binary COPY rows (``gateway.masterdata.bulk_copy``); the columns that depend on the store
come last in ``READING_COLUMNS`` so that a row is head + spliced tail. The event is the ``meter.reading``
envelope as ``schemas.envelope`` encodes it, with stand-ins for the id and the status that are replaced by
their values; ``tests/readings/test_prepare.py`` holds it equal to encoding the struct directly.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Final

from gateway.bus.base import Headers
from gateway.bus.outbox import envelope_record, headers_json
from gateway.masterdata import bulk_copy as copy
from gateway.readings.model import GasDocument, Incoming
from gateway.readings.tables import METER_UNKNOWN
from gateway.readings.topics import METER_READINGS
from schemas.envelope import Envelope, new_envelope
from schemas.readings import MeterReading, ReadingStatus

READING_COLUMNS: Final = (
    "id", "opm", "commodity", "meter_id", "date_from", "date_to", "reason", "kind", "fingerprint", "source",
    "ote_message_id", "archive_id", "document_id", "document_version", "document_segment",
    "correction_reason", "created_at",
    # Spliced at write time:
    "status", "corrects", "duplicate_of", "superseded_by",
)
REGISTER_COLUMNS: Final = (
    "reading_id", "register", "start_state", "end_state", "consumption_kwh", "volume_m3", "conversion_factor",
    "calorific_value_kwh_per_m3", "dso_energy_kwh", "note",
)
OUTBOX_COLUMNS: Final = ("message_id", "topic", "key", "value", "headers", "created_at")
SOURCE_OTE: Final = "ote"

_READING_START: Final = copy.field_count(len(READING_COLUMNS))
_REGISTER_START: Final = copy.field_count(len(REGISTER_COLUMNS))
_OUTBOX_START: Final = copy.field_count(len(OUTBOX_COLUMNS))
# Stand-ins in the encoded event: an id no sequence reaches soon, and the status of a new reading.
_ID_STAND_IN: Final = 7_777_777_777_771
_ID_JSON: Final = b'"reading_id":%d' % _ID_STAND_IN
_STATUS_JSON: Final = b'"status":"new","corrects":null'
_texts: Final = copy.Encodings[str | None](copy.text)
_dates: Final = copy.Encodings[dt.date](copy.date)
_stamps: Final = copy.Encodings[dt.datetime](copy.timestamptz)
_STATUS_TEXT: Final = {status: copy.text(status) for status in ("new", "duplicate", "correction")}


def _int8(value: int | None) -> bytes:
    return copy.NULL if value is None else copy.int8(value)


@dataclass(frozen=True, slots=True)
class Prepared:
    """A reading ready to file: what decides its status, its row parts and its event parts."""

    key: tuple[str, str, dt.date, dt.date]
    fingerprint: bytes
    document: GasDocument | None
    opm: str
    #: COPY fields of ``rd_reading`` between the id and the spliced status columns.
    reading_fields: bytes
    #: COPY fields of each ``rd_register`` row after ``reading_id``.
    register_fields: tuple[bytes, ...]
    message_id: uuid.UUID
    event_head: bytes  # up to the reading id
    event_middle: bytes  # from after the reading id to the status
    event_tail: bytes  # after ``corrects``
    headers: Headers

    def reading_row(self, reading_id: int, status: ReadingStatus, corrects: int | None,
                    duplicate_of: int | None, superseded_by: int | None) -> bytes:
        return b"".join((
            _READING_START, copy.int8(reading_id), self.reading_fields, _STATUS_TEXT[status],
            _int8(corrects), _int8(duplicate_of), _int8(superseded_by),
        ))

    def register_rows(self, reading_id: int) -> list[bytes]:
        head = _REGISTER_START + copy.int8(reading_id)
        return [head + fields for fields in self.register_fields]

    def event(self, reading_id: int, status: ReadingStatus, corrects: int | None) -> bytes:
        status_json = b'"status":"%s","corrects":%s' % (
            status.encode(), b"null" if corrects is None else b"%d" % corrects,
        )
        return b"".join((
            self.event_head, b'"reading_id":%d' % reading_id, self.event_middle, status_json, self.event_tail,
        ))

    def outbox_row(self, event: bytes, now: dt.datetime) -> bytes:
        return b"".join((
            _OUTBOX_START, copy.uuid_field(self.message_id), _texts[METER_READINGS.name], copy.text(self.opm),
            copy.raw(event), copy.text(headers_json(self.headers)), _stamps[now],
        ))


def payload(reading: Incoming, reading_id: int, status: ReadingStatus, corrects: int | None) -> MeterReading:
    """The ``meter.reading`` of ``reading``, as filed."""
    return MeterReading(
        reading_id=reading_id, opm=reading.opm, commodity=reading.commodity,
        meter_id=None if reading.meter_id == METER_UNKNOWN else reading.meter_id,
        date_from=reading.date_from, date_to=reading.date_to, reason=reading.reason, kind=reading.kind,
        status=status, corrects=corrects, registers=reading.registers, source=SOURCE_OTE,
        ote_message_id=reading.ote_message_id,
    )


def prepare(reading: Incoming, now: dt.datetime, cause: Envelope | None) -> Prepared:
    """``reading``'s rows and event, all but what the store decides."""
    body = payload(reading, _ID_STAND_IN, "new", None)
    envelope = new_envelope(body, key=reading.opm, now=now, cause=cause)
    message_id, record = envelope_record(METER_READINGS.name, envelope)
    head, rest = record.value.split(_ID_JSON)
    middle, tail = rest.split(_STATUS_JSON)
    # Each stand-in occurs once: nothing else in the event can spell them (ids and codes have no quotes).
    assert _ID_JSON not in rest and _STATUS_JSON not in tail, record.value
    return Prepared(
        key=reading.key, fingerprint=reading.fingerprint, document=reading.document, opm=reading.opm,
        reading_fields=_reading_fields(reading, now), register_fields=_register_fields(reading),
        message_id=message_id, event_head=head, event_middle=middle, event_tail=tail,
        headers=record.headers,
    )


def _reading_fields(reading: Incoming, now: dt.datetime) -> bytes:
    texts, document = _texts, reading.document
    return b"".join((
        copy.text(reading.opm), texts[reading.commodity], copy.text(reading.meter_id),
        _dates[reading.date_from], _dates[reading.date_to], texts[reading.reason], texts[reading.kind],
        copy.raw(reading.fingerprint), texts[SOURCE_OTE], texts[reading.ote_message_id],
        _int8(reading.archive_id), texts[None if document is None else document.pof_id],
        copy.int4(None if document is None else document.version),
        texts[None if document is None else document.segment],
        texts[None if document is None else document.correction_reason], _stamps[now],
    ))


def _register_fields(reading: Incoming) -> tuple[bytes, ...]:
    numeric, texts = copy.numeric, _texts
    return tuple(
        b"".join((
            texts[value.register], numeric(value.start_state), numeric(value.end_state),
            numeric(value.consumption_kwh), numeric(value.volume_m3), numeric(value.conversion_factor),
            numeric(value.calorific_value_kwh_per_m3), numeric(dso_kwh), copy.text(note),
        ))
        for value, dso_kwh, note in zip(reading.registers, reading.dso_energy_kwh, reading.notes, strict=True)
    )
