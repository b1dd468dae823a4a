"""The actions of the switching machines (``rules/machines/switch_gain.yaml``, ``switch_loss.yaml``,
``change_of_customer.yaml``, ``move_out.yaml``, ``last_resort.yaml``).

Like every action (``gateway.process.actions``), they change the instance data and emit messages, which
the runtime stores in the transaction of the message being handled; they do no I/O. What they send:

- ``ote.send`` on ``ote.outbound`` (keyed by OPM): a switch request or a master-data notice for CS OTE;
- ``switch.attention`` on ``process.events``: a task for the back office, its text templated from data;
- ``switch.final_bill_ordered`` / ``switch.initial_reading`` on ``process.events``: for billing (#6).

Each action checks its parameters and the data it reads and raises ``HandlerRejected`` naming the field and
the value. The switch profile (``standard`` or ``24h``) is the ``switch_profile`` setting
(``gateway.switching.config.current()``) unless the instance data sets ``switch_profile``: that is how a
scenario test (``given: {data: {switch_profile: 24h}}``) or a migration tries the other profile.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any, Final, TypeVar, cast, get_args

import msgspec

from connectors.ote.topics import OTE_OUTBOUND
from gateway.process.actions import ACTIONS, ActionContext
from gateway.process.calendar import PRAGUE, WORKING_DAYS_SHIFT_MAX, WorkingCalendar
from gateway.process.topics import PROCESS_EVENTS
from gateway.readings.topics import METER_READINGS
from gateway.switching.action_args import (
    data_choice,
    data_date,
    data_date_or_none,
    data_flag,
    data_text,
    data_text_or_none,
    no_params,
    param_choice,
    param_field,
    param_int,
    param_text,
    param_time,
    rejected,
    render,
)
from gateway.switching.config import current
from gateway.switching.deadlines import SwitchProfile
from gateway.switching.ote_messages import NEGOTIATION_TYPES, notice, ote_send, switch_request
from gateway.switching.plan import plan
from gateway.switching.topics import SWITCH_EVENTS
from schemas.envelope import Payload
from schemas.ote.common import (
    CHANGE_REASON_CANCEL,
    CHANGE_REASON_CUSTOMER,
    CHANGE_REASON_END,
    CHANGE_REASON_OBJECTION,
    REJECTION_REASON_WITHDRAWAL,
)
from schemas.readings import MeterReading
from schemas.switching import (
    Attention,
    Commodity,
    ContractSigned,
    FinalBillOrdered,
    InitialReading,
    StartReason,
    SupplyEnd,
    SupplyStart,
)

#: The topics the switching machines read. Importing them here registers them wherever the actions are
#: known, so that ``proud rules check`` and the daemon find them.
MACHINE_TOPICS: Final = (SWITCH_EVENTS.name, METER_READINGS.name)
COMMODITIES: Final[tuple[str, ...]] = get_args(Commodity)
START_REASONS: Final[tuple[str, ...]] = get_args(StartReason)
SUPPLY_ENDS: Final[tuple[str, ...]] = get_args(SupplyEnd)
SUPPLY_STARTS: Final[tuple[str, ...]] = get_args(SupplyStart)
PROFILES: Final = tuple(profile.value for profile in SwitchProfile)
#: The instance-data field that overrides the ``switch_profile`` setting (null: the setting).
PROFILE_FIELD: Final = "switch_profile"
#: Where ``send_masterdata`` keeps the id of the notice it sent, so that a guard can match CS OTE's
#: refusal (``switch.send_failed``, ``ote_message_id``) to it.
NOTICE_ID_FIELDS: Final = {
    CHANGE_REASON_END: "end_notice_id",
    CHANGE_REASON_CUSTOMER: "customer_change_id",
    CHANGE_REASON_OBJECTION: "objection_id",
    CHANGE_REASON_CANCEL: "cancel_id",
}
NOTICE_REASONS: Final = tuple(NOTICE_ID_FIELDS)
#: A back-office reason code: what the attention consumer files and the back office filters by.
ATTENTION_CODE: Final = re.compile(r"[A-Z][A-Z0-9_]{2,39}")
#: [I] A rejection reason: ``ShortCode`` of ``schemas.ote.common`` (``ARE`` is the one confirmed).
REJECTION_CODE: Final = re.compile(r"[A-Z0-9]{1,3}")
#: An electricity OPM EAN (18 digits) or a gas OPM EIC (16 characters): the key of every switching machine.
OPM_CODE: Final = re.compile(r"[0-9]{18}|[0-9A-Z-]{16}")
#: The calendar when the context has none (``ActionContext`` does not promise one; the engine's has it).
_DEFAULT_CALENDAR: Final = WorkingCalendar()

P = TypeVar("P", bound=Payload)


def _calendar(ctx: ActionContext) -> WorkingCalendar:
    calendar = getattr(ctx, "calendar", None)  # the runtime's, which may know extra holidays
    return calendar if isinstance(calendar, WorkingCalendar) else _DEFAULT_CALENDAR


def _process(ctx: ActionContext) -> str:
    """The machine's name: who asked, for the logs and the back office."""
    name = getattr(getattr(ctx, "machine", None), "name", None)
    return name if isinstance(name, str) else "switching"


