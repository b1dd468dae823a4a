"""The Apache Kafka backend of the bus, on aiokafka.

Connections are opened lazily (on first use, or by ``start``), so that a process can start while the broker
is still coming up and report that through ``ping``. Every aiokafka or socket error is translated here into
``BusUnavailable`` (retryable), except a record that is too large, which is ``MessageTooLarge``.

Consumers commit by hand. A member only commits offsets of records it fetched since it was last assigned
the partition: after a revocation the new owner reads from the last commit, and a late commit of records
fetched before the revocation could move that owner's position (forward past unapplied records, or back).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar, Final, Literal

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener
from aiokafka import TopicPartition as KafkaPartition
from aiokafka import errors as ke
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.partitioner import murmur2

from gateway import limits
from gateway.bus.base import Bus, BusConsumer, OutgoingRecord, PartitionInfo, Record, TopicPartition
from gateway.bus.topics import TopicSpec
from gateway.errors import BusUnavailable, MessageTooLarge

#: How long the producer waits to fill a batch: a few ms turns a burst of sends into few large requests.
LINGER_MS: Final = 5
#: Producer batch per partition; far above aiokafka's 16 KiB, so small records cost little per request.
PRODUCER_BATCH_BYTES: Final = 262_144
#: Room for key, headers and batch framing on top of ``message_bytes_max`` (producer and topic limit).
RECORD_OVERHEAD_BYTES: Final = 65_536
#: A member that sends no heartbeat this long is dropped from its group and its partitions move.
SESSION_TIMEOUT_MS: Final = 10_000
#: Heartbeats also carry "rebalance started", so a short interval lets a group settle in about a second.
HEARTBEAT_INTERVAL_MS: Final = 1_000
#: A member that does not fetch this long leaves its group; bounds one batch's processing time.
MAX_POLL_INTERVAL_MS: Final = 300_000
#: Readiness must answer fast: a broker slower than this is "not ready".
PING_TIMEOUT_S: Final = 5.0
#: Pause between metadata polls while new topics propagate to the broker(s).
TOPIC_READY_POLL_S: Final = 0.1
#: Slack on top of the request timeout before publish gives up on acknowledgements aiokafka still owes.
DELIVERY_GRACE_S: Final = 5.0
PARTITION_CACHE_MAX: Final = 100_000  #: keys whose partition is memoised (pure-Python murmur2: ~4 µs a key)
#: OffsetFetch requests ``describe`` keeps in flight at once (one per consumer group).
GROUP_OFFSET_FETCHES_MAX: Final = 16

#: A commit refused because the group moved on: the records go to the partition's new owner.
# (IllegalStateError is aiokafka's "the partition is not, or no longer, assigned to this member".)
_COMMIT_LOST: Final = (
    ke.CommitFailedError, ke.IllegalGenerationError, ke.RebalanceInProgressError, ke.UnknownMemberIdError,
    ke.IllegalStateError,
)
_Role = Literal["producer", "admin client", "offsets reader"]


@contextlib.contextmanager
def _translated(action: str) -> Iterator[None]:
    """Turn aiokafka and socket errors into proud's error tree, keeping the cause."""
    try:
        yield
    except (ke.MessageSizeTooLargeError, ke.RecordTooLargeError, ke.RecordListTooLargeError) as exc:
        raise MessageTooLarge(f"{action}: Kafka refused a record as too large ({exc})") from exc
    except (ke.KafkaError, OSError) as exc:  # OSError includes TimeoutError
        name, detail = type(exc).__name__, str(exc) or "no detail"
        detail = detail if detail.startswith(name) else f"{name}: {detail}"  # aiokafka often starts with it
        raise BusUnavailable(f"{action}: {detail}") from exc


async def _start_client(client: Any, what: str, bootstrap: str) -> None:
    """Start an aiokafka client; if that fails, close it so no half-open client (or warning) is left."""
    try:
        with _translated(f"connecting the Kafka {what} to {bootstrap}"):
            await client.start()
    except BaseException:
        await _close_client(client)
        raise


