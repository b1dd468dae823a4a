"""What the switching consumer tests share: a handler called the way the consumer runtime calls it (one
message, a real transaction on PostgreSQL), and the messages it emitted."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.bus.base import Record
from gateway.bus.handler import HandlerContext
from schemas.envelope import Envelope, Payload, decode

Handler = Callable[[HandlerContext], Awaitable[None]]


@dataclass(frozen=True)
class Emitted:
    topic: str
    key: str | None
    envelope: Envelope

    @property
    def payload(self) -> Payload:
        return self.envelope.payload


async def deliver(
    engine: AsyncEngine, handler: Handler, envelope: Envelope, *, topic: str, now: dt.datetime
) -> list[Emitted]:
    """Apply ``envelope`` with ``handler`` in one committed transaction; what it emitted, in order."""
    record = Record(topic=topic, partition=0, offset=0, key=envelope.key, value=b"")
    async with engine.begin() as conn:
        ctx = HandlerContext(conn=conn, envelope=envelope, record=record, group_id="test", now=now, attempt=1)
        await handler(ctx)
    emitted = []
    for _, item in ctx.emitted:
        found = decode(item.value)
        assert found.key == item.key and found.causation_id == envelope.id
        emitted.append(Emitted(item.topic, item.key, found))
    return emitted