def _opm(action: str, ctx: ActionContext) -> str:
    if not OPM_CODE.fullmatch(ctx.key):
        what = "an OPM code (18-digit EAN or 16-character EIC)"
        raise rejected(action, f"the instance key {ctx.key!r} is not {what}")
    return ctx.key


def _payload(action: str, ctx: ActionContext, kind: type[P]) -> P:
    body = ctx.message.payload
    if not isinstance(body, kind):
        raise rejected(action, f"runs on a {kind.message_type} message, not on {ctx.message.type}")
    return body


def _profile(action: str, data: Mapping[str, Any]) -> SwitchProfile:
    value = data.get(PROFILE_FIELD)
    if value is None:
        return current().profile
    if value not in PROFILES:
        expected = f"{' or '.join(PROFILES)}, or null for the setting"
        raise rejected(action, f"data.{PROFILE_FIELD} is {value!r}, expected {expected}")
    return SwitchProfile(value)


@ACTIONS.register("plan_switch")
async def plan_switch(ctx: ActionContext, params: Mapping[str, Any]) -> None:
    """On ``switch.contract_signed``: keep the contract's facts and plan its request to CS OTE.

    Stores contract, customer, account, commodity, start_reason, negotiation, date_from, date_to,
    last_day (the day before date_from), switch_profile, window_opens (date), request_deadline and
    answer_due (ISO date-times: when the request must be at CS OTE, when to look if it has not answered),
    late, and earliest_date_from when late.
    """
    action = "plan_switch"
    no_params(action, params)
    body = _payload(action, ctx, ContractSigned)
    opm = _opm(action, ctx)
    if body.opm != opm:
        raise rejected(action, f"payload.opm is {body.opm!r}, but the instance key is {opm!r}")
    if body.negotiation not in NEGOTIATION_TYPES:
        known = ", ".join(NEGOTIATION_TYPES)
        raise rejected(action, f"payload.negotiation is {body.negotiation!r}, expected one of {known}")
    profile = _profile(action, ctx.data)
    planned = plan(body.date_from, body.commodity, body.start_reason, profile, _calendar(ctx), ctx.now)
    ctx.data.update({
        "contract": body.contract, "customer": body.customer, "account": body.account,
        "commodity": body.commodity, "start_reason": body.start_reason, "negotiation": body.negotiation,
        "date_from": body.date_from.isoformat(),
        "date_to": body.date_to.isoformat() if body.date_to else None,
        "last_day": (body.date_from - dt.timedelta(days=1)).isoformat(),
        PROFILE_FIELD: profile.value,
        "window_opens": planned.window.opens_on.isoformat(),
        "request_deadline": planned.window.deadline.isoformat(),
        "answer_due": planned.answer_due.isoformat(),
        "late": planned.late,
    })
    if planned.earliest_date_from is not None:
        ctx.data["earliest_date_from"] = planned.earliest_date_from.isoformat()
    else:
        ctx.data.pop("earliest_date_from", None)


