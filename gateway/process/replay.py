"""Replay dry-run: recorded messages through the current rules, in memory, compared with what was recorded.

``proud rules replay`` answers "what would these rules have done with last month's messages?" before a
changed rule file goes live. The messages (``replay_input``: a JSONL file or a bus topic) go in order
through the real engine on a ``MemoryRuntime`` whose clock follows the messages: before each message, the
timers due by its ``occurred_at`` fire in due order; after the last, those due by ``until``. Nothing is
written anywhere: no store row, no outbox row, no offset.

Per instance key the replay's outcome (final state, states entered, emitted message types, rejections) is
compared with the recorded one: ``{"recorded": ...}`` lines of the JSONL input, or the store's
``process_instance``/``process_history`` rows (read-only; the store keeps no emitted messages, so only
states are compared then). Keys whose instance saw messages outside the replayed window differ by nature.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.clock import ManualClock
from gateway.process.actions import ACTIONS
from gateway.process.calendar import WorkingCalendar
from gateway.process.definition import Machine
from gateway.process.engine import Actions
from gateway.process.expressions import Decisions
from gateway.process.replay_input import Recorded, ReplayInput
from gateway.process.simulation import REJECTED, MemoryRuntime
from gateway.process.tables import process_history, process_instance
from schemas.envelope import Envelope, encode

#: Keys per ``IN (...)`` of the store queries: below every database's parameter limit.
STORE_KEYS_PER_QUERY = 500
#: Differences printed per key; the rest are counted (one wrong transition tends to change everything).
DIFFERENCES_PER_KEY_MAX = 10


@dataclass(slots=True)
class KeyOutcome:
    """What the replay did for one instance key."""

    key: str
    state: str | None = None  # None: no instance
    states: list[str] = field(default_factory=list)
    emitted: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)  # the engine's reasons, as the DLQ would show them

    def recorded(self) -> Recorded:
        return Recorded(self.key, self.state, tuple(self.states), tuple(self.emitted))


@dataclass(slots=True)
class ReplayReport:
    machine: str
    version: str
    source: str
    input: ReplayInput
    outcomes: dict[str, KeyOutcome]
    recorded: dict[str, Recorded]
    differences: dict[str, list[str]]  # key -> what differs; only keys with a recorded outcome

    def lines(self) -> list[str]:
        head = (
            f"replay of machine {self.machine} (version {self.version}) from {self.source}: "
            f"{len(self.input.messages)} message(s), {len(self.outcomes)} instance key(s)"
        )
        found = [head, *(f"skipped {reason}" for reason in self.input.skipped)]
        if self.input.skipped_count > len(self.input.skipped):
            found.append(f"skipped {self.input.skipped_count - len(self.input.skipped)} more input(s)")
        for key, outcome in sorted(self.outcomes.items()):
            found += [f"{key}: rejected: {reason}" for reason in outcome.rejected]
        for key, texts in sorted(self.differences.items()):
            found += [f"{key}: {text}" for text in texts[:DIFFERENCES_PER_KEY_MAX]]
            if len(texts) > DIFFERENCES_PER_KEY_MAX:
                found.append(f"{key}: {len(texts) - DIFFERENCES_PER_KEY_MAX} more difference(s)")
        compared = sum(1 for key in self.outcomes if key in self.recorded)
        found.append(
            f"summary: {len(self.outcomes)} key(s) replayed, {compared} compared with the recording, "
            f"{len(self.differences)} differ, {len(self.outcomes) - compared} without a recorded outcome"
        )
        return found


async def replay(
    machine: Machine,
    messages: Sequence[Envelope],
    *,
    decisions: Decisions | None,
    until: dt.datetime | None = None,
    calendar: WorkingCalendar | None = None,
    actions: Actions = ACTIONS,
) -> dict[str, KeyOutcome]:
    """Run ``messages`` in order on an empty in-memory store; the outcome per key that any message named."""
    if not messages:
        return {}
    start = min(message.occurred_at for message in messages)
    runtime = MemoryRuntime(machine, ManualClock(start), calendar or WorkingCalendar(), actions, decisions)
    for message in messages:
        # Time never runs backwards: a message recorded out of order is applied at the latest time seen.
        await runtime.advance_to(max(runtime.clock.now(), message.occurred_at))
        await runtime.deliver(message)
    await runtime.advance_to(max(runtime.clock.now(), until or runtime.clock.now()))
    outcomes: dict[str, KeyOutcome] = {}
    for delivery in runtime.deliveries:
        outcome = outcomes.setdefault(delivery.key, KeyOutcome(delivery.key))
        outcome.emitted += [envelope.type for _topic, envelope in delivery.emitted]
        if delivery.result == REJECTED:
            outcome.rejected.append(f"{delivery.message.type} {delivery.message.id}: {delivery.error}")
    for key, outcome in outcomes.items():
        instance = runtime.instances.get(key)
        outcome.state = instance.state if instance is not None else None
        outcome.states = [entry.to_state for entry in runtime.history.get(key, [])]
    return outcomes


def compare(outcomes: dict[str, KeyOutcome], recorded: dict[str, Recorded]) -> dict[str, list[str]]:
    """Per key with a recorded outcome, what the replay did differently (keys recorded but never replayed
    count too: the replay made no instance for them)."""
    found: dict[str, list[str]] = {}
    for key, before in recorded.items():
        now = outcomes.get(key, KeyOutcome(key))
        texts: list[str] = []
        if before.state != now.state:
            texts.append(f"final state: recorded {_state(before.state)}, replayed {_state(now.state)}")
        if before.states is not None and list(before.states) != now.states:
            texts.append(f"states: recorded {_list(before.states)}, replayed {_list(now.states)}")
        if before.emitted is not None and list(before.emitted) != now.emitted:
            texts.append(f"emitted: recorded {_list(before.emitted)}, replayed {_list(now.emitted)}")
        if texts:
            found[key] = texts
    return found


async def recorded_from_store(engine: AsyncEngine, machine: str, keys: Iterable[str]) -> dict[str, Recorded]:
    """The stored outcome (state, states entered) of each key; a key without an instance has state None."""
    wanted = sorted(set(keys))
    found = {key: Recorded(key, None, ()) for key in wanted}
    i, h = process_instance.c, process_history.c
    async with engine.connect() as conn:  # SELECTs only
        for first in range(0, len(wanted), STORE_KEYS_PER_QUERY):
            chunk = wanted[first:first + STORE_KEYS_PER_QUERY]
            rows = (await conn.execute(
                sa.select(i.id, i.key, i.state).where(i.machine == machine, i.key.in_(chunk))
            )).all()
            by_id = {row.id: row for row in rows}
            states: dict[int, list[str]] = {row.id: [] for row in rows}
            if by_id:
                history = await conn.execute(
                    sa.select(h.instance_id, h.to_state).where(h.instance_id.in_(list(by_id)))
                    .order_by(h.instance_id, h.seq)
                )
                for instance_id, to_state in history:
                    states[instance_id].append(to_state)
            for row in rows:
                found[row.key] = Recorded(row.key, row.state, tuple(states[row.id]))
    return found


def recording_lines(messages: Sequence[Envelope], outcomes: dict[str, KeyOutcome]) -> list[str]:
    """A JSONL recording of this replay (its input and its outcome per key), to replay later against
    changed rules: what "no difference" means is then what these rules did."""
    lines = [encode(message).decode("utf-8") for message in messages]
    for key, outcome in sorted(outcomes.items()):
        value = {"key": key, "state": outcome.state, "states": outcome.states, "emitted": outcome.emitted}
        lines.append(json.dumps({"recorded": value}, ensure_ascii=False))
    return lines


def _state(state: str | None) -> str:
    return "(no instance)" if state is None else state


def _list(items: Sequence[str]) -> str:
    return "[" + ", ".join(items) + "]"
