"""Writes to ``ote_archive``, with the outbox row or dead letter of an inbound message in one transaction."""

from __future__ import annotations

import datetime as dt
from typing import Final

import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from connectors.ote.inbound import Accepted, Refused, sha256_hex
from connectors.ote.tables import DIRECTION_IN, DIRECTION_OUT, PEER_SUBJECT_CHARS_MAX, ote_archive
from connectors.ote.topics import OTE_INBOUND
from gateway import limits
from gateway.bus import dlq, outbox
from gateway.bus.base import Record
from gateway.store.db import translate_errors
from schemas.envelope import new_envelope
from schemas.ote.events import OteReceived

#: Consumer group named on the dead letters of the callback: it is the first "consumer" of OTE's messages.
GROUP_ID: Final = "ote-callback"
#: The dead-letter copy goes to ``ote.inbound.dlq`` through the outbox; a raw message is kept in it only up
#: to this size (the bus's limit less room for headers). Larger ones are referred to by their archive row.
DEAD_LETTER_VALUE_BYTES_MAX: Final = limits.MESSAGE_BYTES_MAX - 65_536
HEADER_ARCHIVE_ID: Final = "proud-ote-archive-id"
HEADER_REASON_CODE: Final = "proud-ote-reason-code"

assert 0 < DEAD_LETTER_VALUE_BYTES_MAX < limits.MESSAGE_BYTES_MAX


async def archive(
    conn: AsyncConnection,
    *,
    direction: str,
    raw: bytes,
    now: dt.datetime,
    message_id: str | None,
    message_code: str | None,
    peer_subject: str | None,
) -> int:
    """Insert one archive row in the caller's transaction; its id."""
    assert direction in (DIRECTION_IN, DIRECTION_OUT), direction
    subject = None if peer_subject is None else peer_subject[:PEER_SUBJECT_CHARS_MAX]
    statement = (
        ote_archive.insert()
        .values(
            direction=direction, received_at=now, sha256=sha256_hex(raw), size_bytes=len(raw),
            message_code=message_code, message_id=message_id, peer_subject=subject, raw=raw,
        )
        .returning(ote_archive.c.id)
    )
    archive_id = (await conn.execute(statement)).scalar_one()
    assert isinstance(archive_id, int) and archive_id > 0
    return archive_id


async def record_outbound(
    engine: AsyncEngine, raw: bytes, *, now: dt.datetime, message_id: str | None, message_code: str | None
) -> int:
    with translate_errors("OTE archive (outbound)"):
        async with engine.begin() as conn:
            return await archive(
                conn, direction=DIRECTION_OUT, raw=raw, now=now,
                message_id=message_id, message_code=message_code, peer_subject=None,
            )


async def record_inbound(
    engine: AsyncEngine,
    raw: bytes,
    outcome: Accepted | Refused,
    *,
    now: dt.datetime,
    peer_subject: str | None,
) -> int:
    """Archive ``raw`` first, then publish it or dead-letter it, in one transaction; the archive id."""
    message_id: str | None
    message_code: str | None
    if isinstance(outcome, Accepted):
        envelope = outcome.message.envelope
        message_id, message_code = envelope.id, envelope.message_code
    else:
        message_id, message_code = outcome.peek.message_id, outcome.peek.message_code
    with translate_errors("OTE archive (inbound)"):
        async with engine.begin() as conn:
            archive_id = await archive(
                conn, direction=DIRECTION_IN, raw=raw, now=now,
                message_id=message_id, message_code=message_code, peer_subject=peer_subject,
            )
            if isinstance(outcome, Accepted):
                await _publish(conn, archive_id, outcome, now)
            else:
                await _dead_letter(conn, archive_id, raw, outcome, now)
    return archive_id


async def _publish(conn: AsyncConnection, archive_id: int, outcome: Accepted, now: dt.datetime) -> None:
    full = _received(archive_id, outcome, msgspec.to_builtins(outcome.message))
    message_id, item = outbox.envelope_record(OTE_INBOUND.name, new_envelope(full, key=outcome.key, now=now))
    if len(item.value) > limits.MESSAGE_BYTES_MAX:
        # Over the bus's limit (a large batch of readings): consumers read the archive row instead.
        message_id, item = outbox.envelope_record(
            OTE_INBOUND.name, new_envelope(_received(archive_id, outcome, None), key=outcome.key, now=now)
        )
    await outbox.add(conn, [(message_id, item)], now)


def _received(archive_id: int, outcome: Accepted, message: dict[str, object] | None) -> OteReceived:
    envelope = outcome.message.envelope
    return OteReceived(
        archive_id=archive_id, family=outcome.family, message_code=envelope.message_code,
        message_id=envelope.id, message=message,
    )


async def _dead_letter(
    conn: AsyncConnection, archive_id: int, raw: bytes, outcome: Refused, now: dt.datetime
) -> None:
    value = raw
    if len(raw) > DEAD_LETTER_VALUE_BYTES_MAX:
        pointer = {"ote_archive_id": archive_id, "sha256": sha256_hex(raw), "size_bytes": len(raw)}
        value = msgspec.json.encode(pointer)
    headers = (
        (HEADER_ARCHIVE_ID, str(archive_id).encode()),
        (HEADER_REASON_CODE, outcome.reason_code.encode()),
    )
    # The archive id is the offset: unique per refused message, and it points at the raw bytes.
    record = Record(OTE_INBOUND.name, 0, archive_id, outcome.peek.message_id, value, headers)
    error = f"{type(outcome.error).__name__}: {outcome.error.message}"
    failure = dlq.Failure(
        reason=f"{outcome.reason_code}: {outcome.error.message}", error_type=type(outcome.error).__name__,
        attempts=1, first_error=error, first_error_at=now, last_error=error, last_error_at=now,
    )
    await dlq.add(
        conn, group_id=GROUP_ID, record=record, failure=failure, message_id=None, message_type=None, now=now
    )
