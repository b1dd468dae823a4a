"""The envelope every message on the bus travels in, and its JSON codec.

An envelope names its payload by ``type`` and ``schema_version``. Payload structs register themselves
(``@payload``), and decoding looks the pair up, so an unknown type or version is a ``MessageError`` that the
consumer runtime sends to the dead-letter topic instead of crashing on it.

Wire form (JSON)::

    {"id": "0192…", "type": "bench.event", "schema_version": 1, "key": "OPM-1",
     "occurred_at": "2026-11-30T10:00:00Z", "recorded_at": "…", "correlation_id": "…",
     "causation_id": null, "payload": {…}}
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

import msgspec

from gateway.errors import (
    MalformedMessage,
    MessageTooLarge,
    UnknownMessageType,
    UnsupportedSchemaVersion,
)
from gateway.ids import uuid7
from gateway.limits import MESSAGE_BYTES_MAX


class Payload(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base of every payload struct. Subclasses are registered with ``@payload(type, version)``."""

    message_type: ClassVar[str]
    schema_version: ClassVar[int]


P = TypeVar("P", bound=Payload)

# (type, schema_version) -> payload struct
_REGISTRY: dict[tuple[str, int], type[Payload]] = {}


def payload(message_type: str, schema_version: int = 1) -> Callable[[type[P]], type[P]]:
    """Register a payload struct under its message type and schema version."""
    assert message_type and message_type == message_type.strip(), message_type
    assert schema_version >= 1

    def register(cls: type[P]) -> type[P]:
        key = (message_type, schema_version)
        assert key not in _REGISTRY or _REGISTRY[key] is cls, f"payload {key} registered twice"
        cls.message_type = message_type
        cls.schema_version = schema_version
        _REGISTRY[key] = cls
        return cls

    return register


def registered_types() -> dict[tuple[str, int], type[Payload]]:
    return dict(_REGISTRY)


class Envelope(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    type: str
    schema_version: int
    key: str
    occurred_at: dt.datetime
    recorded_at: dt.datetime
    correlation_id: uuid.UUID
    causation_id: uuid.UUID | None
    payload: Payload

    def __post_init__(self) -> None:
        assert self.type == self.payload.message_type, (self.type, self.payload.message_type)
        assert self.schema_version == self.payload.schema_version
        assert self.occurred_at.tzinfo is not None and self.recorded_at.tzinfo is not None


class _RawEnvelope(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID
    type: str
    schema_version: int
    key: Any
    occurred_at: dt.datetime
    recorded_at: dt.datetime
    correlation_id: uuid.UUID
    causation_id: uuid.UUID | None
    payload: msgspec.Raw


def new_envelope(
    body: Payload,
    *,
    key: str,
    now: dt.datetime,
    occurred_at: dt.datetime | None = None,
    cause: Envelope | None = None,
) -> Envelope:
    """A fresh envelope. With ``cause``, it joins the cause's correlation and names it as causation."""
    assert key, "an envelope needs a key: the entity that orders it"
    message_id = uuid7()
    return Envelope(
        id=message_id,
        type=body.message_type,
        schema_version=body.schema_version,
        key=key,
        occurred_at=occurred_at or now,
        recorded_at=now,
        correlation_id=cause.correlation_id if cause else message_id,
        causation_id=cause.id if cause else None,
        payload=body,
    )


_encoder = msgspec.json.Encoder(decimal_format="string")
_raw_decoder = msgspec.json.Decoder(_RawEnvelope)
_payload_decoders: dict[type[Payload], msgspec.json.Decoder[Any]] = {}


def encode(envelope: Envelope) -> bytes:
    return _encoder.encode(envelope)



def decode(data: bytes, *, bytes_max: int = MESSAGE_BYTES_MAX) -> Envelope:
    """Bytes to envelope, or a ``MessageError`` that says exactly what is wrong."""
    if len(data) > bytes_max:
        raise MessageTooLarge(f"message is {len(data)} bytes, the limit is {bytes_max}")
    try:
        raw = _raw_decoder.decode(data)
    except msgspec.ValidationError as exc:
        raise MalformedMessage(f"envelope: {exc}") from exc
    except msgspec.DecodeError as exc:
        raise MalformedMessage(f"envelope is not valid JSON: {exc}") from exc
    if not isinstance(raw.key, str) or not raw.key:
        raise MalformedMessage(f"envelope: `key` must be a non-empty string, got {raw.key!r}")
    if raw.occurred_at.tzinfo is None or raw.recorded_at.tzinfo is None:
        raise MalformedMessage("envelope: `occurred_at` and `recorded_at` need a time zone")
    cls = _REGISTRY.get((raw.type, raw.schema_version))
    if cls is None:
        versions = sorted(v for (t, v) in _REGISTRY if t == raw.type)
        if not versions:
            raise UnknownMessageType(f"unknown message type {raw.type!r}")
        raise UnsupportedSchemaVersion(
            f"message type {raw.type!r} has no schema_version {raw.schema_version}; "
            f"supported: {versions}"
        )
    decoder = _payload_decoders.get(cls)
    if decoder is None:
        decoder = _payload_decoders[cls] = msgspec.json.Decoder(cls)
    try:
        body = decoder.decode(raw.payload)
    except msgspec.ValidationError as exc:
        text = str(exc).replace("`$", "`payload")
        raise MalformedMessage(f"{raw.type} v{raw.schema_version} payload: {text}") from exc
    return Envelope(
        id=raw.id, type=raw.type, schema_version=raw.schema_version, key=raw.key,
        occurred_at=raw.occurred_at, recorded_at=raw.recorded_at,
        correlation_id=raw.correlation_id, causation_id=raw.causation_id, payload=body,
    )
