"""The working set of one batch of messages for one machine: what ``store.save`` would have done message by
message, kept in memory and written with a handful of statements at the end (``store_batch.write``).

Each key's instance is loaded once (``store_batch.load_instances``); every changing outcome then updates the
key's ``Slot``, so a later message of the batch for the same key sees the instance exactly as a one-by-one
run would have loaded it. Timers follow the same rules as ``store.save``: a changing outcome cancels the
pending timers of the exited state's names (rows armed earlier in the batch and rows already stored), then
arms its own. Only outcomes that changed something touch the working set, so an ignored message leaves it
as it was (a migrated instance that ignored a message is not stored migrated, as one by one).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from gateway.process.engine import HistoryEntry, InstanceState, Outcome

PENDING, FIRED, CANCELLED = "pending", "fired", "cancelled"


@dataclass(slots=True)
class ArmedTimer:
    key: str  # the slot the timer belongs to (its instance id is known only after the insert)
    instance_key: str
    name: str
    due_at: dt.datetime  # aware UTC
    state_entry: int
    status: str = PENDING


@dataclass(slots=True)
class Slot:
    """One key's instance through the batch."""

    stored: InstanceState | None  # as in the database when the batch started (None: no row)
    current: InstanceState | None  # as it would be loaded now, after the batch's earlier messages
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    armed: list[ArmedTimer] = field(default_factory=list)  # timers armed by the batch, in order

    @property
    def changed(self) -> bool:
        return self.updated_at is not None


@dataclass(slots=True)
class Batch:
    slots: dict[str, Slot]
    history: list[tuple[str, HistoryEntry]] = field(default_factory=list)
    armed: list[ArmedTimer] = field(default_factory=list)
    #: (instance id, timer name) of stored pending timers to cancel, in first-cancel order.
    cancels: dict[tuple[int, str], None] = field(default_factory=dict)

    @classmethod
    def of(cls, keys: Iterable[str], loaded: Mapping[str, InstanceState]) -> Batch:
        return cls({key: Slot(loaded.get(key), loaded.get(key)) for key in keys})

    def instance(self, key: str) -> InstanceState | None:
        return self.slots[key].current

    def record(self, key: str, outcome: Outcome, now: dt.datetime) -> None:
        """Apply a changing outcome for ``key`` (what ``store.save`` writes, in memory)."""
        after = outcome.instance
        assert outcome.changed and after is not None
        slot = self.slots[key]
        before = slot.current
        if before is None:
            slot.created_at = now
        elif outcome.cancel:
            names = set(outcome.cancel)
            for timer in slot.armed:
                if timer.status == PENDING and timer.name in names:
                    timer.status = CANCELLED
            if slot.stored is not None and slot.stored.id is not None:
                for name in outcome.cancel:
                    self.cancels[(slot.stored.id, name)] = None
        slot.current = after
        slot.updated_at = now
        self.history.extend((key, entry) for entry in outcome.history)
        for spec in outcome.arm:
            timer = ArmedTimer(key, after.key, spec.name, spec.due_at.astimezone(dt.UTC), spec.state_entry)
            slot.armed.append(timer)
            self.armed.append(timer)

    def new_slots(self) -> dict[str, Slot]:
        """Changed keys without a stored row, in the order the batch first named them."""
        return {key: slot for key, slot in self.slots.items() if slot.changed and slot.stored is None}

    def updated_slots(self) -> list[Slot]:
        return [slot for slot in self.slots.values() if slot.changed and slot.stored is not None]
