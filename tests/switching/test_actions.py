"""The switching actions on their own, against a minimal context: what they store and emit, and that bad
parameters or data are refused with a ``HandlerRejected`` naming the field and the value. The machines that
use them are tested by the scenario tests in ``rules/tests/``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import msgspec
import pytest

from connectors.ote import codec
from connectors.ote.topics import OTE_OUTBOUND
from gateway.errors import HandlerRejected
from gateway.process.actions import ACTIONS, ActionContext
from gateway.process.calendar import PRAGUE, WorkingCalendar
from gateway.process.topics import PROCESS_EVENTS
from gateway.switching import actions, config
from gateway.switching.deadlines import SwitchProfile
from schemas.envelope import Envelope, Payload, new_envelope
from schemas.ote import AnyOteMessage, MasterData, SwitchRequest
from schemas.ote.events import OteSend
from schemas.process import TimerFired
from schemas.readings import MeterReading, RegisterValue
from schemas.switching import Attention, ContractSigned, FinalBillOrdered, InitialReading

OPM = "859182400123456789"
NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=PRAGUE)


@dataclass(frozen=True)
class _Machine:
    name: str


class Context:
    """What the engine's ``StepContext`` offers an action, with the emitted messages kept for the test."""

    def __init__(self, body: Payload, data: dict[str, Any] | None = None, *, key: str = OPM) -> None:
        self.data: dict[str, Any] = data if data is not None else {}
        self.now = NOW
        self.key = key
        self.message: Envelope = new_envelope(body, key=key, now=NOW)
        self.calendar = WorkingCalendar()
        self.machine = _Machine("switch_gain")
        self.emitted: list[tuple[str, Payload]] = []

    def emit(self, topic: str, body: Payload, *, key: str | None = None) -> None:
        assert key is None  # every switching message is keyed by the instance's OPM
        self.emitted.append((topic, body))


def signed(**changes: Any) -> ContractSigned:
    fields: dict[str, Any] = {
        "contract": "SML-1", "customer": "ZAK-1", "account": "UCT-1", "opm": OPM, "commodity": "electricity",
        "start_reason": "switch", "signed_on": dt.date(2026, 3, 2), "date_from": dt.date(2026, 4, 1),
        "negotiation": "off_premises",
    }
    return ContractSigned(**{**fields, **changes})


def timer() -> TimerFired:
    return TimerFired(machine="switch_gain", name="window_opens", timer_id=1, due_at=NOW, instance_key=OPM)


def reading(**changes: Any) -> MeterReading:
    fields: dict[str, Any] = {
        "reading_id": 7, "opm": OPM, "commodity": "electricity", "meter_id": "M-1",
        "date_from": dt.date(2026, 3, 1), "date_to": dt.date(2026, 3, 31), "reason": "switch",
        "kind": "actual", "status": "new",
        "registers": (RegisterValue(register="single", consumption_kwh=Decimal("180")),),
    }
    return MeterReading(**{**fields, **changes})


GAIN_DATA: dict[str, Any] = {
    "contract": "SML-1", "account": "UCT-1", "commodity": "electricity", "start_reason": "switch",
    "negotiation": "distance", "date_from": "2026-04-01", "date_to": None, "last_day": "2026-03-31",
}


async def run(name: str, ctx: Context, params: Mapping[str, Any] | None = None) -> None:
    context: ActionContext = ctx  # the fake satisfies the protocol (mypy checks this line)
    await ACTIONS.get(name)(context, params or {})


async def refused(name: str, ctx: Context, params: Mapping[str, Any] | None, match: str) -> None:
    """``match``: what follows the action's name in the message (a regular expression)."""
    with pytest.raises(HandlerRejected, match=rf"^{name}:? {match}"):
        await run(name, ctx, params)
    assert ctx.emitted == []


@pytest.fixture
def profile_24h() -> Iterator[None]:
    before = config.current()
    config.install(config.SwitchingConfig(
        participant_ean=before.participant_ean, operator_ean=before.operator_ean,
        balance_responsible_ean=before.balance_responsible_ean, profile=SwitchProfile.hours_24,
    ))
    yield
    config.install(before)


def test_every_switching_action_is_registered() -> None:
    expected = {"plan_switch", "send_switch_request", "send_masterdata", "attention", "set_deadline",
                "order_final_bill", "note_initial_reading"}
    assert expected <= ACTIONS.names()


