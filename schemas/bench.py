"""Payloads used by ``proud bench`` and by the bus test suites."""

from __future__ import annotations

from schemas.envelope import Payload, payload


@payload("bench.event", 1)
class BenchEvent(Payload, frozen=True, kw_only=True):
    """One synthetic event: adds ``amount`` to the counter of its key."""

    seq: int
    amount: int = 1
