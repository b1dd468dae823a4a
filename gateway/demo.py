"""Demo data for ``make run``: a first burst of events so the ops endpoints have something to show.

Idempotent: the events have fixed ids (derived from their number), so restarting the demo daemon queues
them again but the inbox applies each only once.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.bus import outbox
from gateway.bus.topics import BENCH_EVENTS
from gateway.clock import Clock
from schemas.bench import BenchEvent
from schemas.envelope import Envelope

DEMO_EVENTS = 100
DEMO_KEYS = ("OPM-859182400100000001", "OPM-859182400100000002", "OPM-27ZG600Z0000001A")
_DEMO_NAMESPACE = uuid.UUID("6f1c6d1e-3f4b-4c2a-9d8e-0d2b7f6a5c11")


async def seed(engine: AsyncEngine, clock: Clock) -> int:
    now = clock.now()
    items = []
    for n in range(DEMO_EVENTS):
        message_id = uuid.uuid5(_DEMO_NAMESPACE, f"demo-{n}")
        envelope = Envelope(
            id=message_id, type="bench.event", schema_version=1, key=DEMO_KEYS[n % len(DEMO_KEYS)],
            occurred_at=now, recorded_at=now, correlation_id=message_id, causation_id=None,
            payload=BenchEvent(seq=n, amount=1),
        )
        items.append(outbox.envelope_record(BENCH_EVENTS.name, envelope))
    async with engine.begin() as conn:
        await outbox.add(conn, items, now)
    return len(items)
