"""One member of a Kafka consumer group, with manual commits (see ``gateway.bus.kafka``)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any, Final

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener
from aiokafka import TopicPartition as KafkaPartition
from aiokafka import errors as ke

from gateway.bus.base import BusConsumer, Record, TopicPartition
from gateway.bus.kafka_client import close_client, start_client, translated
from gateway.errors import BusUnavailable

#: A member that sends no heartbeat this long is dropped from its group and its partitions move.
SESSION_TIMEOUT_MS: Final = 10_000
#: Heartbeats also carry "rebalance started", so a short interval lets a group settle in about a second.
HEARTBEAT_INTERVAL_MS: Final = 1_000
#: A member that does not fetch this long leaves its group; bounds one batch's processing time.
MAX_POLL_INTERVAL_MS: Final = 300_000

#: A commit refused because the group moved on: the records go to the partition's new owner.
# (IllegalStateError is aiokafka's "the partition is not, or no longer, assigned to this member".)
_COMMIT_LOST: Final = (
    ke.CommitFailedError, ke.IllegalGenerationError, ke.RebalanceInProgressError, ke.UnknownMemberIdError,
    ke.IllegalStateError,
)


def _record(message: Any) -> Record:
    # We write keys as UTF-8; "replace" keeps an odd key from a foreign producer from failing a fetch.
    key = None if message.key is None else message.key.decode("utf-8", "replace")
    headers = tuple([(name, value or b"") for name, value in message.headers])  # list comp: cheaper
    return Record(message.topic, message.partition, message.offset, key, message.value or b"", headers,
                  message.timestamp)


class _AssignmentTracker(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka ships no types
    """The partitions a member holds, and per partition the next offset it fetched since it got it."""

    def __init__(self) -> None:
        self.assigned: set[KafkaPartition] = set()
        self.fetched: dict[KafkaPartition, int] = {}

    async def on_partitions_revoked(self, revoked: Sequence[KafkaPartition]) -> None:
        for tp in revoked:
            self.assigned.discard(tp)
            self.fetched.pop(tp, None)

    async def on_partitions_assigned(self, assigned: Sequence[KafkaPartition]) -> None:
        self.assigned.update(assigned)


class KafkaConsumer(BusConsumer):
    """One member of a Kafka consumer group (an ``AIOKafkaConsumer`` with manual commits)."""

    def __init__(self, config: Mapping[str, Any], group_id: str, topics: Sequence[str]) -> None:
        self.group_id = group_id
        self.topics = tuple(topics)
        self._config = dict(config)
        self._commit_timeout_s = config["request_timeout_ms"] / 1000
        self._tracker = _AssignmentTracker()
        self._consumer: AIOKafkaConsumer | None = None

    async def start(self) -> None:
        assert self._consumer is None, "consumer already started"
        consumer = AIOKafkaConsumer(
            **self._config, group_id=self.group_id, enable_auto_commit=False, auto_offset_reset="earliest",
            isolation_level="read_committed", session_timeout_ms=SESSION_TIMEOUT_MS,
            heartbeat_interval_ms=HEARTBEAT_INTERVAL_MS, max_poll_interval_ms=MAX_POLL_INTERVAL_MS,
        )
        self._tracker = _AssignmentTracker()  # nothing fetched by an earlier run may be committed
        consumer.subscribe(list(self.topics), listener=self._tracker)
        await start_client(consumer, f"consumer of group {self.group_id}", self._config["bootstrap_servers"])
        self._consumer = consumer

    async def stop(self) -> None:
        consumer, self._consumer = self._consumer, None
        self._tracker = _AssignmentTracker()
        if consumer is not None:
            await close_client(consumer)

    async def fetch(self, max_records: int, timeout_s: float) -> list[Record]:
        consumer = self._consumer
        if consumer is None:
            raise BusUnavailable(f"consumer of group {self.group_id} is not started")
        try:
            with translated(f"fetching for group {self.group_id}"):
                batches = await consumer.getmany(timeout_ms=int(timeout_s * 1000), max_records=max_records)
        except ke.ConsumerStoppedError:
            return []  # stopped concurrently: the caller is shutting down
        records: list[Record] = []
        # getmany returns without yielding to the loop after checking the assignment, so no revocation
        # came in between: these offsets belong to the current ownership of their partitions.
        assigned = consumer.assignment()
        for tp, messages in batches.items():
            if messages and tp in assigned:
                self._tracker.fetched[tp] = messages[-1].offset + 1
            records.extend(_record(m) for m in messages)
        return records

    async def commit(self, offsets: Mapping[TopicPartition, int]) -> bool:
        consumer, fetched = self._consumer, self._tracker.fetched
        wanted = {KafkaPartition(tp.topic, tp.partition): offset for tp, offset in offsets.items()}
        if consumer is None or any(offset > fetched.get(tp, -1) for tp, offset in wanted.items()):
            return False  # revoked since those records were fetched (or never fetched here)
        if not wanted:
            return True
        try:
            with translated(f"committing offsets of group {self.group_id}"):
                # aiokafka retries a missing coordinator forever; the timeout makes that BusUnavailable.
                await asyncio.wait_for(consumer.commit(wanted), self._commit_timeout_s)
        except BusUnavailable as exc:
            if isinstance(exc.__cause__, _COMMIT_LOST):
                return False
            raise
        return True

    def assignment(self) -> frozenset[TopicPartition]:
        return frozenset(TopicPartition(tp.topic, tp.partition) for tp in self._tracker.assigned)
