"""The topic registry: every topic proud uses, with its partitions, key meaning and retention.

Topics are created at start-up (Kafka admin API, or rows in the SQL log). Each topic has a dead-letter twin
``<name>.dlq`` with one partition, where messages that could not be processed land with their reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gateway import limits

DLQ_SUFFIX = ".dlq"
_NAME = re.compile(r"^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)*$")
DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class TopicSpec:
    name: str
    key_meaning: str
    partitions: int | None = None  # None: the configured default (``topic_partitions``)
    retention_ms: int = 7 * DAY_MS

    def __post_init__(self) -> None:
        assert _NAME.match(self.name), f"bad topic name {self.name!r}"
        assert len(self.name) <= 200 and not self.name.endswith(DLQ_SUFFIX)
        assert self.partitions is None or 1 <= self.partitions <= limits.TOPIC_PARTITIONS_MAX
        assert self.retention_ms == -1 or self.retention_ms >= 60_000

    def partition_count(self, default: int) -> int:
        return self.partitions or default

    @property
    def dlq(self) -> TopicSpec:
        return _DlqSpec(self.name + DLQ_SUFFIX, f"dead letters of {self.name}", 1, 30 * DAY_MS)


@dataclass(frozen=True, slots=True)
class _DlqSpec(TopicSpec):
    def __post_init__(self) -> None:
        assert self.name.endswith(DLQ_SUFFIX)


def dlq_topic(name: str) -> str:
    return name + DLQ_SUFFIX


class TopicRegistry:
    """Known topics by name. Domain packages add theirs at import time with ``register``."""

    def __init__(self) -> None:
        self._topics: dict[str, TopicSpec] = {}

    def register(self, spec: TopicSpec) -> TopicSpec:
        known = self._topics.get(spec.name)
        assert known is None or known == spec, f"topic {spec.name} registered twice, differently"
        self._topics[spec.name] = spec
        return spec

    def get(self, name: str) -> TopicSpec | None:
        return self._topics.get(name)

    def all(self, *, with_dlq: bool = True) -> list[TopicSpec]:
        specs = sorted(self._topics.values(), key=lambda s: s.name)
        if with_dlq:
            specs += [s.dlq for s in specs]
        return specs

    def __contains__(self, name: str) -> bool:
        return name in self._topics


#: The process-wide registry of built-in topics.
TOPICS = TopicRegistry()

BENCH_EVENTS = TOPICS.register(
    TopicSpec("bench.events", key_meaning="synthetic counter key (benchmarks only)", retention_ms=DAY_MS)
)
OPS_EVENTS = TOPICS.register(
    TopicSpec("ops.events", key_meaning="component name; daemon life-cycle and operator actions")
)
