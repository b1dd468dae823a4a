"""``meter.reading`` envelopes at bulk rates: one template per batch, message ids drawn for the whole batch.

The events of one batch share their type, times and cause; they differ in their id (and their correlation
id, which is their own id when nothing caused them), their key and their payload. ``EnvelopeTemplate``
encodes one envelope with stand-ins for those, with ``schemas.envelope``'s own encoder, and cuts the bytes
around them; an event is then the filled-in prefix, its payload encoded by msgspec, and the closing brace.
Building and encoding a whole envelope per reading cost three times as much. The headers the outbox keeps
(``gateway.bus.outbox.envelope_record``) are cut the same way around the id.

Message ids are UUIDv7 as ``gateway.ids`` lays them out (Unix milliseconds, a 12-bit counter, 62 random
bits), drawn for a batch from one read of the random source: ``uuid7`` reads it once per id, a system call
that was the largest single cost of preparing a reading. Ids of one batch are ordered; ids of batches drawn in
the same millisecond are distinct by their random bits (the outbox orders by its own sequence, and an id
only has to be unique).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import time
import uuid
from dataclasses import dataclass
from typing import Final

import msgspec

from gateway.bus.outbox import envelope_record, headers_json
from gateway.readings.topics import METER_READINGS
from schemas.envelope import Envelope, encode, new_envelope
from schemas.readings import MeterReading

#: Counter values per millisecond (12 bits, RFC 9562 method 1); a larger batch runs into the next ms.
_COUNTER_MAX: Final = 1 << 12
_RANDOM_BITS: Final = (1 << 62) - 1
_VERSION_VARIANT: Final = (0x7 << 76) | (0b10 << 62)
_ID_BYTES: Final = 8
# Stand-ins, each spelt as it appears in an encoded envelope; nothing else in an envelope can spell them.
_ID: Final = uuid.UUID("5e471ce1-0000-7000-8000-00000000c0de")
_ID_JSON: Final = b'"%s"' % str(_ID).encode()
_KEY_JSON: Final = b'"proud-stand-in-key"'
_SLOTS: Final = {_ID_JSON: 0, _KEY_JSON: 1}
_STAND_INS: Final = re.compile(b"|".join(re.escape(token) for token in _SLOTS))
#: schemas.envelope's settings: Decimals as strings.
payload_encoder: Final = msgspec.json.Encoder(decimal_format="string")


def message_ids(count: int) -> list[bytes]:
    """``count`` UUIDv7 as 16 bytes each, ordered."""
    now_ms = time.time_ns() // 1_000_000
    random = os.urandom(_ID_BYTES * count)
    drawn = []
    for index in range(count):
        millisecond, counter = divmod(index, _COUNTER_MAX)
        bits = int.from_bytes(random[_ID_BYTES * index : _ID_BYTES * (index + 1)], "big") & _RANDOM_BITS
        value = ((now_ms + millisecond) << 80) | _VERSION_VARIANT | (counter << 64) | bits
        drawn.append(value.to_bytes(16, "big"))
    assert len(drawn) == count
    return drawn


def id_text(message_id: bytes) -> bytes:
    """The canonical text of a UUID (as ``str(uuid.UUID(bytes=…))`` writes it), without building one."""
    h = message_id.hex().encode()
    return b"%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:])


@dataclass(frozen=True, slots=True)
class EnvelopeTemplate:
    """The envelope of a batch's events around their payloads, with slots for the id and the key."""

    parts: tuple[bytes, ...]  # literal bytes, one more than slots
    slots: tuple[int, ...]  # 0: the id, 1: the key
    headers: tuple[bytes, bytes]  # the outbox headers (JSON) before and after the id

    @staticmethod
    def of(now: dt.datetime, cause: Envelope | None, body: MeterReading) -> EnvelopeTemplate:
        """The template for events at ``now`` caused by ``cause``; ``body`` is any reading's payload."""
        envelope = new_envelope(body, key="proud-stand-in-key", now=now, cause=cause)
        envelope = msgspec.structs.replace(
            envelope, id=_ID, correlation_id=_ID if cause is None else envelope.correlation_id
        )
        data, payload = encode(envelope), payload_encoder.encode(body)
        assert data.endswith(b'"payload":' + payload + b"}"), data
        prefix = data[: -len(payload) - 1]
        parts: list[bytes] = []
        slots: list[int] = []
        start = 0
        for match in _STAND_INS.finditer(prefix):
            parts.append(prefix[start : match.start()])
            slots.append(_SLOTS[match.group()])
            start = match.end()
        parts.append(prefix[start:])
        # The id, the key, and the correlation id when it is the event's own.
        assert sorted(slots) == ([0, 1] if cause is not None else [0, 0, 1]), prefix
        _, record = envelope_record(METER_READINGS.name, envelope)
        before, after = headers_json(record.headers).encode().split(str(_ID).encode())
        return EnvelopeTemplate(tuple(parts), tuple(slots), (before, after))

    def prefix(self, message_id_text: bytes, key: str) -> bytes:
        """The envelope up to its payload, for the event with this id (``id_text``) and key."""
        values = (b'"%s"' % message_id_text, msgspec.json.encode(key))
        pieces = [self.parts[0]]
        for slot, part in zip(self.slots, self.parts[1:], strict=True):
            pieces.append(values[slot])
            pieces.append(part)
        return b"".join(pieces)

    def headers_json(self, message_id_text: bytes) -> bytes:
        return self.headers[0] + message_id_text + self.headers[1]
