"""The bus interface: one contract, two real backends (``KafkaBus``, ``SqlLogBus``).

The bus moves opaque bytes between topics, partitioned by key, with consumer groups and committed offsets.
It knows nothing about envelopes, handlers or the database transaction that applies a message: that is
``gateway.bus.runner``. Both backends pass the same contract test suite (``tests/bus/contract.py``).

Delivery is at least once. A consumer commits the *next* offset of a partition after the effects of the
records before it are durable; records after the last commit may be delivered again (after a crash or a
rebalance), and the inbox makes the second delivery a no-op.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from gateway.bus.topics import TopicSpec

Headers = tuple[tuple[str, bytes], ...]


@dataclass(frozen=True, slots=True)
class TopicPartition:
    topic: str
    partition: int

    def __str__(self) -> str:
        return f"{self.topic}[{self.partition}]"


@dataclass(frozen=True, slots=True)
class OutgoingRecord:
    topic: str
    key: str
    value: bytes
    headers: Headers = ()


@dataclass(frozen=True, slots=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: str | None
    value: bytes
    headers: Headers = ()
    timestamp_ms: int = 0

    @property
    def tp(self) -> TopicPartition:
        return TopicPartition(self.topic, self.partition)

    def header(self, name: str) -> bytes | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None


@dataclass(frozen=True, slots=True)
class PartitionInfo:
    """What ``/api/ops/topics`` shows per partition."""

    topic: str
    partition: int
    end_offset: int
    committed: Mapping[str, int] = field(default_factory=dict)  # group id -> next offset

    def lag(self, group_id: str) -> int:
        return max(0, self.end_offset - self.committed.get(group_id, 0))


class BusConsumer(abc.ABC):
    """One member of a consumer group. Partitions are shared among the group's live members."""

    group_id: str
    topics: tuple[str, ...]

    @abc.abstractmethod
    async def start(self) -> None: ...

    @abc.abstractmethod
    async def stop(self) -> None:
        """Leave the group. Idempotent. Uncommitted records will be delivered to another member."""

    @abc.abstractmethod
    async def fetch(self, max_records: int, timeout_s: float) -> list[Record]:
        """Up to ``max_records`` records, in offset order per partition; ``[]`` if none came in time."""

    @abc.abstractmethod
    async def commit(self, offsets: Mapping[TopicPartition, int]) -> bool:
        """Commit the next offset to read per partition.

        Returns False (and commits nothing) when the group was rebalanced and this member no longer owns
        a partition named; the records will be redelivered to the new owner, which the inbox makes harmless.
        """

    @abc.abstractmethod
    def assignment(self) -> frozenset[TopicPartition]:
        """Partitions this member holds now."""

    async def __aenter__(self) -> BusConsumer:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()


class Bus(abc.ABC):
    backend: ClassVar[str]

    @abc.abstractmethod
    async def start(self) -> None: ...

    @abc.abstractmethod
    async def stop(self) -> None:
        """Flush what was published and release connections. Idempotent."""

    @abc.abstractmethod
    async def ensure_topics(self, specs: Sequence[TopicSpec], default_partitions: int) -> None:
        """Create the topics that do not exist yet; existing topics are left as they are."""

    @abc.abstractmethod
    async def publish(self, records: Sequence[OutgoingRecord]) -> None:
        """Publish and wait until every record is durable on the bus (acknowledged by the broker).

        Records with the same key go to the same partition, in the order given. Raises ``BusUnavailable``.
        """

    @abc.abstractmethod
    def consumer(self, group_id: str, topics: Sequence[str]) -> BusConsumer:
        """A new, not yet started member of ``group_id`` reading ``topics``."""

    @abc.abstractmethod
    async def describe(self, topics: Sequence[str] | None = None) -> list[PartitionInfo]:
        """End offsets and every group's committed offsets, per partition (all topics if None)."""

    @abc.abstractmethod
    async def ping(self) -> None:
        """Raise ``BusUnavailable`` unless the bus answers now (readiness)."""

    async def __aenter__(self) -> Bus:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()
