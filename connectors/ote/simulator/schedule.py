"""Market steps that fall due later: an answer at the objection deadline, a switch on its date.

A step is a plain function of the instant it runs at. ``pop_due(now)`` hands out the due ones in time order
(ties in the order they were scheduled); the simulator's ``process_due`` runs them, then delivers what they
wrote. A step that has become moot (its switch was cancelled meanwhile) checks that itself and does nothing,
so nothing needs unscheduling.
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from gateway.errors import Conflict

#: Steps waiting at most: a few per switch, one per OPM of a failed supplier.
STEPS_MAX: Final = 200_000

Step = Callable[[dt.datetime], None]


@dataclass(order=True, frozen=True, slots=True)
class Due:
    at: dt.datetime
    seq: int
    #: What the step does, for the control API ("answer switch 3", "switch 3 takes effect").
    label: str = field(compare=False)
    step: Step = field(compare=False)


@dataclass(slots=True)
class Scheduler:
    _heap: list[Due] = field(default_factory=list)
    _next_seq: int = 0

    def at(self, instant: dt.datetime, label: str, step: Step) -> Due:
        assert instant.tzinfo is not None, "steps are scheduled at aware instants"
        if len(self._heap) >= STEPS_MAX:
            raise Conflict(f"the simulator holds {STEPS_MAX} scheduled steps at most")
        due = Due(instant.astimezone(dt.UTC), self._next_seq, label, step)
        self._next_seq += 1
        heapq.heappush(self._heap, due)
        return due

    def pop_due(self, now: dt.datetime, limit: int) -> list[Due]:
        """Up to ``limit`` steps due at ``now`` or earlier, earliest first, removed from the schedule."""
        assert limit > 0
        popped: list[Due] = []
        while self._heap and self._heap[0].at <= now and len(popped) < limit:
            popped.append(heapq.heappop(self._heap))
        return popped

    def upcoming(self) -> list[Due]:
        return sorted(self._heap)

    def __len__(self) -> int:
        return len(self._heap)
