"""``KafkaBus`` on the real broker: the bus contract, then what only the Kafka backend has to get right
(size limits, topic configs, murmur2 partitions, fencing of commits after a rebalance, failing fast)."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator

import pytest
import structlog.testing
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.partitioner import murmur2

from gateway import limits
from gateway.bus.base import BusConsumer, OutgoingRecord
from gateway.bus.kafka import PING_TIMEOUT_S, RECORD_OVERHEAD_BYTES, KafkaBus, _has_leaders
from gateway.bus.kafka_topic_limits import raise_record_limits
from gateway.bus.topics import DAY_MS, TopicSpec
from gateway.errors import BusUnavailable, MessageTooLarge
from tests.bus.contract import PARTITIONS, WAIT_S_MAX, BusContract, drain, fetch_quiet, next_offsets

pytestmark = pytest.mark.kafka

#: Short enough that a test hitting a timeout fails well inside pytest's own limit.
REQUEST_TIMEOUT_S = 15.0
#: A missing topic or a dead port must be reported at once, not after the request timeout.
FAIL_FAST_S = PING_TIMEOUT_S + 1.0


def _bus(bootstrap: str, **options: int) -> KafkaBus:
    return KafkaBus(bootstrap, client_id="proud-test", request_timeout_s=REQUEST_TIMEOUT_S, **options)


@pytest.fixture
async def bus(kafka_bootstrap: str) -> AsyncIterator[KafkaBus]:
    bus = _bus(kafka_bootstrap)
    await bus.start()
    try:
        yield bus
    finally:
        await bus.stop()


@pytest.fixture
async def admin(kafka_bootstrap: str) -> AsyncIterator[AIOKafkaAdminClient]:
    client = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await client.start()
    try:
        yield client
    finally:
        await client.close()


class TestKafkaBusContract(BusContract):
    pass


async def _topic(bus: KafkaBus, unique: str, name: str, partitions: int = PARTITIONS) -> str:
    topic = f"kafka.{name}.{unique}"
    await bus.ensure_topics([TopicSpec(topic, key_meaning="test key", partitions=partitions)], 1)
    return topic


async def _wait_leaders(admin: AIOKafkaAdminClient, topic: str) -> None:
    deadline = time.monotonic() + WAIT_S_MAX
    while True:
        [described] = await admin.describe_topics([topic])
        if not described["error_code"] and _has_leaders(described["partitions"]):
            return
        assert time.monotonic() < deadline, f"{topic} has no partition leaders"
        await asyncio.sleep(0.1)


async def test_record_over_the_limit_is_message_too_large_and_sends_nothing(
    kafka_bootstrap: str, unique: str
) -> None:
    small = _bus(kafka_bootstrap, message_bytes_max=1024)
    try:
        topic = await _topic(small, unique, "small")
        batch = [OutgoingRecord(topic, "fits", b"x" * 1024), OutgoingRecord(topic, "big", b"x" * 1025)]
        with pytest.raises(MessageTooLarge, match=r"is 1025 bytes, over the limit of 1024") as raised:
            await small.publish(batch)
        assert not raised.value.retryable
        assert all(info.end_offset == 0 for info in await small.describe([topic]))
    finally:
        await small.stop()


async def test_a_batch_the_broker_refused_leaves_its_partition_open_to_the_next(
    bus: KafkaBus, admin: AIOKafkaAdminClient, unique: str
) -> None:
    """aiokafka's idempotent producer never takes a failed batch's sequence numbers back: with the same
    producer the broker would refuse every later batch of the partition as out of sequence, for good."""
    topic = f"kafka.refusing.{unique}"
    refusing = {"max.message.bytes": "2000"}  # below the bus's own limit, so only the broker refuses
    await admin.create_topics([NewTopic(topic, 1, 1, topic_configs=refusing)])
    await _wait_leaders(admin, topic)  # not ensure_topics: it would raise the topic's limit to the bus's
    await bus.publish([OutgoingRecord(topic, "k", b"first")])
    with pytest.raises(MessageTooLarge, match="Kafka refused a record as too large"):
        await bus.publish([OutgoingRecord(topic, "k", b"x" * 5000)])
    await bus.publish([OutgoingRecord(topic, "k", b"second")])
    await bus.publish([OutgoingRecord(topic, "k", b"third")])
    async with bus.consumer(f"g-{unique}", [topic]) as consumer:
        records = await drain(consumer, 3)
    assert [r.value for r in records] == [b"first", b"second", b"third"]


async def test_full_size_record_with_key_and_headers_round_trips(bus: KafkaBus, unique: str) -> None:
    """Above the broker's default 1 MiB + 12 B: the topic and the producer must allow the overhead."""
    topic = await _topic(bus, unique, "full")
    value = bytes(range(256)) * (limits.MESSAGE_BYTES_MAX // 256)
    assert len(value) == limits.MESSAGE_BYTES_MAX
    headers = (("trace", b"t" * 1000), ("type", b"x.y"))
    await bus.publish([OutgoingRecord(topic, "k" * 200, value, headers)])
    async with bus.consumer(f"g-{unique}", [topic]) as consumer:
        [record] = await drain(consumer, 1)
    assert (record.key, record.value, record.headers) == ("k" * 200, value, headers)


async def test_publish_to_missing_topic_fails_fast_naming_it(bus: KafkaBus, unique: str) -> None:
    started = time.monotonic()
    with pytest.raises(BusUnavailable, match=rf"kafka\.nowhere\.{unique}.*do not exist"):
        await bus.publish([OutgoingRecord(f"kafka.nowhere.{unique}", "k", b"v")])
    assert time.monotonic() - started < FAIL_FAST_S


async def test_ping_and_start_without_a_broker_fail_fast() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    dead = _bus(f"127.0.0.1:{port}")
    try:
        for attempt in (dead.ping, dead.start, dead.ping):  # a failed first start leaves no stale client
            started = time.monotonic()
            with pytest.raises(BusUnavailable, match=f"127.0.0.1:{port}"):
                await attempt()
            assert time.monotonic() - started < FAIL_FAST_S
    finally:
        await dead.stop()


async def test_ensure_topics_sets_partitions_retention_and_record_limit(
    bus: KafkaBus, admin: AIOKafkaAdminClient, unique: str
) -> None:
    spec = TopicSpec(f"kafka.configured.{unique}", key_meaning="test key", retention_ms=2 * DAY_MS)
    await bus.ensure_topics([spec, spec.dlq], 2)
    await bus.ensure_topics([spec, spec.dlq], 5)  # existing topics are left as they are
    assert len(await bus.describe([spec.name])) == 2
    assert len(await bus.describe([spec.dlq.name])) == 1
    configs = await _limits(admin, [spec.name, spec.dlq.name])
    assert configs[spec.name]["retention.ms"] == str(2 * DAY_MS)
    assert configs[spec.dlq.name]["retention.ms"] == str(30 * DAY_MS)
    assert configs[spec.name]["max.message.bytes"] == str(limits.MESSAGE_BYTES_MAX + RECORD_OVERHEAD_BYTES)


async def _limits(admin: AIOKafkaAdminClient, topics: list[str]) -> dict[str, dict[str, str]]:
    wanted = {"retention.ms": None, "max.message.bytes": None}
    resources = [ConfigResource(ConfigResourceType.TOPIC, topic, wanted) for topic in topics]
    [response] = await admin.describe_configs(resources)
    return {r[3]: {e[0]: e[1] for e in r[4]} for r in response.resources}


async def test_ensure_topics_raises_a_lower_record_limit_and_keeps_the_other_configs(
    bus: KafkaBus, admin: AIOKafkaAdminClient, unique: str
) -> None:
    """Raising ``message_bytes_max`` must reach topics made under a lower one (to release parked rows)."""
    wanted = limits.MESSAGE_BYTES_MAX + RECORD_OVERHEAD_BYTES
    low, high = f"kafka.low.{unique}", f"kafka.high.{unique}"
    await admin.create_topics([
        NewTopic(low, 1, 1, topic_configs={"retention.ms": str(3 * DAY_MS), "max.message.bytes": "70000"}),
        NewTopic(high, 1, 1, topic_configs={"max.message.bytes": str(wanted + 1)}),
    ])
    await _wait_leaders(admin, low)
    record = OutgoingRecord(low, "k", b"x" * 100_000)
    with pytest.raises(MessageTooLarge):
        await bus.publish([record])
    specs = [TopicSpec(name, key_meaning="test key", partitions=1) for name in (low, high)]
    await bus.ensure_topics(specs, 1)
    configs = await _limits(admin, [low, high])
    assert configs[low] == {"retention.ms": str(3 * DAY_MS), "max.message.bytes": str(wanted)}
    assert configs[high]["max.message.bytes"] == str(wanted + 1)  # a higher limit is left alone
    deadline = time.monotonic() + WAIT_S_MAX
    while True:  # the broker applies a config change a moment after it is committed (the relay retries too)
        try:
            await bus.publish([record])
            break
        except MessageTooLarge:
            assert time.monotonic() < deadline, "the raised limit never took effect"
            await asyncio.sleep(0.1)
    async with bus.consumer(f"g-{unique}", [low]) as consumer:
        assert [r.value for r in await drain(consumer, 1)] == [record.value]


async def test_a_topic_kafka_will_not_describe_is_logged_and_left(
    admin: AIOKafkaAdminClient, unique: str
) -> None:
    missing = f"kafka.missing.{unique}"
    with structlog.testing.capture_logs() as logs:
        assert await raise_record_limits(admin, [missing], limits.MESSAGE_BYTES_MAX) == []
    [warning] = [e for e in logs if e["log_level"] == "warning"]
    assert warning["event"] == "topic record limit not checked: Kafka did not describe the topic"
    assert warning["topic"] == missing and warning["error_code"] == 3  # UNKNOWN_TOPIC_OR_PARTITION


async def test_keys_land_on_their_murmur2_partition(bus: KafkaBus, unique: str) -> None:
    """The SQL log bus partitions with the same function, so a key has one partition on both backends."""
    topic = await _topic(bus, unique, "murmur", partitions=7)
    keys = [f"contract-{i}" for i in range(50)]
    await bus.publish([OutgoingRecord(topic, key, b"v") for key in keys])
    async with bus.consumer(f"g-{unique}", [topic]) as consumer:
        records = await drain(consumer, len(keys))
    for record in records:
        assert record.key is not None
        assert record.partition == (murmur2(record.key.encode()) & 0x7FFFFFFF) % 7


async def _wait_split(first: BusConsumer, second: BusConsumer) -> None:
    """Until the two members hold disjoint, non-empty parts of all partitions (only ``second`` fetches:
    ``first`` must keep the records it fetched before the rebalance)."""
    deadline = time.monotonic() + WAIT_S_MAX
    while True:
        await second.fetch(10, 0.2)
        a, b = first.assignment(), second.assignment()
        if a and b and not (a & b) and len(a | b) == PARTITIONS:
            return
        assert time.monotonic() < deadline, f"group never balanced: {a} / {b}"


async def test_records_fetched_before_a_revocation_are_not_committed(bus: KafkaBus, unique: str) -> None:
    topic = await _topic(bus, unique, "fenced")
    await bus.publish([OutgoingRecord(topic, f"k{i}", str(i).encode()) for i in range(60)])
    group = f"g-{unique}"
    first, second = bus.consumer(group, [topic]), bus.consumer(group, [topic])
    async with first:
        before = await drain(first, 60)
        assert len(first.assignment()) == PARTITIONS
        async with second:
            await _wait_split(first, second)
            assert not await first.commit(next_offsets(before)), "committed records fetched before revocation"
            assert all(not info.committed for info in await bus.describe([topic]))
            # Once it fetched again from the partitions it holds now, it may commit those.
            again = await fetch_quiet(first, quiet_s=1.0)
            assert again and {r.tp for r in again} <= first.assignment()
            assert await first.commit(next_offsets(again))
    committed = {(i.partition, i.committed.get(group)) for i in await bus.describe([topic])}
    assert {(r.partition, next_offsets(again)[r.tp]) for r in again} <= committed


async def test_stop_is_idempotent_and_a_stopped_member_holds_nothing(bus: KafkaBus, unique: str) -> None:
    topic = await _topic(bus, unique, "stop")
    consumer = bus.consumer(f"g-{unique}", [topic])
    await consumer.stop()  # never started
    await consumer.start()
    await consumer.stop()
    await consumer.stop()
    assert consumer.assignment() == frozenset()
    assert not await consumer.commit({})
    with pytest.raises(BusUnavailable, match="not started"):
        await consumer.fetch(10, 0.1)
    await bus.stop()
    await bus.stop()
    await bus.ping()  # a stopped bus reconnects on its next use


async def test_describe_all_lists_our_topics_but_no_internal_ones(bus: KafkaBus, unique: str) -> None:
    topic = await _topic(bus, unique, "all")
    topics = {info.topic for info in await bus.describe()}
    assert topic in topics
    assert not any(name.startswith("__") for name in topics)
    assert await bus.describe([]) == []
