"""The engine refuses an author's mistakes naming file, line and expression, and runs actions given as a
mapping (the machines and helpers of ``test_engine``)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import pytest

from gateway.errors import HandlerRejected
from gateway.process.actions import ActionContext
from gateway.process.definition import ActionCall, Step, Transition
from gateway.process.engine import FiredTimer, InstanceState
from schemas.envelope import Payload
from schemas.process import PaymentReceived
from tests.process.test_engine import (
    FILE,
    overdue,
    payment,
    reminder_machine,
    run,
    timer_message,
    w,
    with_id,
    with_open,
)


async def test_author_errors_are_rejected_naming_file_line_and_expression() -> None:
    base = reminder_machine()
    bad_guard = Transition("payment.received", "paid", "payload.amount >=", (), w(20))
    machine = with_open(base, transitions=(bad_guard,))
    instance = with_id(await run(base, None, overdue()))
    with pytest.raises(HandlerRejected) as caught:
        await run(machine, instance, payment("1"))
    text = str(caught.value)
    assert f"{FILE}:20" in text and "'payload.amount >='" in text and "parserError" in text


async def test_bad_at_field_and_unknown_action_are_rejected() -> None:
    machine = reminder_machine()
    instance = with_id(await run(machine, None, overdue()))
    broken = InstanceState(7, "CA-1", "v1", "open", {**instance.data, "final_date": "soon"}, 1, 1, 0)
    fired, message = FiredTimer(3, 7, "first_reminder", 1, "fired"), timer_message("first_reminder", 3)
    with pytest.raises(HandlerRejected, match=rf"{FILE}:33: .*'data.final_date' is 'soon'"):
        await run(machine, broken, message, timer=fired)
    with pytest.raises(HandlerRejected, match=rf"{FILE}:25: .*unknown action 'send_reminder'"):
        await run(machine, instance, message, timer=fired, actions={})


async def test_actions_from_a_mapping_change_data_and_emit() -> None:
    calls: list[Mapping[str, Any]] = []

    async def note(ctx: ActionContext, params: Mapping[str, Any]) -> None:
        calls.append(params)
        ctx.data["noted"] = params["text"]
        ctx.emit("other.topic", PaymentReceived(amount=Decimal("1.00")), key="elsewhere")

    base = reminder_machine()
    entry: tuple[Step, ...] = (*base.states["open"].on_entry, ActionCall("note", {"text": "hi"}, w(15)))
    machine = with_open(base, on_entry=entry)
    outcome = await run(machine, None, overdue(), actions={"note": note})
    assert (
        calls == [{"text": "hi"}] and outcome.instance is not None and outcome.instance.data["noted"] == "hi"
    )
    [(topic, envelope)] = outcome.emitted
    assert topic == "other.topic" and envelope.key == "elsewhere" and isinstance(envelope.payload, Payload)
