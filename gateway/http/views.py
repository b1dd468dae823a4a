"""Operator views shared by the HTTP ops API and the CLI, so both show the same numbers in the same shape.

Nothing here knows aiohttp or typer: parsing raises ``BadParameter`` (HTTP 400, CLI exit 2), and the views
are plain JSON-ready dicts.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Sequence
from typing import Any, Final, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway import limits
from gateway.bus import dlq
from gateway.bus.base import Bus, PartitionInfo
from gateway.bus.topics import TopicSpec
from gateway.errors import BusUnavailable, ProudError
from gateway.store.db import translate_errors

T = TypeVar("T")

#: Dead letters one listing returns when the caller names no limit.
DLQ_LIST_LIMIT_DEFAULT: Final = 100
#: ``status`` filter values and the stored status each selects (None: every status).
DLQ_STATUSES: Final[dict[str, str | None]] = {
    "open": dlq.STATUS_OPEN,
    "replayed": dlq.STATUS_REPLAYED,
    "all": None,
}
_MANGLED_OFFSET = re.compile(r"(?P<time>T[0-9:.]+) (?P<offset>[0-9]{2}:?[0-9]{2})$")
#: How long one operator request may wait for the bus (describe, ensure topics) before giving up.
OPS_BUS_TIMEOUT_S: Final = 10.0


class BadParameter(ProudError):
    """A request parameter has a value we cannot use; names the parameter and the value."""

    def __init__(self, name: str, value: object, expected: str) -> None:
        super().__init__(f"bad value for parameter {name!r}: {value!r} (expected {expected})")
        self.name = name
        self.value = value


def parse_status(raw: str) -> str | None:
    if raw not in DLQ_STATUSES:
        raise BadParameter("status", raw, "one of " + ", ".join(DLQ_STATUSES))
    return DLQ_STATUSES[raw]


def parse_limit(raw: str, maximum: int = limits.DLQ_LIST_MAX) -> int:
    expected = f"an integer from 1 to {maximum}"
    try:
        limit = int(raw)
    except ValueError:
        raise BadParameter("limit", raw, expected) from None
    if not 1 <= limit <= maximum:
        raise BadParameter("limit", raw, expected)
    return limit


def parse_instant(name: str, raw: str) -> dt.datetime:
    """An ISO 8601 date-time with a UTC offset; a naive one is refused rather than guessed (UTC or Prague)."""
    expected = "an ISO 8601 date-time with a UTC offset, e.g. 2026-12-14T09:00:00Z or ...T10:00:00+01:00"
    # An unescaped "+01:00" in a query string arrives as " 01:00"; nothing else ends a date-time like that.
    text = _MANGLED_OFFSET.sub(r"\g<time>+\g<offset>", raw)
    try:
        instant = dt.datetime.fromisoformat(text)
    except ValueError:
        raise BadParameter(name, raw, expected) from None
    if instant.tzinfo is None:
        raise BadParameter(name, raw, expected)
    return instant.astimezone(dt.UTC)


def parse_letter_id(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise BadParameter("id", raw, "a dead-letter UUID") from None


async def bounded(step: Awaitable[T], what: str, timeout_s: float = OPS_BUS_TIMEOUT_S) -> T:
    """Await a bus call, turning a hang into ``BusUnavailable`` so that callers answer instead of waiting."""
    try:
        return await asyncio.wait_for(step, timeout_s)
    except TimeoutError:
        raise BusUnavailable(f"{what}: no answer within {timeout_s} s") from None


async def describe_topics(bus: Bus, specs: Sequence[TopicSpec], default_partitions: int) -> dict[str, Any]:
    partitions = await bounded(bus.describe([s.name for s in specs]), "describing topics")
    return topics_view(specs, partitions, default_partitions)


def topics_view(
    specs: Sequence[TopicSpec], partitions: Sequence[PartitionInfo], default_partitions: int
) -> dict[str, Any]:
    """Per topic: its partitions with end offsets, each group's committed offset and lag; lag totals."""
    by_topic: dict[str, list[PartitionInfo]] = defaultdict(list)
    for info in partitions:
        by_topic[info.topic].append(info)
    topics = [
        _topic_entry(spec, sorted(by_topic[spec.name], key=lambda p: p.partition), default_partitions)
        for spec in specs
    ]
    lag_by_group: dict[str, int] = defaultdict(int)
    for topic in topics:
        for group, lag in topic["lag"].items():
            lag_by_group[group] += lag
    return {"topics": topics, "lag_by_group": dict(sorted(lag_by_group.items()))}


def _topic_entry(spec: TopicSpec, parts: Sequence[PartitionInfo], default_partitions: int) -> dict[str, Any]:
    groups = sorted({group for info in parts for group in info.committed})
    return {
        "name": spec.name,
        "key_meaning": spec.key_meaning,
        "retention_ms": spec.retention_ms,
        "partitions_configured": spec.partition_count(default_partitions),
        # Zero partitions means the topic does not exist on the bus yet (``proud topics --create``).
        "partitions_found": len(parts),
        "end_offset_total": sum(info.end_offset for info in parts),
        "lag": {group: sum(info.lag(group) for info in parts) for group in groups},
        "partitions": [
            {
                "partition": info.partition,
                "end_offset": info.end_offset,
                "groups": {
                    group: {"committed": info.committed.get(group), "lag": info.lag(group)}
                    for group in groups
                },
            }
            for info in parts
        ],
    }


async def dlq_listing(
    engine: AsyncEngine, *, status: str | None, topic: str | None, group: str | None, limit: int
) -> dict[str, Any]:
    """Dead-letter summaries matching the filters, newest first, and the open count per (topic, group)."""
    with translate_errors("listing dead letters"):
        letters = await dlq.list_letters(engine, status=status, topic=topic, group_id=group, limit=limit)
        open_counts = await dlq.count_open(engine)
    return {
        "dead_letters": [letter.summary() for letter in letters],
        "count": len(letters),
        "limit": limit,
        "open": [
            {"topic": topic_name, "group": group_id, "count": count}
            for (topic_name, group_id), count in sorted(open_counts.items())
        ],
        "open_total": sum(open_counts.values()),
    }


def replay_note(letter: dlq.DeadLetter) -> str:
    """What a replay did, for the operator: it only queues the record; the daemon's relay publishes it."""
    return (
        f"dead letter {letter.id} queued for replay to {letter.topic} for group {letter.group_id} only; "
        "it sits in the outbox until the running daemon's outbox relay publishes it"
    )
