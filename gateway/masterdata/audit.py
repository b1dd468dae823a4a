"""Every master-data change, recorded and announced in the writer's transaction.

``record`` writes one ``md_change`` row per change (who, when, before, after) and queues the matching
``masterdata.changed`` event in the outbox, both inside the caller's transaction: a change is either stored,
audited and announced, or none of the three.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.bus import outbox
from gateway.ids import uuid7
from gateway.masterdata import tables as t
from gateway.masterdata.topics import TOPIC_BY_ENTITY
from schemas.envelope import Envelope
from schemas.masterdata.events import Entity, MasterDataChanged

#: Changes written with one statement; a bulk import hands over at most this many at a time.
CHANGES_PER_STATEMENT_MAX = 5000


@dataclass(frozen=True, slots=True)
class Change:
    entity: Entity
    entity_id: uuid.UUID
    key: str
    action: str
    version: int
    before: Any  # the object as the API shows it (a msgspec Struct or a dict), None on creation
    after: Any  # None on deletion
    cause: Envelope | None = None  # the message that led to it, when a consumer made the change


def as_json(value: Any) -> dict[str, Any] | None:
    """A struct as plain JSON data (dates and Decimals as strings), so that audit rows and events agree."""
    if value is None:
        return None
    data = msgspec.to_builtins(value, builtin_types=(), str_keys=True)
    assert isinstance(data, dict), type(value)
    return data


async def record(conn: AsyncConnection, actor: str, now: dt.datetime, changes: Sequence[Change]) -> list[int]:
    """Audit and announce ``changes`` in the open transaction; returns the ``md_change`` ids in order."""
    assert actor, "every change names who made it"
    assert len(changes) <= CHANGES_PER_STATEMENT_MAX, len(changes)
    if not changes:
        return []
    message_ids = [uuid7() for _ in changes]
    befores = [as_json(change.before) for change in changes]
    afters = [as_json(change.after) for change in changes]
    rows = [
        {
            "at": now, "actor": actor, "entity": change.entity, "entity_id": change.entity_id,
            "entity_key": change.key, "action": change.action, "version": change.version,
            "before": before, "after": after, "message_id": message_id,
        }
        for change, before, after, message_id in zip(changes, befores, afters, message_ids, strict=True)
    ]
    result = await conn.execute(
        sa.insert(t.change).returning(t.change.c.id, sort_by_parameter_order=True), rows
    )
    change_ids = [int(row[0]) for row in result]
    items = [
        outbox.envelope_record(TOPIC_BY_ENTITY[change.entity], _envelope(
            change, actor, now, message_id, change_id, before, after,
        ))
        for change, message_id, change_id, before, after
        in zip(changes, message_ids, change_ids, befores, afters, strict=True)
    ]
    await outbox.add(conn, items, now)
    return change_ids


def _envelope(
    change: Change, actor: str, now: dt.datetime, message_id: uuid.UUID, change_id: int,
    before: dict[str, Any] | None, after: dict[str, Any] | None,
) -> Envelope:
    body = MasterDataChanged(
        entity=change.entity, id=change.entity_id, key=change.key, action=change.action, actor=actor,
        version=change.version, change_id=change_id, before=before, after=after,
    )
    cause = change.cause
    return Envelope(
        id=message_id, type=body.message_type, schema_version=body.schema_version, key=change.key,
        occurred_at=now, recorded_at=now, correlation_id=cause.correlation_id if cause else message_id,
        causation_id=cause.id if cause else None, payload=body,
    )


async def history(conn: AsyncConnection, entity: Entity, key: str, limit: int) -> list[dict[str, Any]]:
    """The newest ``limit`` changes of one object by its natural key (customer number, VS, contract number,
    OPM code; the id of an activity or document), newest first. Natural keys never change, so the key
    names one object for its whole life."""
    rows = await conn.execute(
        sa.select(t.change).where(t.change.c.entity == entity, t.change.c.entity_key == key)
        .order_by(t.change.c.id.desc()).limit(limit)
    )
    return [
        {
            "id": row.id, "at": row.at, "actor": row.actor, "action": row.action, "version": row.version,
            "before": row.before, "after": row.after, "message_id": row.message_id,
        }
        for row in rows
    ]