async def test_plan_switch_stores_the_contract_and_its_window() -> None:
    ctx = Context(signed())
    await run("plan_switch", ctx)
    assert ctx.data == {
        "contract": "SML-1", "customer": "ZAK-1", "account": "UCT-1", "commodity": "electricity",
        "start_reason": "switch", "negotiation": "off_premises", "date_from": "2026-04-01", "date_to": None,
        "last_day": "2026-03-31", "switch_profile": "standard", "window_opens": "2026-01-01",
        "request_deadline": "2026-03-18T10:00:00+01:00", "answer_due": "2026-03-30T10:00:00+02:00",
        "late": False,
    }
    assert ctx.emitted == []


async def test_plan_switch_late_names_the_earliest_date() -> None:
    ctx = Context(signed(date_from=dt.date(2026, 3, 10)), {"earliest_date_from": "stale"})
    await run("plan_switch", ctx)
    assert ctx.data["late"] is True
    # Saturday 14 March: its 10th working day before is today, Monday 2 March, and it is not 10:00 yet.
    assert ctx.data["earliest_date_from"] == "2026-03-14"


async def test_plan_switch_takes_the_profile_from_the_setting_unless_data_sets_it(profile_24h: None) -> None:
    ctx = Context(signed(date_from=dt.date(2026, 3, 4)))
    await run("plan_switch", ctx)
    assert (ctx.data["switch_profile"], ctx.data["late"]) == ("24h", False)
    ctx = Context(signed(date_from=dt.date(2026, 3, 4)), {"switch_profile": "standard"})
    await run("plan_switch", ctx)
    assert (ctx.data["switch_profile"], ctx.data["late"]) == ("standard", True)


@pytest.mark.parametrize(("body", "data", "params", "match"), [
    (signed(), {"switch_profile": "48h"}, {}, r"data\.switch_profile is '48h', expected standard or 24h"),
    (signed(opm="859182400306885078"), {}, {}, r"payload\.opm is '859182400306885078', but the instance key"),
    (signed(negotiation="phone"), {}, {}, r"payload\.negotiation is 'phone', expected one of off_premises"),
    (signed(), {}, {"profile": "24h"}, r"unknown parameter\(s\) profile \(known: none\)"),
    (timer(), {}, {}, r"runs on a switch\.contract_signed message, not on process\.timer"),
])
async def test_plan_switch_refuses(
    body: Payload, data: dict[str, Any], params: dict[str, Any], match: str
) -> None:
    await refused("plan_switch", Context(body, data), params, match)


async def test_send_switch_request_emits_an_xsd_valid_request() -> None:
    ctx = Context(timer(), {**GAIN_DATA, "start_reason": "move_in"})
    await run("send_switch_request", ctx)
    [(topic, body)] = ctx.emitted
    assert topic == OTE_OUTBOUND.name and isinstance(body, OteSend) and body.process == "switch_gain"
    message = msgspec.convert(body.message, AnyOteMessage)  # as the OTE sender reads it
    assert isinstance(message, SwitchRequest)
    assert message.envelope.id == ctx.data["request_id"] == f"REQ260302090000{OPM}"
    assert (message.switch_type, message.contract_negotiation_type, message.date_from) == (
        "R1", "D", dt.date(2026, 4, 1)
    )
    assert message.envelope.receiver.ean == config.OTE_EAN
    assert b"SwitchRequest" in codec.encode(message)  # passes our working-model XSD


@pytest.mark.parametrize(("data", "key", "match"), [
    ({**GAIN_DATA, "commodity": None}, OPM, r"data\.commodity is None, expected one of electricity, gas"),
    ({k: v for k, v in GAIN_DATA.items() if k != "date_from"}, OPM, r"data\.date_from is missing"),
    ({**GAIN_DATA, "date_from": "1.4.2026"}, OPM, r"data\.date_from is '1\.4\.2026', expected an ISO date"),
    ({**GAIN_DATA, "negotiation": "M"}, OPM, r"data\.negotiation is 'M', expected one of off_premises"),
    (GAIN_DATA, "CA-1001", r"the instance key 'CA-1001' is not an OPM code"),
])
async def test_send_switch_request_refuses(data: dict[str, Any], key: str, match: str) -> None:
    await refused("send_switch_request", Context(timer(), dict(data), key=key), {}, match)


async def test_send_masterdata_objection_carries_are() -> None:
    ctx = Context(timer(), dict(GAIN_DATA))
    await run("send_masterdata", ctx, {"change_reason": "OBJ"})
    [(topic, body)] = ctx.emitted
    assert topic == OTE_OUTBOUND.name and isinstance(body, OteSend)
    message = msgspec.convert(body.message, AnyOteMessage)
    assert isinstance(message, MasterData)
    [item] = message.items
    assert (item.change_reason, item.rejection_reason, item.valid_from) == ("OBJ", "ARE", dt.date(2026, 4, 1))
    assert ctx.data["objection_id"] == message.envelope.id == f"OBJ260302090000{OPM}"
    assert b"Data" in codec.encode(message)


