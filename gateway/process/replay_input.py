"""Where a replay's messages come from: a JSONL file, or a bus topic read from an offset without side effects.

A JSONL file holds one envelope (wire JSON) per line; lines ``{"recorded": {...}}`` state what a run
recorded per instance key (final ``state``, optionally ``states`` entered and ``emitted`` message types),
to compare the replay with. Blank lines and lines starting with ``#`` are skipped.

A topic is read as a plain reader, never as a member of a consumer group: the SQL log by ``SELECT`` on
``bus_log``, Kafka by a consumer without a group id that is assigned the partitions and seeks. Nothing is
committed and no group row, member row or store row is written, so a replay can never move a real
consumer's position. ``Bus.describe`` (read-only on both backends) tells partitions and end offsets.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer
from aiokafka import TopicPartition as KafkaPartition
from aiokafka import errors as ke
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.bus.base import Bus, PartitionInfo, Record
from gateway.config import Settings
from gateway.errors import BusUnavailable, MessageError, ProudError
from gateway.limits import MESSAGE_BYTES_MAX
from gateway.store.tables import bus_log
from schemas.envelope import Envelope, decode
from schemas.process import TimerFired

#: Messages one replay reads at most: it holds them, and every instance, in memory.
REPLAY_MESSAGES_MAX = 1_000_000
#: A JSONL line longer than a message may be (plus the envelope around a payload) is not one.
REPLAY_LINE_BYTES_MAX = MESSAGE_BYTES_MAX + 4_096
#: Records one SQL-log query reads.
SQL_LOG_PAGE_ROWS = 2_000
#: How long Kafka may stay silent before the records still missing below the end offsets count as gone.
KAFKA_FETCH_TIMEOUT_S = 10.0
#: Inputs whose problems are listed one by one; beyond that they are counted.
SKIPPED_SHOWN_MAX = 20


class ReplayInputError(ProudError):
    """The input cannot be read as asked (a bad line, an unknown topic); nothing was replayed."""


@dataclass(frozen=True, slots=True)
class Recorded:
    """What a run recorded for one instance key; None fields are not compared."""

    key: str
    state: str | None  # None: no instance
    states: tuple[str, ...] | None = None  # every state entered, in order (the history's to_state)
    emitted: tuple[str, ...] | None = None  # message types emitted, in order


@dataclass(slots=True)
class ReplayInput:
    messages: list[Envelope] = field(default_factory=list)
    recorded: dict[str, Recorded] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)  # why inputs were left out, one line each
    skipped_count: int = 0

    def skip(self, reason: str) -> None:
        self.skipped_count += 1
        if len(self.skipped) < SKIPPED_SHOWN_MAX:
            self.skipped.append(reason)

    def add(self, envelope: Envelope, where: str) -> None:
        # Replay derives timers from the rules it runs: the recorded run's timer messages are its own.
        if isinstance(envelope.payload, TimerFired):
            self.skip(f"{where}: a recorded process.timer message (replay fires its own timers)")
        else:
            self.messages.append(envelope)


def read_jsonl(path: Path, limit: int) -> ReplayInput:
    found = ReplayInput()
    try:
        with path.open("rb") as file:
            for number, raw in enumerate(file, start=1):
                if len(found.messages) >= limit:
                    break
                _line(found, raw, f"{path}:{number}")
    except OSError as exc:
        raise ReplayInputError(f"cannot read {path}: {exc.strerror or exc}") from None
    return found


def _line(found: ReplayInput, raw: bytes, where: str) -> None:
    if len(raw) > REPLAY_LINE_BYTES_MAX:
        raise ReplayInputError(f"{where}: line longer than {REPLAY_LINE_BYTES_MAX} bytes")
    text = raw.strip()
    if not text or text.startswith(b"#"):
        return
    if text.startswith(b'{"recorded"'):
        recorded = _recorded(text, where)
        found.recorded[recorded.key] = recorded
        return
    try:
        found.add(decode(text), where)
    except MessageError as exc:
        raise ReplayInputError(f"{where}: {exc.message}") from None


def _recorded(text: bytes, where: str) -> Recorded:
    try:
        value = json.loads(text)["recorded"]
        key, state = value["key"], value.get("state")
        states, emitted = value.get("states"), value.get("emitted")
        ok = isinstance(key, str) and (state is None or isinstance(state, str))
        ok = ok and all(v is None or (isinstance(v, list) and all(isinstance(s, str) for s in v))
                        for v in (states, emitted))
    except (ValueError, KeyError, TypeError):
        ok = False
    if not ok:
        shape = '{"recorded": {"key": "...", "state": "...", "states": [...], "emitted": [...]}}'
        raise ReplayInputError(f"{where}: expected {shape}")
    return Recorded(
        key, state, None if states is None else tuple(states), None if emitted is None else tuple(emitted)
    )


def parse_topic(source: str) -> tuple[str, int]:
    """``payments.events`` or ``payments.events:120`` (the offset to start at, on every partition)."""
    topic, _, offset = source.partition(":")
    if not topic or (offset and not offset.isdigit()):
        raise ReplayInputError(f"--from {source!r}: expected a .jsonl file or TOPIC[:OFFSET]")
    return topic, int(offset or 0)


async def read_topic(
    bus: Bus, engine: AsyncEngine, settings: Settings, source: str, limit: int
) -> ReplayInput:
    topic, start = parse_topic(source)
    partitions = [info for info in await bus.describe([topic]) if info.topic == topic]
    if not partitions:
        raise ReplayInputError(f"no topic {topic!r} on the {bus.backend} bus")
    if bus.backend == "sql":
        per_partition = [await _read_sql_log(engine, info, start, limit) for info in partitions]
    else:
        assert settings.kafka_bootstrap
        per_partition = await _read_kafka(settings.kafka_bootstrap, partitions, start, limit)
    found = ReplayInput()
    # Partitions interleaved by record time; heapq.merge keeps each partition's own order.
    for record in heapq.merge(*per_partition, key=lambda r: r.timestamp_ms):
        if len(found.messages) >= limit:
            break
        where = f"{record.topic}[{record.partition}]@{record.offset}"
        try:
            found.add(decode(record.value), where)
        except MessageError as exc:
            # The runtime dead-letters such a record; it is part of the recording, not an input error.
            found.skip(f"{where}: {exc.message}")
    return found


async def _read_sql_log(engine: AsyncEngine, info: PartitionInfo, start: int, limit: int) -> list[Record]:
    log = bus_log.c
    records: list[Record] = []
    position = start
    async with engine.connect() as conn:  # read-only: never begins a write
        while position < info.end_offset and len(records) < limit:
            rows = (await conn.execute(
                sa.select(log.offset, log.key, log.value, log.timestamp_ms)
                .where(log.topic == info.topic, log.partition == info.partition, log.offset >= position)
                .order_by(log.offset).limit(min(SQL_LOG_PAGE_ROWS, limit - len(records)))
            )).all()
            if not rows:
                break
            records += [Record(info.topic, info.partition, o, k, bytes(v), (), ts) for o, k, v, ts in rows]
            position = rows[-1].offset + 1
    return records


async def _read_kafka(
    bootstrap: str, partitions: Sequence[PartitionInfo], start: int, limit: int
) -> list[list[Record]]:
    ends = {KafkaPartition(p.topic, p.partition): p.end_offset for p in partitions}
    found: dict[KafkaPartition, list[Record]] = {tp: [] for tp in ends}
    # No group id: no membership, no rebalance, nothing that could commit anywhere.
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, isolation_level="read_committed"
    )
    try:
        await consumer.start()
        consumer.assign(list(ends))
        for tp in ends:
            consumer.seek(tp, start)
        while any(_wants(found[tp], ends[tp], start, limit) for tp in ends):
            batches = await consumer.getmany(timeout_ms=int(KAFKA_FETCH_TIMEOUT_S * 1000), max_records=500)
            if not batches:
                break  # the rest below the end offsets is gone (aborted transactions, compaction)
            for tp, messages in batches.items():
                kept = [m for m in messages if m.offset < ends[tp]][: max(0, limit - len(found[tp]))]
                found[tp] += [
                    Record(tp.topic, tp.partition, m.offset, None, m.value or b"", (), m.timestamp)
                    for m in kept
                ]
    except (ke.KafkaError, OSError) as exc:
        raise BusUnavailable(f"reading {sorted(str(tp) for tp in ends)} from Kafka: {exc}") from exc
    finally:
        await consumer.stop()
    return [found[tp] for tp in sorted(ends)]


def _wants(records: list[Record], end: int, start: int, limit: int) -> bool:
    position = records[-1].offset + 1 if records else start
    return position < end and len(records) < limit
