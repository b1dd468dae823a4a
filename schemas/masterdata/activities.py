"""Activities: calls, letters, visits and tasks done or planned about a customer, account, contract or OPM."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

import msgspec

from schemas.masterdata.common import Note, Text

EntityKind = Literal["customer", "account", "contract", "opm"]
ActivityKind = Literal["call", "email", "letter", "visit", "task", "note"]
ActivityStatus = Literal["planned", "done", "cancelled"]


class EntityRef(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An entity by its natural key: customer number, VS, contract number or OPM code."""

    entity: EntityKind
    key: str


class ActivityIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    kind: ActivityKind
    subject: Text
    status: ActivityStatus = "planned"
    due_on: dt.date | None = None
    assignee: Text | None = None
    about: EntityRef
    note: Note = ""


class ActivityPatch(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    version: int
    status: ActivityStatus | msgspec.UnsetType = msgspec.UNSET
    due_on: dt.date | msgspec.UnsetType | None = msgspec.UNSET
    assignee: Text | msgspec.UnsetType | None = msgspec.UNSET
    note: Note | msgspec.UnsetType = msgspec.UNSET


class Activity(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    kind: ActivityKind
    subject: str
    status: ActivityStatus
    due_on: dt.date | None
    done_at: dt.datetime | None
    assignee: str | None
    about: EntityRef
    note: str
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime
