"""A daemon of one test session on the shared Kafka: consumer groups of its own, started at the topics' ends.

Kafka's topics and groups have fixed names and outlive a test session; the scenarios and the mass-billing
kill test run the daemon with ``IsolatedDaemon`` so that another daemon on the same broker never takes
their messages.
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any, Final

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from gateway.bus.handler import Subscription
from gateway.bus.runner import ConsumerRunner
from gateway.daemon import Daemon

RULES_DIR: Final = Path(__file__).resolve().parents[1] / "rules"


class IsolatedDaemon(Daemon):
    """The daemon with ``.<suffix>`` on every consumer group name.

    Kafka is shared: another daemon on it (a demo, another test session) joins groups of the same fixed
    names, takes over some of their partitions and applies our messages to its own database. Groups of our
    own, started at the topics' ends (``start_groups_at_end``), see exactly this session's messages.
    """

    def __init__(self, *args: Any, group_suffix: str, **kwargs: Any) -> None:
        self.group_suffix = group_suffix  # before __init__, which builds runners
        super().__init__(*args, **kwargs)

    def _runner(self, subscription: Subscription, batch_max: int | None = None) -> ConsumerRunner:
        renamed = dataclasses.replace(subscription, group_id=f"{subscription.group_id}.{self.group_suffix}")
        return super()._runner(renamed, batch_max)


#: The groups the daemon runs with the real rules: its consumers, the OTE sender, one per machine.
PROCESS_GROUPS: Final = tuple(
    f"process.{path.stem}" for path in sorted((RULES_DIR / "machines").glob("*.yaml"))
)


async def start_groups_at_end(bootstrap: str, groups: list[str], suffix: str) -> None:
    """Commit the end offset of every partition of the daemon's topics for each ``<group>.<suffix>``, so that
    new groups do not read the topics' history (``auto_offset_reset`` is earliest)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)  # for its metadata look-up, which waits
    await producer.start()
    try:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            topics = [t for t in await admin.list_topics() if t.split(".", 1)[0] in DAEMON_TOPIC_PREFIXES]
        finally:
            await admin.close()
        partitions = [
            TopicPartition(topic, partition)
            for topic in topics for partition in sorted(await producer.partitions_for(topic))
        ]
    finally:
        await producer.stop()
    if not partitions:
        return  # a broker that has never seen the daemon: nothing to skip

    async def commit(group: str) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, group_id=f"{group}.{suffix}", enable_auto_commit=False
        )
        await consumer.start()
        try:
            consumer.assign(partitions)
            ends = await consumer.end_offsets(partitions)
            await consumer.commit(dict(ends))
        finally:
            await consumer.stop()

    await asyncio.gather(*(commit(group) for group in groups))


#: First parts of the names of the topics the daemon's consumers read.
DAEMON_TOPIC_PREFIXES: Final = frozenset({
    "switch", "meter", "process", "masterdata", "ote", "bench", "billing",
})
