"""The ``masterdata.changed`` event: one per change of a master-data object, on its ``masterdata.*`` topic.

``before`` and ``after`` are the object as the API shows it (None on creation and deletion respectively);
consumers that start processes (a new contract starts a supplier switch, a new account an advance schedule)
read ``entity`` and ``action``.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from schemas.envelope import Payload, payload

Entity = Literal["customer", "account", "contract", "opm", "activity", "document"]


@payload("masterdata.changed", 1)
class MasterDataChanged(Payload, frozen=True, kw_only=True):
    entity: Entity
    id: uuid.UUID
    key: str  # natural key: customer number, VS, contract number, OPM code; the id for the others
    action: str  # created, updated, amended, terminated, withdrawn, meter_changed, technical_changed, …
    actor: str
    version: int
    change_id: int  # the audit row (md_change.id) holding the same before/after
    before: dict[str, Any] | None
    after: dict[str, Any] | None
