"""The billing-order machine's actions on their own: what they emit and store, and the data they refuse
(naming the field and the value), which the scenario tests of rules/tests/billing_order.yaml do not reach."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from gateway.billing import actions
from gateway.billing.topics import BILLING_WORK
from gateway.errors import HandlerRejected
from gateway.process.calendar import PRAGUE
from gateway.process.topics import PROCESS_EVENTS
from schemas.billing.orders import BillRequested, Finding, Outsorted, Released
from schemas.envelope import Envelope, Payload, new_envelope
from schemas.switching import Attention

ORDER = "SML-40@2026-06-30"
OPM = "859182400123456789"
NOW = dt.datetime(2026, 7, 6, 9, 0, tzinfo=PRAGUE)
DATA = {"contract": "SML-40", "account": "UCT-40", "opm": OPM, "period_from": "2026-01-01",
        "period_to": "2026-06-30", "released": []}


class Context:
    def __init__(self, body: Payload, data: dict[str, Any]) -> None:
        self.data = data
        self.now = NOW
        self.key = ORDER
        self.message: Envelope = new_envelope(body, key=ORDER, now=NOW)
        self.emitted: list[tuple[str, Payload, str | None]] = []

    def emit(self, topic: str, body: Payload, *, key: str | None = None) -> None:
        self.emitted.append((topic, body, key))


def released(*codes: str) -> Released:
    return Released(order=ORDER, codes=codes, actor="key:clerk", note="checked")


async def test_request_bill_asks_the_worker_by_opm_with_the_released_codes() -> None:
    ctx = Context(released(), {**DATA, "released": ["READING_MISSING"], "bill_requests": 1})

    await actions.request_bill(ctx, {})

    [(topic, body, key)] = ctx.emitted
    assert (topic, key) == (BILLING_WORK.name, OPM)
    assert body == BillRequested(
        order=ORDER, contract="SML-40", account="UCT-40", opm=OPM, period_from=dt.date(2026, 1, 1),
        period_to=dt.date(2026, 6, 30), released=("READING_MISSING",),
    )
    assert ctx.data["bill_requests"] == 2 and ctx.data["requested_at"] == NOW.isoformat()


@pytest.mark.parametrize(("changes", "reason"), [
    ({"period_to": "2025-12-31"}, "data.period_to 2025-12-31 is before data.period_from 2026-01-01"),
    ({"period_from": "1.1.2026"}, "data.period_from is '1.1.2026', expected an ISO date"),
    ({"opm": None}, "data.opm is None, expected a text"),
    ({"released": "READING_MISSING"}, "data.released is 'READING_MISSING', expected a list of check codes"),
])
async def test_request_bill_refuses_data_it_cannot_send(changes: dict[str, Any], reason: str) -> None:
    with pytest.raises(HandlerRejected, match=re.escape(f"request_bill: {reason}")):
        await actions.request_bill(Context(released(), {**DATA, **changes}), {})


async def test_a_parameter_is_refused() -> None:
    with pytest.raises(HandlerRejected, match="request_bill"):
        await actions.request_bill(Context(released(), dict(DATA)), {"level": 1})


async def test_a_release_adds_its_new_codes_and_clears_the_findings() -> None:
    ctx = Context(released("FAR_ABOVE_HISTORY", "READING_MISSING"), {
        **DATA, "released": ["READING_MISSING"], "findings": [{"code": "FAR_ABOVE_HISTORY", "text": "x"}],
    })

    await actions.note_release(ctx, {})

    assert ctx.data["released"] == ["READING_MISSING", "FAR_ABOVE_HISTORY"] and ctx.data["findings"] == []
    assert (ctx.data["released_by"], ctx.data["release_note"]) == ("key:clerk", "checked")
    other = Outsorted(order=ORDER, stage="pre", findings=())
    with pytest.raises(HandlerRejected, match=re.escape("runs on a billing.released message")):
        await actions.note_release(Context(other, {}), {})
    too_many = tuple(f"CODE_{n:02}" for n in range(actions.RELEASED_CODES_MAX + 1))
    with pytest.raises(HandlerRejected, match="more than 20"):
        await actions.note_release(Context(released(*too_many), dict(DATA)), {})


async def test_the_back_office_is_told_about_the_order_with_its_findings() -> None:
    findings = (Finding(code="NEGATIVE_TOTAL", text="the total is negative"),)
    ctx = Context(Outsorted(order=ORDER, stage="post", findings=findings), {**DATA, "stage": "post"})

    await actions.billing_attention(ctx, {"reason_code": "BILLING_OUTSORTED", "text": "Order {key}: {stage}"})

    [(topic, body, key)] = ctx.emitted
    assert (topic, key) == (PROCESS_EVENTS.name, OPM)
    assert body == Attention(
        opm=OPM, process="billing_order", reason_code="BILLING_OUTSORTED", contract="SML-40",
        text=f"Order {ORDER}: post\n- NEGATIVE_TOTAL: the total is negative",
    )
    with pytest.raises(HandlerRejected, match="reason_code"):
        await actions.billing_attention(ctx, {"reason_code": "lower", "text": "x"})


def test_the_order_key() -> None:
    assert actions.order_key("SML-40", dt.date(2026, 6, 30)) == ORDER
