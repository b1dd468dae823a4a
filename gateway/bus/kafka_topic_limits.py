"""Existing Kafka topics follow a raised ``message_bytes_max``.

A topic gets its record limit (``max.message.bytes``) when proud creates it, from the setting of that day.
An operator who raises the setting, to release an outbox row parked over the old one (``outbox_parked``),
expects the topics to take the larger record too; otherwise the broker refuses it and the relay retries it
at the head of the line for ever. So at start (``ensure_topics``) every existing topic whose limit is below
the wanted one is raised to it. A limit above the wanted one is left alone: lowering it would refuse records
producers of an older setting may still send.

AlterConfigs (not its incremental successor, which aiokafka does not speak) replaces a topic's dynamic
configs as a whole, so the request repeats every dynamic config the topic has, with the new limit. A topic
with a sensitive dynamic config (its value is not disclosed), or one the broker will not describe or alter
(an ACL without those rights), is left as it is, with a warning: the daemon starts as it did before.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import structlog
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

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


def _change(topic: str, entries: Sequence[Any], wanted_bytes: int) -> ConfigResource | None:
    """The AlterConfigs resource raising ``topic``'s limit; None where it is high enough or must stay."""
    dynamic, limit = _dynamic_configs(entries)
    if limit is None or limit >= wanted_bytes:
        return None
    if any(value is None for value in dynamic.values()):
        log.warning("topic record limit not raised: the topic has a sensitive config", topic=topic,
                    limit_bytes=limit, wanted_bytes=wanted_bytes)
        return None
    configs = {**dynamic, LIMIT_CONFIG: str(wanted_bytes)}
    return ConfigResource(ConfigResourceType.TOPIC, topic, configs=configs)


async def raise_record_limits(
    admin: AIOKafkaAdminClient, topics: Sequence[str], wanted_bytes: int
) -> list[str]:
    """Raise ``max.message.bytes`` of each of ``topics`` below ``wanted_bytes`` to it; the topics raised.

    A topic the broker will not describe or alter (an ACL without those rights, say) is logged and left as
    it is: the daemon runs as it did before, and the relay parks nothing the broker refuses (it retries it).
    """
    raised: list[str] = []
    for start in range(0, len(topics), TOPICS_PER_REQUEST_MAX):
        chunk = topics[start:start + TOPICS_PER_REQUEST_MAX]
        responses = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, t) for t in chunk])
        changes: list[ConfigResource] = []
        for response in responses:
            for code, message, _kind, topic, entries in response.resources:
                if code:
                    log.warning("topic record limit not checked: Kafka did not describe the topic",
                                topic=topic, error_code=code, error=message)
                    continue
                change = _change(topic, entries, wanted_bytes)
                if change is not None:
                    changes.append(change)
        if not changes:
            continue
        for response in await admin.alter_configs(changes):
            for code, message, _kind, topic in response.resources:
                if code:
                    log.warning(f"topic record limit not raised: Kafka refused to alter {LIMIT_CONFIG}",
                                topic=topic, error_code=code, error=message, wanted_bytes=wanted_bytes)
                else:
                    log.info("topic record limit raised", topic=topic, to_bytes=wanted_bytes)
                    raised.append(topic)
    return raised