async def test_send_masterdata_end_reads_its_dates_from_the_fields_named() -> None:
    ctx = Context(timer(), {"commodity": "gas", "end_on": "2026-04-30"}, key="27ZG300Z0227838S")
    await run("send_masterdata", ctx, {"change_reason": "END", "valid_from": "end_on", "valid_to": "end_on"})
    [(_topic, body)] = ctx.emitted
    assert isinstance(body, OteSend)
    message = msgspec.convert(body.message, AnyOteMessage)
    assert isinstance(message, MasterData) and message.envelope.message_code == "G13"
    assert (message.items[0].valid_from, message.items[0].valid_to) == (dt.date(2026, 4, 30),) * 2
    assert ctx.data["end_notice_id"] == message.envelope.id


@pytest.mark.parametrize(("params", "match"), [
    ({"change_reason": "SWI"}, r"parameter `change_reason` is 'SWI', expected one of END, CUS, OBJ, CAN"),
    ({"change_reason": "END"}, r"change_reason END needs `valid_to`"),
    ({"change_reason": "CAN", "rejection_reason": "ARE"}, r"`rejection_reason` goes with change_reason OBJ"),
    ({"change_reason": "OBJ", "rejection_reason": "withdrawn"}, r"parameter `rejection_reason` is 'withdra"),
    ({"change_reason": "CUS", "valid_to": "last_day"}, r"valid_to 2026-03-31 is before valid_from 2026-04"),
    ({"change_reason": "CUS", "valid_from": "Date From"}, r"parameter `valid_from` is 'Date From', expected"),
    ({"change_reason": "CUS", "valid_from": "end_on"}, r"data\.end_on is missing"),
    ({"change_reason": "CUS", "reason": "x"}, r"unknown parameter\(s\) reason"),
])
async def test_send_masterdata_refuses(params: dict[str, Any], match: str) -> None:
    await refused("send_masterdata", Context(timer(), dict(GAIN_DATA)), params, match)


async def test_attention_fills_its_text_from_data_payload_and_key() -> None:
    ctx = Context(reading(), {"contract": "SML-1", "date_from": "2026-04-01", "loss": {"alert": True}})
    text = "{contract} from {date_from} at {key}: reading {payload.reading_id}, meter {payload.meter_id}"
    await run("attention", ctx, {"reason_code": "READING_SEEN", "text": text, "when": "loss.alert"})
    assert ctx.emitted == [(PROCESS_EVENTS.name, Attention(
        opm=OPM, process="switch_gain", reason_code="READING_SEEN", contract="SML-1",
        text=f"SML-1 from 2026-04-01 at {OPM}: reading 7, meter M-1",
    ))]


async def test_attention_when_false_emits_nothing() -> None:
    ctx = Context(timer(), {"loss": {"alert": False}})
    await run("attention", ctx, {"reason_code": "LOSS_REVIEW", "text": "{missing}", "when": "loss.alert"})
    assert ctx.emitted == []


@pytest.mark.parametrize(("data", "params", "match"), [
    ({}, {"reason_code": "late", "text": "x"}, r"parameter `reason_code` is 'late', expected a text"),
    ({}, {"reason_code": "SWITCH_LATE"}, r"parameter `text` is None, expected a text"),
    ({}, {"reason_code": "SWITCH_LATE", "text": "by {deadline}"},
     r"text template names \{deadline\}, but data\.deadline is missing"),
    ({}, {"reason_code": "SWITCH_LATE", "text": "{payload.reason}"},
     r"text template names \{payload\.reason\}, but payload\.reason is missing"),
    ({"loss": {"alert": "yes"}}, {"reason_code": "LOSS_REVIEW", "text": "x", "when": "loss.alert"},
     r"data\.loss\.alert is 'yes', expected true or false"),
    ({"contract": 17}, {"reason_code": "SWITCH_LATE", "text": "x"}, r"data\.contract is 17, expected a text"),
])
async def test_attention_refuses(data: dict[str, Any], params: dict[str, Any], match: str) -> None:
    await refused("attention", Context(timer(), data), params, match)


DEADLINE = {"into": "objection_deadline", "from": "date_from",
            "standard": {"working_days_before": 5, "cutoff": "10:00"},
            "24h": {"working_days_before": 1, "cutoff": "18:00"}}


async def test_set_deadline_by_profile() -> None:
    ctx = Context(timer(), {"date_from": "2026-04-08"})
    await run("set_deadline", ctx, DEADLINE)
    assert ctx.data["objection_deadline"] == "2026-03-30T10:00:00+02:00"  # Easter skipped
    ctx = Context(timer(), {"date_from": "2026-04-08", "switch_profile": "24h"})
    await run("set_deadline", ctx, DEADLINE)
    assert ctx.data["objection_deadline"] == "2026-04-07T18:00:00+02:00"


