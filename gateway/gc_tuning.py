"""Garbage-collector settings for the long-running, allocation-heavy processes (the daemon, the benchmarks).

The consumer path allocates many short-lived containers per message (decoded envelopes, handler contexts,
evaluation contexts, rows to write). With CPython's default young threshold (700 allocations) a collection
runs every few messages, and every tenth of those walks the middle generation, so the collector took about
a sixth of the CPU of ``proud bench rules``. Everything alive at start-up (modules, SQLAlchemy metadata,
compiled rules) lives as long as the process, so it is frozen out of the collector's view, and the young
threshold is raised so that collections run about once per batch instead of once per few messages.
Reference cycles are still collected, only in larger steps.
"""

from __future__ import annotations

import gc

#: Allocations (net of deallocations) between young collections; CPython's default is 700.
YOUNG_THRESHOLD = 50_000
MIDDLE_THRESHOLD = 20
OLD_THRESHOLD = 100


def tune_gc() -> None:
    """Call once, after start-up imports and before the event loop runs."""
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, MIDDLE_THRESHOLD, OLD_THRESHOLD)
