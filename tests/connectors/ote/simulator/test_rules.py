"""The market rules of the simulator without the network: every participant is played by the simulator
itself (no callback URL), so what it sends stays in its outbox as ``kept``, where the tests read it."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest

from connectors.ote import codec
from connectors.ote.simulator import OteSimulator, SwitchStatus, codes
from connectors.ote.simulator.messages import Signer
from connectors.ote.simulator.outbox import ATTEMPTS_MAX, Delivery, Outbox, backoff
from gateway.clock import ManualClock
from gateway.errors import Conflict, InvalidField
from gateway.switching.deadlines import SwitchProfile
from schemas.ote import (
    Commodity,
    Envelope,
    MasterData,
    MasterDataItem,
    MeteredElectricity,
    MeteredGas,
    Party,
    SwitchAnswer,
    SwitchRequest,
)
from schemas.ote.common import (
    CHANGE_REASON_CANCEL,
    CHANGE_REASON_CUSTOMER,
    CHANGE_REASON_END,
    CHANGE_REASON_OBJECTION,
    OteMessage,
)
from tests.connectors.ote.simulator.conftest import (
    COMPETITOR,
    GAS_THEIRS,
    LAST_RESORT,
    OTE_EAN,
    OURS,
    START,
    THEIRS,
    US,
    VACANT,
    prague,
    seed,
)


def make(profile: SwitchProfile = SwitchProfile.standard, *, prompt_answers: bool = False) -> OteSimulator:
    return OteSimulator(
        clock=ManualClock(START), signer=Signer(None), profile=profile, seed=seed(None),
        prompt_answers=prompt_answers,
    )


def envelope(sender: str = US, receiver: str = OTE_EAN) -> Envelope:
    return Envelope(
        id=uuid.uuid4().hex, message_code="150", date_time=dt.datetime(2026, 11, 30, 9, 0),
        sender=Party(ean=sender), receiver=Party(ean=receiver),
    )


def request(
    opm: str = THEIRS,
    date_from: dt.date = dt.date(2027, 1, 1),
    supplier: str = US,
    switch_type: str | None = None,
) -> SwitchRequest:
    commodity = Commodity.gas if opm == GAS_THEIRS else Commodity.electricity
    return SwitchRequest(
        envelope=envelope(supplier), commodity=commodity, opm=opm, supplier_ean=supplier,
        balance_responsible_ean=supplier, date_from=date_from, contract_type="DOD", switch_type=switch_type,
    )


def notice(
    reason: str, opm: str, *, sender: str = US, valid_from: dt.date = dt.date(2027, 1, 1),
    valid_to: dt.date | None = None,
) -> MasterData:
    item = MasterDataItem(opm=opm, valid_from=valid_from, valid_to=valid_to, change_reason=reason)
    return MasterData(envelope=envelope(sender), commodity=Commodity.electricity, items=(item,))


def misaddressed() -> MasterData:
    item = MasterDataItem(opm=OURS, valid_from=dt.date(2027, 1, 1))
    return MasterData(envelope=envelope(receiver=US), commodity=Commodity.electricity, items=(item,))


def sent(simulator: OteSimulator, receiver: str) -> list[OteMessage]:
    return [
        codec.decode(entry.xml) for entry in simulator.outbox.entries()
        if entry.receiver_ean == receiver and entry.xml is not None
    ]


async def due(simulator: OteSimulator, at: dt.datetime) -> None:
    clock = simulator.clock
    assert isinstance(clock, ManualClock)
    clock.set(at)
    await simulator.process_due()


def answer_of(simulator: OteSimulator, receiver: str = US) -> SwitchAnswer:
    answers = [message for message in sent(simulator, receiver) if isinstance(message, SwitchAnswer)]
    assert len(answers) == 1, answers
    return answers[0]


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (request(date_from=dt.date(2027, 4, 1)), codes.REJECT_EARLY),
        (request(date_from=dt.date(2026, 12, 10)), codes.REJECT_LATE),
        (request(opm=OURS), codes.REJECT_ALREADY_SUPPLIER),
        (request(opm=THEIRS, switch_type="R1"), codes.REJECT_OCCUPIED),
        (request(opm=GAS_THEIRS), None),
    ],
)
async def test_requests_are_checked(message: SwitchRequest, reason: str | None) -> None:
    simulator = make()
    assert simulator.receive(message, family="switch-request") is None
    await simulator.process_due()
    if reason is None:
        assert simulator.registry.active_switch(message.opm) is not None
        return
    answer = answer_of(simulator)
    assert (answer.accepted, answer.rejection_reason) == (False, reason)
    assert answer.date_from is None and simulator.registry.active_switch(message.opm) is None


async def test_second_request_is_pending_or_duplicate_and_a_resent_message_is_not_applied() -> None:
    simulator = make()
    first = request()
    assert simulator.receive(first, family="switch-request") is None
    assert simulator.receive(first, family="switch-request") is None, "the same message again: acknowledged"
    assert len(simulator.registry.switches) == 1
    again = request()  # the same switch under a new message id
    other = request(supplier=LAST_RESORT)
    for message in (again, other):
        assert simulator.receive(message, family="switch-request") is None
    answers = [m for m in sent(simulator, US) + sent(simulator, LAST_RESORT) if isinstance(m, SwitchAnswer)]
    assert [a.rejection_reason for a in answers] == [codes.REJECT_DUPLICATE, codes.REJECT_PENDING]


async def test_move_in_is_answered_at_once_and_has_the_24_hour_window() -> None:
    simulator = make()
    message = request(opm=VACANT, date_from=dt.date(2026, 12, 1), switch_type="R1")
    assert simulator.receive(message, family="switch-request") is None
    await simulator.process_due()
    answer = answer_of(simulator)
    assert answer.accepted and answer.previous_supplier_ean is None
    assert answer.date_from == dt.date(2026, 12, 1)
    await due(simulator, prague(2026, 12, 1))
    confirmation, opening = sent(simulator, US)[1:]
    assert isinstance(confirmation, MasterData) and confirmation.items[0].supplier_ean == US
    assert isinstance(opening, MeteredElectricity) and opening.readings[0].reading_reason == "SW"
    assert simulator.registry.opm(VACANT).supplier_ean == US


async def test_gas_switch_closes_with_end_of_contract_daily_values() -> None:
    simulator = make()
    assert simulator.receive(request(opm=GAS_THEIRS), family="switch-request") is None
    await due(simulator, prague(2026, 12, 23, 10))
    assert answer_of(simulator).accepted
    await due(simulator, prague(2027, 1, 1))
    closing = sent(simulator, COMPETITOR)[-1]
    assert isinstance(closing, MeteredGas) and closing.segment == "EOC"
    assert (closing.period_from, closing.period_to) == (dt.date(2026, 11, 30), dt.date(2026, 12, 31))
    assert len(closing.meters[0].days) == 32
    assert simulator.registry.opm(GAS_THEIRS).supplier_ean == US


async def test_leaving_the_supplier_of_last_resort_has_the_shorter_deadline() -> None:
    simulator = make()
    simulator.fail_supplier(COMPETITOR)
    await due(simulator, prague(2026, 12, 17, 9))
    # Standard: 16 December was the last day for 1 January. From the last resort: 5 working days, 23 Dec.
    assert simulator.receive(request(), family="switch-request") is None
    (switch,) = simulator.registry.switches.values()
    assert switch.previous_supplier_ean == LAST_RESORT and switch.status is SwitchStatus.pending
    assert switch.answer_at == prague(2026, 12, 29, 10), "[I] objections until 3 working days before"


async def test_prompt_answers_do_not_wait_for_the_objection_deadline() -> None:
    simulator = make(prompt_answers=True)
    assert simulator.receive(request(), family="switch-request") is None
    await simulator.process_due()
    assert answer_of(simulator).accepted and len(sent(simulator, COMPETITOR)) == 1, "still notified"


async def test_objection_deadline_follows_the_profile_and_a_late_objection_is_refused() -> None:
    simulator = make(SwitchProfile.hours_24)
    # 24-hour profile: by 10:00 of the working day before; objections until 18:00 that day.
    assert simulator.receive(request(date_from=dt.date(2026, 12, 2)), family="switch-request") is None
    (switch,) = simulator.registry.switches.values()
    assert switch.answer_at == prague(2026, 12, 1, 18, 0)
    await due(simulator, prague(2026, 12, 1, 18, 1))
    objection = notice(CHANGE_REASON_OBJECTION, THEIRS, sender=COMPETITOR)
    refusal = simulator.receive(objection, family="masterdata")
    assert refusal is not None and refusal[0] == codes.NOTICE_LATE
    assert answer_of(simulator).accepted


async def test_cancellation_withdraws_the_switch_and_tells_both_sides() -> None:
    simulator = make()
    assert simulator.receive(request(), family="switch-request") is None
    assert simulator.receive(notice(CHANGE_REASON_CANCEL, THEIRS), family="masterdata") is None
    (switch,) = simulator.registry.switches.values()
    assert switch.status is SwitchStatus.cancelled
    for receiver in (US, COMPETITOR):
        cancelled = sent(simulator, receiver)[-1]
        assert isinstance(cancelled, MasterData)
        (item,) = cancelled.items
        assert (item.change_reason, item.supplier_ean) == (CHANGE_REASON_CANCEL, COMPETITOR)
    await due(simulator, prague(2027, 1, 1))
    assert not [m for m in sent(simulator, US) if isinstance(m, SwitchAnswer)]
    assert simulator.registry.opm(THEIRS).supplier_ean == COMPETITOR
    refusal = simulator.receive(notice(CHANGE_REASON_CANCEL, THEIRS), family="masterdata")
    assert refusal is not None and refusal[0] == codes.NOTICE_NO_SWITCH


async def test_end_of_supply_is_confirmed_and_ends_with_a_final_reading() -> None:
    simulator = make()
    end = notice(CHANGE_REASON_END, OURS, valid_from=dt.date(2026, 11, 30), valid_to=dt.date(2026, 12, 31))
    assert simulator.receive(end, family="masterdata") is None
    (confirmation,) = sent(simulator, US)
    assert isinstance(confirmation, MasterData)
    assert confirmation.items[0].valid_to == dt.date(2026, 12, 31)
    assert confirmation.items[0].change_reason == CHANGE_REASON_END
    await due(simulator, prague(2027, 1, 1))
    final = sent(simulator, US)[-1]
    assert isinstance(final, MeteredElectricity)
    (reading,) = final.readings
    assert (reading.reading_reason, reading.date_from, reading.date_to) == (
        codes.READING_REASON_FINAL, dt.date(2026, 11, 30), dt.date(2026, 12, 31)
    )
    assert simulator.registry.opm(OURS).supplier_ean is None


async def test_change_of_customer_sends_a_reading_at_its_date() -> None:
    simulator = make()
    change = notice(CHANGE_REASON_CUSTOMER, OURS, valid_from=dt.date(2026, 12, 15))
    assert simulator.receive(change, family="masterdata") is None
    await due(simulator, prague(2026, 12, 15))
    reading = sent(simulator, US)[-1]
    assert isinstance(reading, MeteredElectricity)
    assert reading.readings[0].reading_reason == codes.READING_REASON_CUSTOMER
    assert reading.readings[0].date_to == dt.date(2026, 12, 14)
    assert simulator.registry.opm(OURS).supplier_ean == US


@pytest.mark.parametrize(
    ("message", "code"),
    [
        (notice("SWI", OURS), codes.NOTICE_CHANGE_REASON),
        (notice(CHANGE_REASON_END, THEIRS, valid_to=dt.date(2026, 12, 31)), codes.NOTICE_NOT_SUPPLIER),
        (notice(CHANGE_REASON_END, OURS), codes.NOTICE_DATE),
        (notice(CHANGE_REASON_OBJECTION, THEIRS), codes.NOTICE_NO_SWITCH),
        (misaddressed(), codes.REASON_WRONG_RECEIVER),
        (request(supplier="8591824000014"), codes.REASON_UNKNOWN_SENDER),
    ],
)
def test_notices_that_cannot_be_applied_are_refused(message: OteMessage, code: str) -> None:
    simulator = make()
    assert isinstance(message, MasterData | SwitchRequest)
    refusal = simulator.receive(message, family=str(message.__struct_config__.tag))
    assert refusal is not None and refusal[0] == code, refusal
    assert list(simulator.outbox.entries()) == []


def test_failing_supplier_needs_a_last_resort_that_is_someone_else() -> None:
    simulator = make()
    with pytest.raises(Conflict):
        simulator.fail_supplier(LAST_RESORT)
    simulator.registry.set_last_resort(None)
    with pytest.raises(Conflict):
        simulator.fail_supplier(COMPETITOR)


async def test_periodic_readings_grow_and_are_not_sent_twice() -> None:
    simulator = make()
    clock = simulator.clock
    assert isinstance(clock, ManualClock)
    clock.set(prague(2026, 12, 10, 8))
    assert simulator.send_readings(date_to=None, opms=None, supplier=None) == 3, "two CDSDATA, one GP6"
    electricity = [m for m in sent(simulator, COMPETITOR) if isinstance(m, MeteredElectricity)]
    (theirs,) = electricity[0].readings
    assert (theirs.date_from, theirs.date_to) == (dt.date(2026, 11, 30), dt.date(2026, 12, 9))
    vt = next(r for r in theirs.registers if r.register == "VT")
    assert vt.start_state_kwh == Decimal(1000) and vt.end_state_kwh == vt.start_state_kwh + vt.consumption_kwh
    (gas,) = [m for m in sent(simulator, COMPETITOR) if isinstance(m, MeteredGas)]
    for day in gas.meters[0].days:
        assert day.energy_kwh == (day.volume_m3 * day.calorific_value_kwh_per_m3).quantize(Decimal("0.001"))
        assert Decimal("10.5") < day.calorific_value_kwh_per_m3 < Decimal("10.7")
    assert simulator.send_readings(date_to=None, opms=None, supplier=None) == 0
    with pytest.raises(InvalidField):
        simulator.send_readings(date_to=dt.date(2026, 12, 10), opms=None, supplier=None)


def test_outbox_backs_off_then_parks_a_message_as_failed_and_retry_revives_it() -> None:
    outbox, now = Outbox(), START
    entry = outbox.add(message_id="m1", family="masterdata", message_code="158", receiver_ean=US, opm=None,
                       note="", xml=b"<x/>", now=now, deliverable=True)
    later = outbox.add(message_id="m2", family="masterdata", message_code="158", receiver_ean=US, opm=None,
                       note="", xml=b"<x/>", now=now, deliverable=True)
    assert [e.seq for e in outbox.due(now)[US]] == [entry.seq, later.seq]
    outbox.attempt_failed(entry, now, "down")
    assert outbox.due(now) == {}, "the receiver's queue waits for its first message"
    assert outbox.due(now + backoff(1))[US][0] is entry
    for attempt in range(2, ATTEMPTS_MAX + 1):
        outbox.attempt_failed(entry, now, f"down {attempt}")
    assert entry.status is Delivery.failed and backoff(ATTEMPTS_MAX).total_seconds() <= 300
    assert [e.seq for e in outbox.due(now)[US]] == [later.seq], "a parked message holds nobody up"
    assert outbox.retry(now, entry.seq) == 1 and entry.status is Delivery.pending and entry.attempts == 0