@pytest.mark.parametrize(("params", "match"), [
    ({**DEADLINE, "24h": None}, r"parameter `24h` is None, expected \{working_days_before"),
    ({**DEADLINE, "standard": {"working_days_before": 5, "cutoff": "10"}},
     r"`standard`: parameter `cutoff` is '10', expected a time of day"),
    ({**DEADLINE, "standard": {"working_days_before": -1, "cutoff": "10:00"}},
     r"`standard`: parameter `working_days_before` is -1, expected a whole number 0\.\.2000"),
    ({**DEADLINE, "standard": {"days": 5, "cutoff": "10:00"}}, r"`standard`: unknown parameter\(s\) days"),
    ({**DEADLINE, "from": "switch_date"}, r"data\.switch_date is missing"),
])
async def test_set_deadline_refuses(params: dict[str, Any], match: str) -> None:
    await refused("set_deadline", Context(timer(), {"date_from": "2026-04-08"}), params, match)


async def test_order_final_bill_names_the_contract_and_reading() -> None:
    data = {"previous_contract": "SML-0", "previous_account": "UCT-0", "last_day": "2026-03-31"}
    ctx = Context(reading(), data)
    params = {"reason": "change_of_customer", "contract": "previous_contract", "account": "previous_account"}
    await run("order_final_bill", ctx, params)
    assert ctx.emitted == [(PROCESS_EVENTS.name, FinalBillOrdered(
        opm=OPM, commodity="electricity", contract="SML-0", account="UCT-0", last_day=dt.date(2026, 3, 31),
        reading_id=7, reason="change_of_customer", process="switch_gain",
    ))]
    assert ctx.data["final_reading_id"] == 7


@pytest.mark.parametrize(("body", "data", "params", "match"), [
    (reading(), GAIN_DATA, {"reason": "switch"}, r"parameter `reason` is 'switch', expected one of loss"),
    (timer(), GAIN_DATA, {"reason": "loss"}, r"runs on a meter\.reading message, not on process\.timer"),
    (reading(opm="859182400306885078"), GAIN_DATA, {"reason": "loss"}, r"payload\.opm is '8591824003068"),
    (reading(), {**GAIN_DATA, "account": None}, {"reason": "loss"}, r"data\.account is None, expected a"),
    (reading(), {**GAIN_DATA, "last_day": 20260331}, {"reason": "loss"}, r"data\.last_day is 20260331"),
])
async def test_order_final_bill_refuses(
    body: Payload, data: dict[str, Any], params: dict[str, Any], match: str
) -> None:
    await refused("order_final_bill", Context(body, dict(data)), params, match)


async def test_note_initial_reading_without_a_contract() -> None:
    ctx = Context(reading(), {"date_from": "2026-04-01"})
    await run("note_initial_reading", ctx, {"reason": "last_resort", "contract": None, "account": None})
    assert ctx.emitted == [(PROCESS_EVENTS.name, InitialReading(
        opm=OPM, commodity="electricity", contract=None, account=None, first_day=dt.date(2026, 4, 1),
        reading_id=7, reason="last_resort", process="switch_gain",
    ))]


async def test_note_initial_reading_reason_defaults_to_the_start_reason() -> None:
    ctx = Context(reading(), dict(GAIN_DATA, start_reason="from_last_resort"))
    await run("note_initial_reading", ctx)
    [(_topic, body)] = ctx.emitted
    assert isinstance(body, InitialReading) and body.reason == "from_last_resort" and body.contract == "SML-1"
    assert ctx.data["initial_reading_id"] == 7


@pytest.mark.parametrize(("data", "params", "match"), [
    ({**GAIN_DATA, "start_reason": "loss"}, {}, r"data\.start_reason is 'loss', expected one of switch"),
    (GAIN_DATA, {"contract": "new_contract"}, r"data\.new_contract is missing"),
    (GAIN_DATA, {"first_day": 5}, r"parameter `first_day` is 5, expected a data field name"),
])
async def test_note_initial_reading_refuses(
    data: dict[str, Any], params: dict[str, Any], match: str
) -> None:
    await refused("note_initial_reading", Context(reading(), dict(data)), params, match)


def test_the_actions_module_registers_the_topics_its_machines_read() -> None:
    from gateway.bus.topics import TOPICS

    assert set(actions.MACHINE_TOPICS) <= {spec.name for spec in TOPICS.all(with_dlq=False)}
