"""Existing Kafka topics follow a raised ``message_bytes_max``.

A topic gets its record limit (``max.message.bytes``) when proud creates it, from the setting of that day.
An operator who raises the setting, to release an outbox row parked over the old one (``outbox_parked``),
expects the topics to take the larger record too; otherwise the broker refuses it and the relay retries it
at the head of the line for ever. So at start (``ensure_topics``) every existing topic whose limit is below
the wanted one is raised to it. A limit above the wanted one is left alone: lowering it would refuse records
producers of an older setting may still send.

AlterConfigs (not its incremental successor, which aiokafka does not speak) replaces a topic's dynamic
configs as a whole, so the request repeats every dynamic config the topic has, with the new limit. A topic
with a sensitive dynamic config (its value is not disclosed) is left as it is, with a warning.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import structlog
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from gateway.errors import BusUnavailable

log = structlog.get_logger(__name__)

LIMIT_CONFIG: Final = "max.message.bytes"
#: DescribeConfigs' ``config_source`` of a config set on the topic itself (not a broker or default value).
SOURCE_DYNAMIC_TOPIC: Final = 1
#: Topics described or altered in one request; proud registers a few dozen.
TOPICS_PER_REQUEST_MAX: Final = 200


def _dynamic_configs(entries: Sequence[Any]) -> tuple[dict[str, str | None], int | None]:
    """A topic's dynamic configs (name → value, None where sensitive) and its record limit."""
    dynamic: dict[str, str | None] = {}
    limit: int | None = None
    for name, value, _read_only, source, sensitive, *_ in entries:
        if source == SOURCE_DYNAMIC_TOPIC:
            dynamic[name] = None if sensitive else value
        if name == LIMIT_CONFIG and value is not None:
            limit = int(value)
    return dynamic, limit


async def raise_record_limits(
    admin: AIOKafkaAdminClient, topics: Sequence[str], wanted_bytes: int
) -> list[str]:
    """Raise ``max.message.bytes`` of each of ``topics`` below ``wanted_bytes`` to it; the topics raised."""
    raised: list[str] = []
    for start in range(0, len(topics), TOPICS_PER_REQUEST_MAX):
        chunk = topics[start:start + TOPICS_PER_REQUEST_MAX]
        responses = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, t) for t in chunk])
        changes: list[ConfigResource] = []
        for response in responses:
            for code, message, _kind, topic, entries in response.resources:
                if code:
                    raise BusUnavailable(f"Kafka did not describe topic {topic}: error {code}: {message}")
                dynamic, limit = _dynamic_configs(entries)
                if limit is None or limit >= wanted_bytes:
                    continue
                if any(value is None for value in dynamic.values()):
                    log.warning("topic limit not raised: it has a sensitive config", topic=topic,
                                limit_bytes=limit, wanted_bytes=wanted_bytes)
                    continue
                changes.append(ConfigResource(
                    ConfigResourceType.TOPIC, topic, configs={**dynamic, LIMIT_CONFIG: str(wanted_bytes)}
                ))
                log.info("topic record limit raised", topic=topic, from_bytes=limit, to_bytes=wanted_bytes)
        if changes:
            for response in await admin.alter_configs(changes):
                for code, message, _kind, topic in response.resources:
                    if code:
                        raise BusUnavailable(
                            f"Kafka refused to raise {LIMIT_CONFIG} of {topic}: error {code}: {message}"
                        )
            raised += [change.name for change in changes]
    return raised