@ACTIONS.register("send_switch_request")
async def send_switch_request(ctx: ActionContext, params: Mapping[str, Any]) -> None:
    """Ask CS OTE to switch the OPM to us from data.date_from; stores data.request_id (its message id),
    which CS OTE's answer (``switch.answered``, ``reference_id``) and a refusal name."""
    action = "send_switch_request"
    no_params(action, params)
    data = ctx.data
    message = switch_request(
        action, opm=_opm(action, ctx), commodity=data_choice(action, data, "commodity", COMMODITIES),
        date_from=data_date(action, data, "date_from"), date_to=data_date_or_none(action, data, "date_to"),
        start_reason=data_choice(action, data, "start_reason", START_REASONS),
        negotiation=data_choice(action, data, "negotiation", tuple(NEGOTIATION_TYPES)),
        now=ctx.now, config=current(),
    )
    ctx.emit(OTE_OUTBOUND.name, ote_send(message, _process(ctx)))
    data["request_id"] = message.envelope.id


@ACTIONS.register("send_masterdata")
async def send_masterdata(ctx: ActionContext, params: Mapping[str, Any]) -> None:
    """Tell CS OTE about our supply at the OPM: one master-data item with ``change_reason``.

    ``END`` end of supply (``valid_to``: the data field with its last day), ``CUS`` another customer from
    ``valid_from``, ``OBJ`` objection to a switch away from us (``rejection_reason``, default ARE), ``CAN``
    withdrawal of our switch request. ``valid_from`` names a data field, default date_from. The message id
    is stored in ``NOTICE_ID_FIELDS[change_reason]`` (end_notice_id, customer_change_id, objection_id,
    cancel_id).
    """
    action = "send_masterdata"
    no_params(action, params, ("change_reason", "valid_from", "valid_to", "rejection_reason"))
    reason = param_choice(action, params, "change_reason", NOTICE_REASONS)
    data = ctx.data
    valid_from = data_date(action, data, param_field(action, params, "valid_from", "date_from"))
    valid_to = None
    if "valid_to" in params:
        valid_to = data_date(action, data, param_field(action, params, "valid_to"))
    elif reason == CHANGE_REASON_END:
        raise rejected(action, "change_reason END needs `valid_to`: the data field of the last day of supply")
    if valid_to is not None and valid_to < valid_from:
        raise rejected(action, f"valid_to {valid_to} is before valid_from {valid_from}")
    rejection = None
    if reason == CHANGE_REASON_OBJECTION:
        rejection = param_text(action, {"rejection_reason": REJECTION_REASON_WITHDRAWAL, **params},
                               "rejection_reason", REJECTION_CODE)
    elif "rejection_reason" in params:
        raise rejected(action, f"`rejection_reason` goes with change_reason OBJ only, not {reason}")
    message = notice(
        action, change_reason=reason, opm=_opm(action, ctx),
        commodity=data_choice(action, data, "commodity", COMMODITIES), valid_from=valid_from,
        valid_to=valid_to, rejection_reason=rejection, now=ctx.now, config=current(),
    )
    ctx.emit(OTE_OUTBOUND.name, ote_send(message, _process(ctx)))
    data[NOTICE_ID_FIELDS[reason]] = message.envelope.id


@ACTIONS.register("attention")
async def attention(ctx: ActionContext, params: Mapping[str, Any]) -> None:
    """Ask the back office to look: ``switch.attention`` with ``reason_code`` and ``text``, whose
    ``{field}`` placeholders are filled from data (``{payload.field}``: the message; ``{key}``: the OPM).
    ``when`` (optional) names a true/false data field: no attention when it is false (a decision table's
    verdict). ``contract`` names the data field of the contract it is about (default contract)."""
    action = "attention"
    no_params(action, params, ("reason_code", "text", "when", "contract"))
    code = param_text(action, params, "reason_code", ATTENTION_CODE)
    template = param_text(action, params, "text")
    contract_field = param_field(action, params, "contract", "contract")
    if "when" in params and not data_flag(action, ctx.data, param_field(action, params, "when")):
        return
    payload = msgspec.to_builtins(ctx.message.payload)
    text = render(action, template, ctx.data, payload, ctx.key)
    body = Attention(
        opm=ctx.key, process=_process(ctx), reason_code=code, text=text,
        contract=data_text_or_none(action, ctx.data, contract_field),
    )
    ctx.emit(PROCESS_EVENTS.name, body)