async def _close_client(client: Any) -> None:
    # Closing happens on the way out (stop, failed start); a second error there would hide the first.
    with contextlib.suppress(ke.KafkaError, OSError):
        if isinstance(client, AIOKafkaAdminClient):
            await client.close()
        else:
            await client.stop()


def _forget_outcome(future: asyncio.Future[Any]) -> None:
    """Mark a delivery outcome as seen (its failure, if any, is reported another way)."""
    if not future.cancelled():
        future.exception()


@functools.lru_cache(maxsize=PARTITION_CACHE_MAX)
def _partition_of(key: bytes, partition_count: int) -> int:
    """Kafka's default partitioner (murmur2 of the key, as in every Kafka client), memoised: keys recur."""
    return int(murmur2(key) & 0x7FFFFFFF) % partition_count


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
        await _start_client(consumer, f"consumer of group {self.group_id}", self._config["bootstrap_servers"])
        self._consumer = consumer

    async def stop(self) -> None:
        consumer, self._consumer = self._consumer, None
        self._tracker = _AssignmentTracker()
        if consumer is not None:
            await _close_client(consumer)

    async def fetch(self, max_records: int, timeout_s: float) -> list[Record]:
        consumer = self._consumer
        if consumer is None:
            raise BusUnavailable(f"consumer of group {self.group_id} is not started")
        try:
            with _translated(f"fetching for group {self.group_id}"):
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
            with _translated(f"committing offsets of group {self.group_id}"):
                # aiokafka retries a missing coordinator forever; the timeout makes that BusUnavailable.
                await asyncio.wait_for(consumer.commit(wanted), self._commit_timeout_s)
        except BusUnavailable as exc:
            if isinstance(exc.__cause__, _COMMIT_LOST):
                return False
            raise
        return True

    def assignment(self) -> frozenset[TopicPartition]:
        return frozenset(TopicPartition(tp.topic, tp.partition) for tp in self._tracker.assigned)


