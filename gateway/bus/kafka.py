"""The Apache Kafka backend of the bus, on aiokafka.

Connections are opened lazily (on first use, or by ``start``), so that a process can start while the broker
is still coming up and report that through ``ping``. Every aiokafka or socket error is translated
(``kafka_client``) into ``BusUnavailable`` (retryable), except a record that is too large, which is
``MessageTooLarge``.

A publish that failed replaces the producer. aiokafka's idempotent producer numbers each partition's batches
and never takes a number back: once a batch has failed (say it waited out the request timeout while the
partition had no leader, as during a slow broker restart), the broker refuses every later batch of that
partition as out of sequence, for good. The caller publishes the same records again (the outbox rows are still
unsent), now under a new producer id whose numbers start afresh.

Consumers (``kafka_consumer``) commit by hand. A member only commits offsets of records it fetched since it
was last assigned the partition: after a revocation the new owner reads from the last commit, and a late
commit of records fetched before the revocation could move that owner's position (forward past unapplied
records, or back).
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import time
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Final, Literal

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka import TopicPartition as KafkaPartition
from aiokafka import errors as ke
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.partitioner import murmur2

from gateway import limits
from gateway.bus.base import Bus, BusConsumer, OutgoingRecord, PartitionInfo
from gateway.bus.kafka_client import close_client, discard_producer, forget_outcome, start_client, translated
from gateway.bus.kafka_consumer import KafkaConsumer
from gateway.bus.kafka_topic_limits import raise_record_limits
from gateway.bus.topics import TopicSpec
from gateway.errors import BusUnavailable, MessageTooLarge

#: How long the producer waits to fill a batch: a few ms turns a burst of sends into few large requests.
LINGER_MS: Final = 5
#: Producer batch per partition; far above aiokafka's 16 KiB, so small records cost little per request.
PRODUCER_BATCH_BYTES: Final = 262_144
#: Room for key, headers and batch framing on top of ``message_bytes_max`` (producer and topic limit).
#: Existing topics below it are raised at start (``kafka_topic_limits``), so that raising the setting works.
RECORD_OVERHEAD_BYTES: Final = 65_536
#: Readiness must answer fast: a broker slower than this is "not ready".
PING_TIMEOUT_S: Final = 5.0
#: Pause between metadata polls while new topics propagate to the broker(s).
TOPIC_READY_POLL_S: Final = 0.1
#: Slack on top of the request timeout before publish gives up on acknowledgements aiokafka still owes.
DELIVERY_GRACE_S: Final = 5.0
PARTITION_CACHE_MAX: Final = 100_000  #: keys whose partition is memoised (pure-Python murmur2: ~4 µs a key)
#: OffsetFetch requests ``describe`` keeps in flight at once (one per consumer group).
GROUP_OFFSET_FETCHES_MAX: Final = 16

_Role = Literal["producer", "admin client", "offsets reader"]


@functools.lru_cache(maxsize=PARTITION_CACHE_MAX)
def _partition_of(key: bytes, partition_count: int) -> int:
    """Kafka's default partitioner (murmur2 of the key, as in every Kafka client), memoised: keys recur."""
    return int(murmur2(key) & 0x7FFFFFFF) % partition_count


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
            await close_client(client)

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
                await start_client(client, role, self._bootstrap)
                self._clients[role] = client
            return self._clients[role]

    async def ensure_topics(self, specs: Sequence[TopicSpec], default_partitions: int) -> None:
        admin = await self._client("admin client")
        names = [spec.name for spec in specs]
        with translated(f"creating topics {names}"):
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
        with translated(f"raising the record limit of topics {names}"):
            wanted = self._message_bytes_max + RECORD_OVERHEAD_BYTES
            await raise_record_limits(admin, [n for n in names if n in existing], wanted)
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
            with translated(f"publishing {len(records)} records"):
                await self._send_batches(producer, records, futures)
                await self._await_deliveries(futures)
        except BaseException as exc:
            for future in futures:  # outcomes nobody awaits any more must not log "never retrieved"
                future.add_done_callback(forget_outcome)
            if isinstance(exc, Exception):  # not a cancellation: a batch may have failed (module docstring)
                await self._drop_producer(producer, exc)
            raise

    async def _drop_producer(self, producer: Any, reason: Exception) -> None:
        """Forget ``producer``, so that the next publish starts a new one, and discard it."""
        async with self._lock:
            if self._clients.get("producer") is not producer:
                return  # a concurrent publish that failed too dropped it already
            del self._clients["producer"]
        await discard_producer(producer, reason)

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
        with translated(f"looking up topics {unknown}"):
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
        with translated("describing topics"):
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
                with translated(f"asking Kafka at {self._bootstrap} for metadata"):
                    await admin.list_topics()
        except TimeoutError as exc:
            late = f"Kafka at {self._bootstrap} did not answer within {PING_TIMEOUT_S}s"
            raise BusUnavailable(late) from exc


def _has_leaders(partitions: list[Mapping[str, Any]]) -> bool:
    return bool(partitions) and all(p["leader"] >= 0 for p in partitions)
