"""``audit.record`` for thousands of changes at once: the same ``md_change`` rows and outbox envelopes.

``audit.record`` binds its rows one by one, which at bulk-import rates cost more than writing the OPMs
themselves. Here a change is *prepared* off the write path (``prepare``: its JSON, its message id, its event
and both COPY rows, all but the ``md_change`` id that the row and the event carry), and a batch is then
*recorded* (``record_prepared``) with two binary COPYs on PostgreSQL: the audit rows with ids drawn from
``md_change``'s sequence, and the outbox rows with those ids spliced into the prepared events. On SQLite,
``record_prepared`` is ``audit.record`` itself.

The event is ``audit``'s own envelope, encoded by ``schemas.envelope``. Changes with the same entity, action,
actor and time differ only in a few values (message id, key, object id, version, before, after), so that
envelope is encoded once with stand-ins for them and cut into a template around them (``_Template``); each
change fills its values in. A template that cannot be cut cleanly (an actor that happens to contain a
stand-in) is not used: such changes are encoded whole, as ``audit.record`` does.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.bus import outbox

# The outbox's own headers encoding, so that rows written here read back like those ``outbox.add`` writes.
from gateway.bus.outbox import headers_json
from gateway.ids import uuid7
from gateway.masterdata import audit
from gateway.masterdata import bulk_copy as copy

# audit's own envelope builder, so that both paths announce a change with the same envelope.
from gateway.masterdata.audit import CHANGES_PER_STATEMENT_MAX, Change, _envelope
from gateway.masterdata.topics import TOPIC_BY_ENTITY
from gateway.store.db import is_postgres

# The sequence is looked up once (MATERIALIZED keeps the planner from repeating the catalog lookup for every
# id, which cost five times the nextval itself).
_PG_CHANGE_IDS: Final = (
    "WITH q AS MATERIALIZED (SELECT pg_get_serial_sequence('md_change', 'id')::regclass AS seq) "
    "SELECT nextval(q.seq) FROM q, generate_series(1, $1)"
)
_PG_CHANGE_COLUMNS: Final = (
    "id", "at", "actor", "entity", "entity_id", "entity_key", "action", "version", "before", "after",
    "message_id",
)
_PG_OUTBOX_COLUMNS: Final = ("message_id", "topic", "key", "value", "headers", "created_at")
#: The tables ``pg_rows`` are for, in that order, with their columns.
PG_TABLES: Final = (("md_change", _PG_CHANGE_COLUMNS), ("outbox", _PG_OUTBOX_COLUMNS))
_CHANGE_ROW_START: Final = copy.field_count(len(_PG_CHANGE_COLUMNS))
_OUTBOX_ROW_START: Final = copy.field_count(len(_PG_OUTBOX_COLUMNS))
# What ``audit.as_json`` and then JSON encoding make of a struct, in one step (a test holds them equal).
_json: Final = msgspec.json.Encoder(decimal_format="string")
_NULL_JSON: Final = b"null"
# Actors, entities, actions and topics, and the batches' times: a handful of values, each encoded once.
_texts: Final = copy.Encodings[str | None](copy.text)
_stamps: Final = copy.Encodings[dt.datetime](copy.timestamptz)

# Stand-ins for the values that differ between changes of one template, each as it appears in the encoded
# envelope. None of them can come out of encoding the other fields by chance except through the actor, and
# ``_Template.of`` checks that each appears exactly as often as the envelope holds it.
_MESSAGE_ID: Final = uuid.UUID("5e471ce1-0000-4000-8000-00000000a001")
_ENTITY_ID: Final = uuid.UUID("5e471ce1-0000-4000-8000-00000000a002")
_KEY: Final = "proud-stand-in-key"
_VERSION: Final = 7_777_777_777_771
_CHANGE_ID: Final = 7_777_777_777_772
_BEFORE: Final = b'"proud-stand-in-before"'
_AFTER: Final = b'"proud-stand-in-after"'
#: Slot of each stand-in in the values a change fills in (``_Template.event``), and how often it appears.
_SLOTS: Final = {
    _json.encode(_MESSAGE_ID): (0, 2),  # the envelope's id and correlation id
    _json.encode(_KEY): (1, 2),  # the envelope's key and the payload's
    _json.encode(_ENTITY_ID): (2, 1),
    str(_VERSION).encode(): (3, 1),
    _BEFORE: (4, 1),
    _AFTER: (5, 1),
}
_CHANGE_ID_TEXT: Final = str(_CHANGE_ID).encode()
_STAND_INS: Final = re.compile(b"|".join(re.escape(token) for token in (*_SLOTS, _CHANGE_ID_TEXT)))
#: A part of a template with fewer slots could not use ``operator.itemgetter``, which then returns no tuple.
_SLOTS_PER_PART_MIN: Final = 2


@dataclass(frozen=True, slots=True)
class Prepared:
    """A change ready to record: its ``md_change`` COPY row after the id, and its outbox COPY row in three
    parts around the event, which is cut where the ``md_change`` id goes."""

    change: Change
    change_row: bytes
    outbox_head: bytes  # the outbox row's fields before the event
    event_head: bytes
    event_tail: bytes
    outbox_tail: bytes  # the fields after it


@dataclass(frozen=True, slots=True)
class _Template:
    """The event and headers of the changes with one entity, action, actor and time, as %-formats around
    the values that differ; ``slots`` pick those values for each part."""

    head: bytes
    head_slots: Callable[[tuple[bytes, ...]], tuple[bytes, ...]]
    tail: bytes
    tail_slots: Callable[[tuple[bytes, ...]], tuple[bytes, ...]]
    headers: bytes  # %-format of the outbox headers around the message id

    @staticmethod
    def of(entity: Any, action: str, actor: str, now: dt.datetime) -> _Template | None:
        change = Change(entity, _ENTITY_ID, _KEY, action, _VERSION, None, None)
        envelope = _envelope(
            change, actor, now, _MESSAGE_ID, _CHANGE_ID, _raw(_BEFORE), _raw(_AFTER)
        )
        _, record = outbox.envelope_record(TOPIC_BY_ENTITY[entity], envelope)
        head, tail, slots = _cut(record.value)
        headers = headers_json(record.headers).encode()
        message_id = _json.encode(_MESSAGE_ID)
        if head is None or tail is None or headers.count(message_id) != 1:
            return None
        if slots != {slot: count for slot, count in _SLOTS.values()}:
            return None
        return _Template(
            head[0], operator.itemgetter(*head[1]), tail[0], operator.itemgetter(*tail[1]),
            headers.replace(b"%", b"%%").replace(message_id, b"%s"),
        )

    def event(self, values: tuple[bytes, ...]) -> tuple[bytes, bytes]:
        """The event before and after the ``md_change`` id, for values in ``_SLOTS`` order."""
        return self.head % self.head_slots(values), self.tail % self.tail_slots(values)


Part = tuple[bytes, list[int]]


def _cut(event: bytes) -> tuple[Part | None, Part | None, dict[int, int]]:
    """``event`` as %-formats before and after the change id, with the slots each fills, and how often
    each slot appeared; a part is None unless the change id appears once and each part has enough slots."""
    parts: list[Part] = []
    text, slots, start = b"", list[int](), 0
    seen: dict[int, int] = {}
    for match in _STAND_INS.finditer(event):
        text += event[start : match.start()].replace(b"%", b"%%")
        start = match.end()
        if match.group() == _CHANGE_ID_TEXT:
            parts.append((text, slots))
            text, slots = b"", []
            continue
        slot = _SLOTS[match.group()][0]
        text += b"%s"
        slots.append(slot)
        seen[slot] = seen.get(slot, 0) + 1
    parts.append((text + event[start:].replace(b"%", b"%%"), slots))
    if len(parts) != 2 or any(len(part[1]) < _SLOTS_PER_PART_MIN for part in parts):
        return None, None, seen
    return parts[0], parts[1], seen


@functools.lru_cache(maxsize=16)
def _template(entity: Any, action: str, actor: str, now: dt.datetime) -> _Template | None:
    # One import batch shares its actor and time: its changes hit this cache.
    return _Template.of(entity, action, actor, now)


def encoded(value: Any) -> bytes | None:
    """``value`` (a struct or plain data) as the JSON ``audit`` stores and announces it."""
    return None if value is None else _json.encode(value)


def event_parts(
    change: Change, actor: str, now: dt.datetime, message_id: uuid.UUID, before: bytes | None,
    after: bytes | None,
) -> tuple[bytes, bytes, bytes]:
    """The event of ``change`` before and after its ``md_change`` id, and its outbox headers (JSON)."""
    template = _template(change.entity, change.action, actor, now) if change.cause is None else None
    if template is None:
        return _event_parts_whole(change, actor, now, message_id, before, after)
    # UUIDs and the key as JSON strings (msgspec writes a UUID's text much faster than str() does).
    id_json = _json.encode(message_id)
    values = (id_json, _json.encode(change.key), _json.encode(change.entity_id), b"%d" % change.version,
              _NULL_JSON if before is None else before, _NULL_JSON if after is None else after)
    head, tail = template.event(values)
    return head, tail, template.headers % id_json


def _event_parts_whole(
    change: Change, actor: str, now: dt.datetime, message_id: uuid.UUID, before: bytes | None,
    after: bytes | None,
) -> tuple[bytes, bytes, bytes]:
    # The payload's "change_id" precedes "before" and "after", and a stand-in inside a JSON string before
    # it would have its quotes escaped, so the first occurrence of the key is the one.
    envelope = _envelope(change, actor, now, message_id, _CHANGE_ID, _raw(before), _raw(after))
    _, record = outbox.envelope_record(TOPIC_BY_ENTITY[change.entity], envelope)
    key = b'"change_id":'
    head, tail = record.value.split(key + _CHANGE_ID_TEXT, 1)
    return head + key, tail, headers_json(record.headers).encode()


def prepare(change: Change, actor: str, now: dt.datetime, after: bytes | None = None) -> Prepared:
    """Everything of ``change``'s audit row and event that needs no database; ``after`` if already encoded."""
    before_json = encoded(change.before)
    after_json = after if after is not None else encoded(change.after)
    message_id = uuid7()
    event_head, event_tail, headers = event_parts(change, actor, now, message_id, before_json, after_json)
    stamp, message, key = _stamps[now], copy.uuid_field(message_id), copy.text(change.key)
    texts = _texts
    change_row = b"".join((
        stamp, texts[actor], texts[change.entity], copy.uuid_field(change.entity_id), key,
        texts[change.action], copy.int4(change.version), copy.raw(before_json), copy.raw(after_json), message,
    ))
    outbox_head = b"".join((_OUTBOX_ROW_START, message, texts[TOPIC_BY_ENTITY[change.entity]], key))
    return Prepared(change, change_row, outbox_head, event_head, event_tail, copy.raw(headers) + stamp)