class KafkaBus(Bus):
    backend: ClassVar[str] = "kafka"

    def __init__(
        self, bootstrap: str, *, client_id: str = "proud", request_timeout_s: float = 30.0,
        message_bytes_max: int = limits.MESSAGE_BYTES_MAX, replication_factor: int = 1,
    ) -> None:
        assert request_timeout_s > 0 and message_bytes_max > 0 and replication_factor >= 1
        self._bootstrap, self._request_timeout_s = bootstrap, request_timeout_s
        self._message_bytes_max, self._replication_factor = message_bytes_max, replication_factor
        self._lock = asyncio.Lock()  # one lazy start per client, even with concurrent first calls
        self._clients: dict[_Role, Any] = {}  # started lazily; the offsets reader is group-less
        self._known_topics: set[str] = set()
        timeout_ms = int(request_timeout_s * 1000)  # every aiokafka client of this bus is given _common
        self._common: dict[str, Any] = {"bootstrap_servers": bootstrap, "client_id": client_id,
                                        "request_timeout_ms": timeout_ms}

    async def start(self) -> None:
        await self._client("producer")

    async def stop(self) -> None:
        # The producer first: its stop() flushes what is still in flight.
        clients = [self._clients.pop(r) for r in sorted(self._clients, key=lambda r: r != "producer")]
        for client in clients:
            await _close_client(client)

    def _build(self, role: _Role) -> Any:
        if role == "admin client":
            return AIOKafkaAdminClient(**self._common)
        if role == "offsets reader":
            return AIOKafkaConsumer(**self._common, group_id=None)
        return AIOKafkaProducer(
            **self._common, linger_ms=LINGER_MS, max_batch_size=PRODUCER_BATCH_BYTES,
            enable_idempotence=True,  # implies acks=all; retries can neither duplicate nor reorder
            max_request_size=self._message_bytes_max + RECORD_OVERHEAD_BYTES,
        )

    async def _client(self, role: _Role) -> Any:
        """The started client for ``role``, started now if this is its first use."""
        async with self._lock:
            if role not in self._clients:
                client = self._build(role)
                await _start_client(client, role, self._bootstrap)
                self._clients[role] = client
            return self._clients[role]

    async def ensure_topics(self, specs: Sequence[TopicSpec], default_partitions: int) -> None:
        admin = await self._client("admin client")
        names = [spec.name for spec in specs]
        with _translated(f"creating topics {names}"):
            existing = set(await admin.list_topics())
            missing = [self._new_topic(s, default_partitions) for s in specs if s.name not in existing]
            if missing:
                response = await admin.create_topics(missing)
                for topic, code, message, *_ in response.topic_errors:
                    # Already exists: another process created it between our listing and our request.
                    if code not in (0, ke.TopicAlreadyExistsError.errno):
                        error = ke.for_code(code).__name__
                        raise BusUnavailable(f"Kafka refused topic {topic}: {error}: {message}")
            await self._wait_visible(admin, names)
        self._known_topics.update(names)

    def _new_topic(self, spec: TopicSpec, default_partitions: int) -> Any:
        configs = {
            "retention.ms": str(spec.retention_ms),
            # The broker's default (1 MiB + 12) is below a full-size envelope with its key and headers.
            "max.message.bytes": str(self._message_bytes_max + RECORD_OVERHEAD_BYTES),
        }
        partitions = spec.partition_count(default_partitions)
        return NewTopic(spec.name, partitions, self._replication_factor, topic_configs=configs)

    async def _wait_visible(self, admin: AIOKafkaAdminClient, names: list[str]) -> None:
        """Wait until every topic has metadata and a leader per partition (KRaft propagates it later)."""
        deadline = time.monotonic() + self._request_timeout_s
        while True:
            described = await admin.describe_topics(names)
            pending = [t["topic"] for t in described if t["error_code"] or not _has_leaders(t["partitions"])]
            if not pending:
                return
            if time.monotonic() > deadline:
                raise BusUnavailable(f"topics {pending} have no partition leaders after creation")
            await asyncio.sleep(TOPIC_READY_POLL_S)

    async def publish(self, records: Sequence[OutgoingRecord]) -> None:
        if not records:
            return
        self._check_sizes(records)
        producer = await self._client("producer")
        await self._check_topics({r.topic for r in records})
        futures: list[asyncio.Future[Any]] = []
        try:
            with _translated(f"publishing {len(records)} records"):
                await self._send_batches(producer, records, futures)
                await self._await_deliveries(futures)
        except BaseException:
            for future in futures:  # outcomes nobody awaits any more must not log "never retrieved"
                future.add_done_callback(_forget_outcome)
            raise

    async def _send_batches(self, producer: Any, records: Sequence[OutgoingRecord], sent: list[Any]) -> None:
        """A batch per partition, filled in order, handed over when full or at the end (~20 µs a record less
        than ``producer.send``); ``send_batch`` waits for the partition's previous batch, so order is kept."""
        counts = {topic: len(await producer.partitions_for(topic)) for topic in {r.topic for r in records}}
        batches: dict[tuple[str, int], Any] = {}
        for r in records:
            key, headers = r.key.encode(), list(r.headers)
            tp = (r.topic, _partition_of(key, counts[r.topic]))
            batch = batches.get(tp)
            if batch is None or batch.append(key=key, value=r.value, timestamp=None, headers=headers) is None:
                if batch is not None:  # full: hand it over, start the partition's next one
                    sent.append(await producer.send_batch(batch, tp[0], partition=tp[1]))
                batch = batches[tp] = producer.create_batch()
                batch.append(key=key, value=r.value, timestamp=None, headers=headers)  # a first one fits
        for (topic, partition), batch in batches.items():
            sent.append(await producer.send_batch(batch, topic, partition=partition))

    def _check_sizes(self, records: Sequence[OutgoingRecord]) -> None:
        # Checked for the whole batch before sending anything, so a too-large record sends nothing.
        for r in records:
            if len(r.value) > self._message_bytes_max:
                raise MessageTooLarge(
                    f"record for topic {r.topic} (key {r.key!r}) is {len(r.value)} bytes, "
                    f"over the limit of {self._message_bytes_max} bytes (message_bytes_max)"
                )

    async def _check_topics(self, topics: set[str]) -> None:
        """Fail fast and clearly on a missing topic; aiokafka would wait the request timeout instead."""
        unknown = sorted(topics - self._known_topics)
        if not unknown:
            return
        admin = await self._client("admin client")
        with _translated(f"looking up topics {unknown}"):
            described = await admin.describe_topics(unknown)
        missing = [t["topic"] for t in described if t["error_code"] == ke.UnknownTopicOrPartitionError.errno]
        if missing:
            hint = "topics are created by ensure_topics at start-up (the broker does not auto-create them)"
            raise BusUnavailable(f"topics {missing} do not exist on Kafka at {self._bootstrap}; {hint}")
        self._known_topics.update(unknown)

    async def _await_deliveries(self, futures: list[asyncio.Future[Any]]) -> None:
        timeout_s = self._request_timeout_s + DELIVERY_GRACE_S
        try:
            async with asyncio.timeout(timeout_s):
                # In order, so the first failure raises. Most are done already (a send waits while its
                # partition's previous batch drains); the shield keeps a timeout from cancelling the rest.
                for future in futures:
                    await asyncio.shield(future)
        except TimeoutError as exc:
            pending = sum(not future.done() for future in futures)
            late = f"{pending} of {len(futures)} records not acknowledged within {timeout_s}s"
            raise BusUnavailable(late) from exc

    def consumer(self, group_id: str, topics: Sequence[str]) -> BusConsumer:
        return KafkaConsumer(self._common, group_id, topics)

    async def describe(self, topics: Sequence[str] | None = None) -> list[PartitionInfo]:
        admin = await self._client("admin client")
        with _translated("describing topics"):
            described = await admin.describe_topics(None if topics is None else list(topics))
            tps = sorted(
                KafkaPartition(t["topic"], p["partition"])
                for t in described
                if t["error_code"] == 0 and not t["is_internal"]
                for p in t["partitions"]
            )
            reader = await self._client("offsets reader")
            # One request per topic, all at once: aiokafka learns one unknown topic per metadata round.
            per_topic = [list(group) for _, group in itertools.groupby(tps, key=lambda tp: tp.topic)]
            found = await asyncio.gather(*(reader.end_offsets(group) for group in per_topic))
            ends = {tp: offset for offsets in found for tp, offset in offsets.items()}
            committed = await self._committed_by_group({tp.topic for tp in tps})
        return [PartitionInfo(tp.topic, tp.partition, ends[tp], committed.get(tp, {})) for tp in tps]

    async def _committed_by_group(self, topics: set[str]) -> dict[KafkaPartition, dict[str, int]]:
        """Committed offsets on ``topics``, per partition and group: one OffsetFetch per known group."""
        admin = await self._client("admin client")
        groups = [group[0] for group in await admin.list_consumer_groups()]
        result: dict[KafkaPartition, dict[str, int]] = {}
        for start in range(0, len(groups), GROUP_OFFSET_FETCHES_MAX):  # a bounded number in flight
            chunk = groups[start : start + GROUP_OFFSET_FETCHES_MAX]
            fetched = await asyncio.gather(*(admin.list_consumer_group_offsets(group) for group in chunk))
            for group_id, offsets in zip(chunk, fetched, strict=True):
                for tp, meta in offsets.items():
                    if tp.topic in topics and meta.offset >= 0:
                        result.setdefault(tp, {})[group_id] = meta.offset
        return result

    async def ping(self) -> None:
        try:
            async with asyncio.timeout(PING_TIMEOUT_S):
                admin = await self._client("admin client")
                with _translated(f"asking Kafka at {self._bootstrap} for metadata"):
                    await admin.list_topics()
        except TimeoutError as exc:
            late = f"Kafka at {self._bootstrap} did not answer within {PING_TIMEOUT_S}s"
            raise BusUnavailable(late) from exc


def _has_leaders(partitions: list[Mapping[str, Any]]) -> bool:
    return bool(partitions) and all(p["leader"] >= 0 for p in partitions)
