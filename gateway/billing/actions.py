"""The actions of the billing-order machine (``rules/machines/billing_order.yaml``).

Like every action (``gateway.process.actions``) they change the instance data and emit messages through
the outbox in the transaction of the message being handled; they do no I/O:

- ``request_bill``: ``billing.bill_requested`` on ``billing.work``, keyed by the OPM, for the worker;
- ``note_release``: a clerk's ``billing.released`` codes added to ``data.released`` (kept for every later
  request: a released check stays released for this order);
- ``billing_attention``: ``switch.attention`` on ``process.events`` (the attention consumer files it as a
  back-office task on the contract), with the findings of an ``billing.outsorted`` message listed;
- ``request_documents``: ``billing.render_requested`` on ``billing.documents`` for the document renderer
  (``gateway.billing.documents``), when the order is billed;
- ``request_sending``: ``billing.send_requested`` on ``billing.documents`` for the sender
  (``gateway.billing.sending``), when the documents are filed (and again after a clerk's resend).

Each action checks the data it reads and raises ``HandlerRejected`` naming the field and the value.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Final

import msgspec

from gateway.billing.topics import BILLING_DOCUMENTS, BILLING_ORDERS, BILLING_WORK
from gateway.process.actions import ACTIONS, ActionContext
from gateway.process.topics import PROCESS_EVENTS
from gateway.switching.action_args import TEXT_CHARS_MAX as ATTENTION_TEXT_CHARS_MAX
from gateway.switching.action_args import (
    data_date,
    data_text,
    no_params,
    param_text,
    rejected,
    render,
)
from gateway.switching.actions import ATTENTION_CODE
from schemas.billing.orders import (
    BillRequested,
    Outsorted,
    Released,
    RenderRequested,
    SendRequested,
)
from schemas.switching import Attention

#: The topics the billing-order machine reads; importing them here registers them wherever the actions are.
MACHINE_TOPICS: Final = (BILLING_ORDERS.name,)
#: ``Attention.process`` of the tasks this machine files.
PROCESS: Final = "billing_order"
#: Where the codes a clerk released are kept; every ``bill_requested`` carries them.
RELEASED_FIELD: Final = "released"
#: Codes one order may have released: the checks are a handful, so more is a client gone wrong.
RELEASED_CODES_MAX: Final = 20


def _released(action: str, data: Mapping[str, Any]) -> list[str]:
    value = data.get(RELEASED_FIELD) or []
    if not isinstance(value, list) or not all(isinstance(code, str) for code in value):
        raise rejected(action, f"data.{RELEASED_FIELD} is {value!r}, expected a list of check codes")
    return value


@ACTIONS.register("request_bill")
async def request_bill(ctx: ActionContext, params: Mapping[str, Any]) -> None:
    """Ask the billing worker for the bill of the order: ``billing.bill_requested`` keyed by data.opm with
    contract, account, opm, period_from, period_to and the released codes. Counts data.bill_requests."""
    action = "request_bill"
    no_params(action, params)
    data = ctx.data
    period_from = data_date(action, data, "period_from")
    period_to = data_date(action, data, "period_to")
    if period_to < period_from:
        raise rejected(action, f"data.period_to {period_to} is before data.period_from {period_from}")
    body = BillRequested(
        order=ctx.key, contract=data_text(action, data, "contract"),
        account=data_text(action, data, "account"), opm=data_text(action, data, "opm"),
        period_from=period_from, period_to=period_to,
        released=tuple(_released(action, data)),
    )
    ctx.emit(BILLING_WORK.name, body, key=body.opm)
    requests = data.get("bill_requests", 0)
    data["bill_requests"] = (requests if isinstance(requests, int) else 0) + 1
    data["requested_at"] = ctx.now.isoformat()


@ACTIONS.register("note_release")
async def note_release(ctx: ActionContext, params: Mapping[str, Any]) -> None:
    """On ``billing.released``: add its codes to data.released; keep who released, when and why
    (data.released_by, released_at, release_note); clear data.findings (the clerk dealt with them)."""
    action = "note_release"
    no_params(action, params)
    body = ctx.message.payload
    if not isinstance(body, Released):
        raise rejected(action, f"runs on a {Released.message_type} message, not on {ctx.message.type}")
    codes = _released(action, ctx.data)
    codes.extend(code for code in body.codes if code not in codes)
    if len(codes) > RELEASED_CODES_MAX:
        too_many = f"{len(codes)} codes, more than {RELEASED_CODES_MAX}"
        raise rejected(action, f"payload.codes would release {too_many}")
    ctx.data.update({
        RELEASED_FIELD: codes, "released_by": body.actor, "released_at": ctx.now.isoformat(),
        "release_note": body.note, "findings": [],
    })


def _findings_text(ctx: ActionContext) -> str:
    body = ctx.message.payload
    if not isinstance(body, Outsorted):
        return ""
    return "".join(f"\n- {finding.code}: {finding.text}" for finding in body.findings)


@ACTIONS.register("billing_attention")
async def billing_attention(ctx: ActionContext, params: Mapping[str, Any]) -> None:
    """Ask the back office to look at the order: ``switch.attention`` about data.opm and data.contract with
    ``reason_code`` and ``text`` (``{field}`` from data, ``{payload.field}``, ``{key}``: the order); on a
    ``billing.outsorted`` message its findings follow the text, one per line."""
    action = "billing_attention"
    no_params(action, params, ("reason_code", "text"))
    code = param_text(action, params, "reason_code", ATTENTION_CODE)
    payload = msgspec.to_builtins(ctx.message.payload)
    text = render(action, param_text(action, params, "text"), ctx.data, payload, ctx.key)
    text = (text + _findings_text(ctx))[:ATTENTION_TEXT_CHARS_MAX]
    opm = data_text(action, ctx.data, "opm")
    contract = data_text(action, ctx.data, "contract")
    body = Attention(opm=opm, process=PROCESS, reason_code=code, text=text, contract=contract)
    ctx.emit(PROCESS_EVENTS.name, body, key=opm)


@ACTIONS.register("request_documents")
async def request_documents(ctx: ActionContext, params: Mapping[str, Any]) -> None:
    """Ask the renderer for the PDF and ISDOC of data.invoice: ``billing.render_requested`` keyed by the
    order. Counts data.render_requests."""
    action = "request_documents"
    no_params(action, params)
    body = RenderRequested(order=ctx.key, invoice=data_text(action, ctx.data, "invoice"))
    ctx.emit(BILLING_DOCUMENTS.name, body, key=ctx.key)
    _count(ctx.data, "render_requests")


@ACTIONS.register("request_sending")
async def request_sending(ctx: ActionContext, params: Mapping[str, Any]) -> None:
    """Ask the sender to deliver data.invoice by the account's channel: ``billing.send_requested`` keyed by
    the order. Counts data.send_requests (a resend is another)."""
    action = "request_sending"
    no_params(action, params)
    body = SendRequested(order=ctx.key, invoice=data_text(action, ctx.data, "invoice"))
    ctx.emit(BILLING_DOCUMENTS.name, body, key=ctx.key)
    _count(ctx.data, "send_requests")


def _count(data: dict[str, Any], field: str) -> None:
    count = data.get(field, 0)
    data[field] = (count if isinstance(count, int) else 0) + 1


def order_key(contract: str, period_to: dt.date) -> str:
    """The order key: one order per contract and billing period end."""
    return f"{contract}@{period_to.isoformat()}"
