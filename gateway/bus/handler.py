"""What a message handler sees: the message, the open database transaction, and a way to emit messages.

A handler applies one message: it changes state through ``ctx.conn`` and emits follow-up messages with
``ctx.emit``. Both land in one transaction together with the inbox row that marks the message processed,
so a handler never publishes anything that its state change did not also commit.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.bus.base import OutgoingRecord, Record
from gateway.bus.outbox import envelope_record
from schemas.envelope import Envelope, Payload, new_envelope

#: Messages one handler call may emit; a runaway loop would otherwise fill the outbox.
EMITTED_PER_MESSAGE_MAX = 1_000


class HandlerContext:
    __slots__ = ("_emitted", "attempt", "conn", "envelope", "group_id", "now", "record")

    def __init__(
        self, *, conn: AsyncConnection, envelope: Envelope, record: Record, group_id: str,
        now: dt.datetime, attempt: int,
    ) -> None:
        self.conn = conn
        self.envelope = envelope
        self.record = record
        self.group_id = group_id
        self.now = now
        self.attempt = attempt
        self._emitted: list[tuple[uuid.UUID, OutgoingRecord]] = []

    def emit(self, topic: str, envelope: Envelope) -> None:
        assert len(self._emitted) < EMITTED_PER_MESSAGE_MAX, "handler emitted too many messages"
        self._emitted.append(envelope_record(topic, envelope))

    def emit_payload(self, topic: str, body: Payload, *, key: str | None = None) -> Envelope:
        """Emit a new message caused by the one being handled (same correlation id)."""
        envelope = new_envelope(body, key=key or self.envelope.key, now=self.now, cause=self.envelope)
        self.emit(topic, envelope)
        return envelope

    @property
    def emitted(self) -> list[tuple[uuid.UUID, OutgoingRecord]]:
        return self._emitted


Handler = Callable[[HandlerContext], Awaitable[None]]
#: Applies several messages at once (multi-row statements); must have the same effect as ``Handler`` in turn.
BatchHandler = Callable[[Sequence[HandlerContext]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Subscription:
    """A consumer group, the topics it reads and the handler that applies each message.

    ``handler_many``, when given, is used instead of calling ``handler`` once per message of a batch; a
    handler on a hot path uses it to turn N single-row statements into one multi-row statement.
    """

    group_id: str
    topics: tuple[str, ...]
    handler: Handler
    handler_many: BatchHandler | None = None

    def __post_init__(self) -> None:
        assert self.group_id and self.topics

    async def apply(self, contexts: Sequence[HandlerContext]) -> None:
        if self.handler_many is not None:
            await self.handler_many(contexts)
            return
        for ctx in contexts:
            await self.handler(ctx)