def _raw(json: bytes | None) -> Any:
    # Already-encoded JSON goes into the event as it is, not decoded and encoded again.
    return None if json is None else msgspec.Raw(json)


async def record_prepared(
    conn: AsyncConnection, actor: str, now: dt.datetime, prepared: Sequence[Prepared]
) -> None:
    """Audit and announce prepared changes in the open transaction (``prepare`` had the same actor, now)."""
    assert actor, "every change names who made it"
    for start in range(0, len(prepared), CHANGES_PER_STATEMENT_MAX):
        chunk = prepared[start : start + CHANGES_PER_STATEMENT_MAX]
        if is_postgres(conn):
            await _record_pg(conn, chunk)
        else:
            await audit.record(conn, actor, now, [item.change for item in chunk])


def pg_rows(prepared: Prepared, change_id: int) -> tuple[bytes, bytes]:
    """The COPY rows of ``prepared`` for ``md_change`` and ``outbox``, with its audit row's id."""
    digits = b"%d" % change_id
    size = len(prepared.event_head) + len(digits) + len(prepared.event_tail)
    return (
        b"".join((_CHANGE_ROW_START, copy.int8(change_id), prepared.change_row)),
        b"".join((prepared.outbox_head, size.to_bytes(4, "big"), prepared.event_head, digits,
                  prepared.event_tail, prepared.outbox_tail)),
    )


async def draw_change_ids(conn: AsyncConnection, count: int) -> list[int]:
    """``count`` ids from ``md_change``'s own sequence, ascending (each event carries its audit row's id)."""
    drawn: Sequence[Any] = (await conn.exec_driver_sql(_PG_CHANGE_IDS, (count,))).all()
    return sorted(int(row[0]) for row in drawn)


async def copy_audit(conn: AsyncConnection, changes: Sequence[bytes], events: Sequence[bytes]) -> None:
    """COPY ``pg_rows`` into ``md_change`` and ``outbox``."""
    await copy.copy_binary(conn, "md_change", _PG_CHANGE_COLUMNS, changes)
    await copy.copy_binary(conn, "outbox", _PG_OUTBOX_COLUMNS, events)


async def _record_pg(conn: AsyncConnection, prepared: Sequence[Prepared]) -> None:
    change_ids = await draw_change_ids(conn, len(prepared))
    rows = [pg_rows(p, change_id) for change_id, p in zip(change_ids, prepared, strict=True)]
    await copy_audit(conn, [row[0] for row in rows], [row[1] for row in rows])