@ACTIONS.register("set_deadline")
async def set_deadline(ctx: ActionContext, params: Mapping[str, Any]) -> None:
    """Store at data.``into`` the moment N working days before the date in data.``from``, at a local
    cut-off time, by profile: ``standard: {working_days_before: 5, cutoff: "10:00"}`` and the same for
    ``24h``. Both are required, so that a rule says what happens in either profile. A timer ``at`` the
    stored field then fires at that moment."""
    action = "set_deadline"
    no_params(action, params, ("into", "from", *PROFILES))
    into = param_field(action, params, "into")
    day = data_date(action, ctx.data, param_field(action, params, "from"))
    rules: dict[str, tuple[int, dt.time]] = {}
    for name in PROFILES:
        rule = params.get(name)
        where = f"{action} `{name}`"
        if not isinstance(rule, Mapping):
            expected = '{working_days_before: N, cutoff: "HH:MM"}'
            raise rejected(action, f"parameter `{name}` is {rule!r}, expected {expected}")
        no_params(where, rule, ("working_days_before", "cutoff"))
        days = param_int(where, rule, "working_days_before", 0, WORKING_DAYS_SHIFT_MAX)
        rules[name] = (days, param_time(where, rule, "cutoff"))
    days, cutoff = rules[_profile(action, ctx.data).value]
    deadline = dt.datetime.combine(_calendar(ctx).working_days_before(day, days), cutoff, tzinfo=PRAGUE)
    ctx.data[into] = deadline.isoformat()


def _reading(action: str, ctx: ActionContext) -> MeterReading:
    reading = _payload(action, ctx, MeterReading)
    if reading.opm != ctx.key:
        raise rejected(action, f"payload.opm is {reading.opm!r}, but the instance key is {ctx.key!r}")
    return reading


@ACTIONS.register("order_final_bill")
async def order_final_bill(ctx: ActionContext, params: Mapping[str, Any]) -> None:
    """On the final ``meter.reading``: ask billing for the final bill of a contract whose supply ended.
    ``reason`` loss, move_out or change_of_customer; ``contract``, ``account``, ``last_day`` name data
    fields (defaults: contract, account, last_day). Stores data.final_reading_id."""
    action = "order_final_bill"
    no_params(action, params, ("reason", "contract", "account", "last_day"))
    reason = param_choice(action, params, "reason", SUPPLY_ENDS)
    reading = _reading(action, ctx)
    data = ctx.data
    body = FinalBillOrdered(
        opm=ctx.key, commodity=reading.commodity,
        contract=data_text(action, data, param_field(action, params, "contract", "contract")),
        account=data_text(action, data, param_field(action, params, "account", "account")),
        last_day=data_date(action, data, param_field(action, params, "last_day", "last_day")),
        reading_id=reading.reading_id, reason=cast(SupplyEnd, reason), process=_process(ctx),
    )
    ctx.emit(PROCESS_EVENTS.name, body)
    data["final_reading_id"] = reading.reading_id


def _optional_text(action: str, ctx: ActionContext, params: Mapping[str, Any], name: str) -> str | None:
    """A parameter naming a data field with a text, or null in the YAML: no such thing (last resort)."""
    if name in params and params[name] is None:
        return None
    return data_text(action, ctx.data, param_field(action, params, name, name))


@ACTIONS.register("note_initial_reading")
async def note_initial_reading(ctx: ActionContext, params: Mapping[str, Any]) -> None:
    """On the ``meter.reading`` at the start of our supply: tell billing it opens the first period.
    ``reason`` (default data.start_reason) switch, move_in, from_last_resort, change_of_customer or
    last_resort; ``contract`` and ``account`` name data fields, or are null (last resort: no contract
    yet); ``first_day`` names the data field of the first day (default date_from). Stores
    data.initial_reading_id."""
    action = "note_initial_reading"
    no_params(action, params, ("reason", "contract", "account", "first_day"))
    if "reason" in params:
        reason = param_choice(action, params, "reason", SUPPLY_STARTS)
    else:
        reason = data_choice(action, ctx.data, "start_reason", SUPPLY_STARTS)
    reading = _reading(action, ctx)
    body = InitialReading(
        opm=ctx.key, commodity=reading.commodity,
        contract=_optional_text(action, ctx, params, "contract"),
        account=_optional_text(action, ctx, params, "account"),
        first_day=data_date(action, ctx.data, param_field(action, params, "first_day", "date_from")),
        reading_id=reading.reading_id, reason=cast(SupplyStart, reason), process=_process(ctx),
    )
    ctx.emit(PROCESS_EVENTS.name, body)
    ctx.data["initial_reading_id"] = reading.reading_id
