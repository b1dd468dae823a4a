"""The batch path: ``bulk_decode`` reads what the codec reads (XSD-checked), prepared events are the events
the struct encodes to, and ``bulk.file_messages`` files like the consumer (workers on PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from connectors.ote import codec
from connectors.ote.codec.common import OteMalformed, OteTooLarge
from gateway.bench.readings import write_messages
from gateway.bus.outbox import envelope_record
from gateway.clock import ManualClock
from gateway.readings import tables as t
from gateway.readings.bulk import file_messages
from gateway.readings.bulk_decode import decode_electricity
from gateway.readings.model import from_electricity
from gateway.readings.prepare import headers, payload, prepare_batch
from gateway.readings.topics import METER_READINGS
from schemas.envelope import Envelope, decode, encode, new_envelope
from schemas.ote import MeteredElectricity
from schemas.ote.events import OteReceived
from tests.connectors.ote.expected import golden_bytes
from tests.readings.support import NOW, events


def test_bulk_decode_reads_what_the_codec_reads() -> None:
    data = golden_bytes("metered-electricity.xml")
    assert decode_electricity(data) == from_electricity(codec.decode_as(data, MeteredElectricity))


def test_bulk_decode_reads_generated_messages_as_the_codec_does(tmp_path: Path) -> None:
    [path], registers, _ = write_messages(tmp_path, 98, 40)
    assert registers == 40
    data = path.read_bytes()
    assert decode_electricity(data) == from_electricity(codec.decode_as(data, MeteredElectricity))


@pytest.mark.parametrize(("old", "new", "error"), [
    (b'code="NT"', b'code="XT"', r"violates schemas/ote/metered.xsd at line 7: .*'XT'"),
    (b'opm="859182400306885078"', b'opm="859182400306885079"',
     r"/CDSDATA/Reading\[1\]/@opm: '859182400306885079' .*check digit"),
    (b'id="8591824000007"', b'id="8591824000008"', r"/CDSDATA/SenderIdentification/@id: .*check digit"),
    (b'date-to="2025-04-30"', b'date-to="2025-04-30Z"',
     r"Reading\[1\]/@date-to: '2025-04-30Z' is not a date"),
    (b'<?xml version="1.0" encoding="UTF-8"?>', b'<?xml version="1.0"?><!DOCTYPE x []>', r"DOCTYPE"),
])
def test_bulk_decode_refuses_what_the_schema_or_the_checks_refuse(old: bytes, new: bytes, error: str) -> None:
    data = golden_bytes("metered-electricity.xml")
    assert old in data
    with pytest.raises(OteMalformed, match=error):
        decode_electricity(data.replace(old, new, 1))


def test_bulk_decode_refuses_a_message_over_the_size_limit() -> None:
    with pytest.raises(OteTooLarge):
        decode_electricity(b" " * (16 * 1024 * 1024 + 1))


def test_a_prepared_event_is_the_event_the_struct_encodes_to() -> None:
    readings = decode_electricity(golden_bytes("metered-electricity.xml"))
    received = OteReceived(
        archive_id=1, family="metered-electricity", message_code="521", message_id="X", message=None
    )
    cause = new_envelope(received, key="k", now=NOW)
    batch = prepare_batch(readings, NOW, [cause, None])
    for index, reading in enumerate(readings):
        event = batch.event(index, 4242 + index, "correction", 17)
        envelope = decode(event)
        body = payload(reading, 4242 + index, "correction", 17)
        expected = Envelope(
            id=batch.message_id(index), type="meter.reading", schema_version=1, key=reading.opm,
            occurred_at=NOW, recorded_at=NOW,
            correlation_id=cause.correlation_id if index == 0 else batch.message_id(index),
            causation_id=cause.id if index == 0 else None, payload=body,
        )
        assert event == encode(expected) and envelope.payload == body
        _, record = envelope_record(METER_READINGS.name, expected)
        assert headers(batch.message_id(index)) == record.headers


def test_a_prepared_batch_crosses_a_process_boundary_unchanged() -> None:
    import pickle

    batch = prepare_batch(decode_electricity(golden_bytes("metered-electricity.xml")), NOW)
    copy = pickle.loads(pickle.dumps(batch))
    assert copy.event(1, 1, "new", None) == batch.event(1, 1, "new", None)
    assert copy.keys == batch.keys and copy.register_lines == batch.register_lines
    assert isinstance(copy.message_id(0), uuid.UUID)


async def test_files_are_filed_like_the_consumer_files_them(engine: AsyncEngine, tmp_path: Path) -> None:
    paths, registers, _ = write_messages(tmp_path, 97, 30, per_message=6)
    assert len(paths) > 1 and registers == 30
    clock = ManualClock(dt.datetime(2026, 11, 30, 9, tzinfo=dt.UTC))
    first = await file_messages(engine, clock, paths, workers=1)
    assert (first.messages, first.registers, first.duplicates, first.corrections) == (len(paths), 30, 0, 0)
    again = await file_messages(engine, clock, paths, workers=1)  # the same files again: all duplicates
    assert (again.registers, again.duplicates) == (0, first.readings)
    reading = decode_electricity(paths[0].read_bytes())[0]
    query = sa.select(t.reading.c.status, t.reading.c.duplicate_of, t.reading.c.id).where(
        t.reading.c.opm == reading.opm, t.reading.c.date_from == reading.date_from
    ).order_by(t.reading.c.id)
    async with engine.connect() as conn:
        (new, _, first_id), (duplicate, duplicate_of, _) = (await conn.execute(query)).all()
    assert (new, duplicate, duplicate_of) == ("new", "duplicate", first_id)
    months = [(event.date_from.month, event.status) for event in await events(engine, reading.opm)]
    assert months[0] == (1, "new") and (1, "duplicate") in months
