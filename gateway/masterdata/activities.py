"""Activities: what the back office did or plans about a customer, account, contract or OPM.

An activity names its subject by natural key (customer number, VS, contract number, OPM code), checked to
exist when the activity is entered. Marking one done stamps ``done_at`` from the clock.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Final

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.errors import InvalidField
from gateway.ids import uuid7
from gateway.masterdata import audit
from gateway.masterdata import tables as t
from gateway.masterdata.service_base import require_version, row_by
from schemas.masterdata.activities import Activity, ActivityIn, ActivityPatch, EntityKind, EntityRef

#: Activities one listing returns at most.
ACTIVITIES_LIST_MAX: Final = 500

#: The table and natural-key column of each kind of subject.
SUBJECT_KEYS: Final[dict[str, sa.Column[Any]]] = {
    "customer": t.customer.c.number,
    "account": t.account.c.variable_symbol,
    "contract": t.contract.c.number,
    "opm": t.opm.c.code,
}


async def require_subject(conn: AsyncConnection, field: str, ref: EntityRef) -> None:
    """Refuse a reference to an object that does not exist, naming the field and the key."""
    column = SUBJECT_KEYS[ref.entity]
    found = await conn.scalar(sa.select(sa.literal(1)).where(column == ref.key))
    if found is None:
        raise InvalidField(f"{field}.key", ref.key, f"no {ref.entity} with this key exists")


def _activity(row: Any) -> Activity:
    return Activity(
        id=row.id, kind=row.kind, subject=row.subject, status=row.status, due_on=row.due_on,
        done_at=row.done_at, assignee=row.assignee, about=EntityRef(entity=row.entity, key=row.entity_key),
        note=row.note, version=row.version, created_at=row.created_at, updated_at=row.updated_at,
    )


async def create_activity(conn: AsyncConnection, actor: str, now: dt.datetime, data: ActivityIn) -> Activity:
    await require_subject(conn, "about", data.about)
    activity_id = uuid7()
    values: dict[str, Any] = {
        "id": activity_id, "kind": data.kind, "subject": data.subject, "status": data.status,
        "due_on": data.due_on, "done_at": now if data.status == "done" else None, "assignee": data.assignee,
        "entity": data.about.entity, "entity_key": data.about.key, "note": data.note, "version": 1,
        "created_at": now, "updated_at": now,
    }
    await conn.execute(sa.insert(t.activity).values(values))
    created = await get_activity(conn, activity_id)
    await audit.record(conn, actor, now, [audit.Change(
        "activity", created.id, str(created.id), "created", created.version, None, created,
    )])
    return created


async def get_activity(conn: AsyncConnection, activity_id: uuid.UUID) -> Activity:
    return _activity(await row_by(conn, t.activity, t.activity.c.id, activity_id, "activity"))


async def update_activity(
    conn: AsyncConnection, actor: str, now: dt.datetime, activity_id: uuid.UUID, patch: ActivityPatch
) -> Activity:
    row = await row_by(conn, t.activity, t.activity.c.id, activity_id, "activity", for_update=True)
    before = _activity(row)
    require_version("activity", str(activity_id), before.version, patch.version)
    changes = {
        name: value for name in ("status", "due_on", "assignee", "note")
        if (value := getattr(patch, name)) is not msgspec.UNSET and value != getattr(before, name)
    }
    if not changes:
        return before
    if changes.get("status") == "done":
        changes["done_at"] = now
    elif "status" in changes:
        changes["done_at"] = None
    changes |= {"version": before.version + 1, "updated_at": now}
    await conn.execute(sa.update(t.activity).where(t.activity.c.id == activity_id).values(changes))
    after = await get_activity(conn, activity_id)
    await audit.record(conn, actor, now, [audit.Change(
        "activity", activity_id, str(activity_id), "updated", after.version, before, after,
    )])
    return after


async def activities_about(
    conn: AsyncConnection, refs: list[tuple[EntityKind, str]], limit: int = ACTIVITIES_LIST_MAX
) -> list[Activity]:
    """Activities about any of ``refs``, planned ones first by due date, then the newest done ones."""
    assert 1 <= limit <= ACTIVITIES_LIST_MAX
    if not refs:
        return []
    about = sa.or_(*(
        sa.and_(t.activity.c.entity == entity, t.activity.c.entity_key == key) for entity, key in refs
    ))
    rows = await conn.execute(
        sa.select(t.activity).where(about)
        .order_by((t.activity.c.status != "planned"), t.activity.c.due_on, t.activity.c.created_at.desc())
        .limit(limit)
    )
    return [_activity(row) for row in rows]
