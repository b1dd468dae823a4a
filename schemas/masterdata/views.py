"""Read models the master-data API composes from several objects: the customer-360 view and an object's
change history."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import msgspec

from schemas.masterdata.accounts import Account
from schemas.masterdata.activities import Activity
from schemas.masterdata.contracts import Contract
from schemas.masterdata.customers import Customer
from schemas.masterdata.documents import Document
from schemas.masterdata.events import Entity
from schemas.masterdata.opm import Opm


class Customer360(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the back office sees about one customer on one day (``as_of``): contracts with the terms
    in force that day, their OPMs with the technical data in force that day, and the activities and
    documents about the customer or any of its accounts, contracts and OPMs."""

    as_of: dt.date
    customer: Customer
    accounts: list[Account]
    contracts: list[Contract]
    opms: list[Opm]
    activities: list[Activity]
    documents: list[Document]


class ChangeEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One audited change: who made it, when, and the object before and after (as the API shows it)."""

    id: int
    at: dt.datetime
    actor: str
    action: str
    version: int
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    #: The ``masterdata.changed`` message that announced the change.
    message_id: uuid.UUID


class ChangeHistory(msgspec.Struct, frozen=True, kw_only=True):
    """The newest ``limit`` changes of one object, newest first."""

    entity: Entity
    key: str
    changes: list[ChangeEntry]
    limit: int
