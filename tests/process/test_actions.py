"""The action registry and the demo action ``send_reminder``, run against a minimal ``ActionContext``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import pytest

from gateway.errors import HandlerRejected, NotFound
from gateway.process.actions import ACTIONS, ActionContext, ActionRegistry, send_reminder
from gateway.process.topics import PROCESS_EVENTS
from schemas.envelope import Envelope, Payload, decode, encode, new_envelope
from schemas.process import InvoiceOverdue, ReminderRequested

NOW = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC)


class FakeContext:
    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.now = NOW
        self.key = "CA-1001"
        body = InvoiceOverdue(invoice="INV-7", amount=Decimal("1200.50"), final_date=dt.date(2026, 12, 15))
        self.message: Envelope = new_envelope(body, key=self.key, now=NOW)
        self.emitted: list[tuple[str, Payload, str | None]] = []

    def emit(self, topic: str, body: Payload, *, key: str | None = None) -> None:
        self.emitted.append((topic, body, key))


async def test_send_reminder_emits_and_counts() -> None:
    ctx = FakeContext({"amount_due": Decimal("1200.50"), "reminders_sent": 1})
    context: ActionContext = ctx  # the fake satisfies the protocol (mypy checks this line)
    await send_reminder(context, {"level": 2})
    expected = ReminderRequested(level=2, amount_due=Decimal("1200.50"))
    assert ctx.emitted == [(PROCESS_EVENTS.name, expected, None)]
    assert ctx.data["reminders_sent"] == 2


@pytest.mark.parametrize("params", [{}, {"level": 0}, {"level": 4}, {"level": "1"}, {"level": True}])
async def test_send_reminder_refuses_bad_level(params: Mapping[str, Any]) -> None:
    with pytest.raises(HandlerRejected, match=r"`level` must be 1\.\.3"):
        await send_reminder(FakeContext({}), params)


async def test_send_reminder_refuses_a_non_amount() -> None:
    with pytest.raises(HandlerRejected, match=r"data\.amount_due is 'lots'"):
        await send_reminder(FakeContext({"amount_due": "lots"}), {"level": 1})


def test_registry() -> None:
    registry = ActionRegistry()

    @registry.register("noop")
    async def noop(ctx: ActionContext, params: Mapping[str, Any]) -> None:
        return None

    assert registry.names() == frozenset({"noop"})
    assert registry.get("noop") is noop
    assert "noop" in registry and "other" not in registry
    with pytest.raises(NotFound, match="no action 'other'"):
        registry.get("other")
    assert "send_reminder" in ACTIONS.names()


def test_reminder_payload_round_trip_keeps_amount_exact() -> None:
    envelope = new_envelope(ReminderRequested(level=1, amount_due=Decimal("1200.50")), key="CA-1001", now=NOW)
    assert b'"amount_due":"1200.50"' in encode(envelope)
    assert decode(encode(envelope)).payload == envelope.payload
