"""The simulator end to end: our outbound transport sends over mTLS, the simulator answers and later calls our
callback service (mTLS, signed); what arrives is read from the ``ote.inbound`` outbox rows the callback wrote
after verifying each signature against the simulator's signing CA.
"""

from __future__ import annotations

import datetime as dt
import uuid

import aiohttp
import msgspec
import pytest

from connectors.ote import codec, soap
from connectors.ote.inbound import REASON_ACCEPTED, REASON_UNDECODABLE
from connectors.ote.simulator import SwitchStatus, callback_url, codes, start_simulator
from connectors.ote.simulator.outbox import Delivery
from connectors.ote.transport import client_ssl_context
from schemas.ote import (
    Commodity,
    Envelope,
    MasterData,
    MasterDataItem,
    MeteredElectricity,
    Party,
    Response,
    SwitchAnswer,
    SwitchRequest,
)
from schemas.ote.common import CHANGE_REASON_LAST_RESORT, CHANGE_REASON_OBJECTION, CHANGE_REASON_SWITCH
from tests.connectors.ote.simulator.conftest import (
    COMPETITOR,
    GAS_THEIRS,
    LAST_RESORT,
    OTE_EAN,
    OURS,
    THEIRS,
    US,
    Market,
    ean,
    prague,
    seed,
)
from tests.http.support import wait_for

SWITCH_DATE = dt.date(2027, 1, 1)


def envelope(code: str = "150", sender: str = US) -> Envelope:
    return Envelope(
        id=uuid.uuid4().hex, message_code=code, date_time=dt.datetime(2026, 11, 30, 9, 0),
        sender=Party(ean=sender), receiver=Party(ean=OTE_EAN),
    )


def switch_request(opm: str = THEIRS, date_from: dt.date = SWITCH_DATE) -> SwitchRequest:
    return SwitchRequest(
        envelope=envelope(), commodity=Commodity.electricity, opm=opm, supplier_ean=US,
        balance_responsible_ean=US, date_from=date_from, contract_type="DOD",
    )


def accepted(response: object) -> bool:
    reasons = getattr(response, "reasons", ())
    return [reason.code for reason in reasons] == [REASON_ACCEPTED.code]


async def test_switch_is_accepted_and_takes_effect_end_to_end(market: Market) -> None:
    request = switch_request()
    assert accepted(await market.send(request))

    # The competitor (played by the simulator) is told at once; we hear nothing before the deadline.
    await market.due()
    (notice,) = market.kept(COMPETITOR)
    assert isinstance(notice, MasterData)
    assert notice.items[0].change_reason == CHANGE_REASON_SWITCH and notice.items[0].supplier_ean == US
    assert await market.received() == []

    # [I] The objection window closes at 10:00 of the 5th working day before 1 January: 23 December.
    await market.due(prague(2026, 12, 23, 9, 59))
    assert await market.received() == []
    await market.due(prague(2026, 12, 23, 10, 0))
    (answer,) = await market.received()
    assert answer["type"] == "switch-answer" and answer["accepted"] is True
    assert answer["reference_id"] == request.envelope.id and answer["date_from"] == "2027-01-01"
    assert answer["previous_supplier_ean"] == COMPETITOR

    summary = await market.due(prague(2027, 1, 1))
    assert summary.delivered == 2
    confirmation, reading = await market.received()
    assert confirmation["type"] == "masterdata" and confirmation["items"][0]["supplier_ean"] == US
    assert reading["type"] == "metered-electricity"
    (opening,) = reading["readings"]
    assert opening["reading_reason"] == codes.READING_REASON_SWITCH and opening["date_from"] == "2027-01-01"
    assert all(r["start_state_kwh"] == r["end_state_kwh"] for r in opening["registers"])
    assert market.handle.simulator.registry.opm(THEIRS).supplier_ean == US
    (switch,) = market.handle.simulator.registry.switches.values()
    assert switch.status is SwitchStatus.done
    # The competitor got the new master data and its closing reading, up to 31 December.
    closing = market.kept(COMPETITOR)[-1]
    assert isinstance(closing, MeteredElectricity)
    assert closing.readings[0].date_to == dt.date(2026, 12, 31)
    assert str(closing.readings[0].registers[0].end_state_kwh) == opening["registers"][0]["end_state_kwh"]
    assert await market.dead_letters() == 0, "every signature held"


async def test_late_request_is_rejected_counting_czech_holidays(market: Market) -> None:
    # The deadline for 1 January 2027 is 16 December 10:00: Christmas Eve and Christmas Day (24, 25 Dec)
    # and New Year's Day are no working days. Without them it would be the 18th, and this request in time.
    market.clock.set(prague(2026, 12, 17, 9, 0))
    request = switch_request()
    assert accepted(await market.send(request)), "received: the answer says no"
    await market.due()
    (answer,) = await market.received()
    assert answer["type"] == "switch-answer" and answer["accepted"] is False
    assert answer["rejection_reason"] == codes.REJECT_LATE and answer["reference_id"] == request.envelope.id
    assert market.kept(COMPETITOR) == [], "the losing supplier hears nothing of a refused request"


async def test_request_by_the_deadline_is_in_time(market: Market) -> None:
    market.clock.set(prague(2026, 12, 16, 10, 0))
    assert accepted(await market.send(switch_request()))
    await market.due()
    assert (await market.received()) == []
    (switch,) = market.handle.simulator.registry.switches.values()
    assert switch.status is SwitchStatus.pending


async def test_objection_of_the_losing_supplier_rejects_with_are(market: Market) -> None:
    assert accepted(await market.send(switch_request()))
    objection = MasterData(
        envelope=envelope("158", sender=COMPETITOR), commodity=Commodity.electricity,
        items=(MasterDataItem(opm=THEIRS, valid_from=SWITCH_DATE, change_reason=CHANGE_REASON_OBJECTION,
                              rejection_reason="ARE"),),
    )
    assert market.handle.simulator.receive(objection, family="masterdata") is None
    await market.due(prague(2026, 12, 23, 10, 0))
    (answer,) = await market.received()
    assert answer["accepted"] is False and answer["rejection_reason"] == "ARE"
    await market.due(prague(2027, 1, 1))
    assert await market.received() == []
    assert market.handle.simulator.registry.opm(THEIRS).supplier_ean == COMPETITOR


async def test_we_object_as_the_losing_supplier(market: Market) -> None:
    simulator = market.handle.simulator
    foreign = SwitchRequest(
        envelope=envelope(sender=COMPETITOR), commodity=Commodity.electricity, opm=OURS,
        supplier_ean=COMPETITOR, balance_responsible_ean=COMPETITOR, date_from=SWITCH_DATE,
        contract_type="DOD",
    )
    assert simulator.receive(foreign, family="switch-request") is None
    await market.due()
    (notice,) = await market.received()
    assert notice["type"] == "masterdata" and notice["items"][0]["change_reason"] == CHANGE_REASON_SWITCH
    objection = MasterData(
        envelope=envelope("158"), commodity=Commodity.electricity,
        items=(MasterDataItem(opm=OURS, valid_from=SWITCH_DATE, change_reason=CHANGE_REASON_OBJECTION,
                              rejection_reason="ARE"),),
    )
    assert accepted(await market.send(objection))
    await market.due(prague(2026, 12, 23, 10, 0))
    (kept,) = await market.received()
    assert kept["type"] == "masterdata"
    (item,) = kept["items"]
    assert (item["change_reason"], item["supplier_ean"], item["valid_from"]) == ("OBJ", US, "2027-01-01")
    answer = market.kept(COMPETITOR)[-1]
    assert isinstance(answer, SwitchAnswer) and answer.accepted is False and answer.rejection_reason == "ARE"


async def test_unknown_opm_is_rejected(market: Market) -> None:
    unknown = ean("85918240098765432")
    assert accepted(await market.send(switch_request(opm=unknown)))
    await market.due()
    (answer,) = await market.received()
    assert answer["accepted"] is False and answer["rejection_reason"] == codes.REJECT_UNKNOWN_OPM


async def test_unreadable_message_gets_a_negative_response_and_a_non_envelope_a_fault(market: Market) -> None:
    broken = b'<CDSMASTERDATA xmlns="http://www.ote-cr.cz/schema/cds/masterdata" id="X1" message-code="150"/>'
    response = codec.decode_as(await market.transport.send(broken), Response)
    (reason,) = response.reasons
    assert (reason.code, reason.type) == (REASON_UNDECODABLE, "A02") and response.reference_id == "X1"
    assert response.envelope.receiver.ean == OTE_EAN, "no sender to address: the operator stands in"

    request = switch_request()
    wrong = msgspec.structs.replace(request, supplier_ean=COMPETITOR)
    (reason,) = (await market.send(wrong)).reasons
    assert reason.code == codes.REASON_NOT_SENDER

    context = client_ssl_context(
        cert_path=str(market.pki.proud_client.cert_path), key_path=str(market.pki.proud_client.key_path),
        ca_bundle_path=str(market.pki.tls_ca.cert_path),
    )
    async with (
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context)) as session,
        session.post(market.handle.cds_url, data=b"not a soap envelope") as reply,
    ):
        assert reply.status == 500
        with pytest.raises(soap.SoapFault, match="soap:Client"):
            soap.unwrap(await reply.read())


async def test_callback_down_then_up_is_retried_and_delivered(market: Market) -> None:
    await market.stop_callback()
    market.clock.set(prague(2026, 12, 17, 9, 0))
    assert accepted(await market.send(switch_request()))  # late: answered at once
    summary = await market.due()
    assert (summary.delivered, summary.retrying) == (0, 1)
    (entry,) = market.handle.simulator.outbox.entries(Delivery.pending)
    assert entry.attempts == 1 and entry.last_error is not None
    await market.start_callback()
    assert (await market.due()).delivered == 0, "not before its backoff"
    assert (await market.due(market.clock.now() + dt.timedelta(seconds=2))).delivered == 1
    (answer,) = await market.received()
    assert answer["rejection_reason"] == codes.REJECT_LATE
    assert entry.status is Delivery.delivered and entry.attempts == 2


async def test_failing_supplier_goes_to_the_supplier_of_last_resort(market: Market) -> None:
    simulator = market.handle.simulator
    # We play the supplier of last resort here: our callback receives its messages.
    simulator.registry.participant(LAST_RESORT).callback_url = simulator.registry.participant(US).callback_url
    assert simulator.fail_supplier(COMPETITOR) == 2
    await market.due()
    electricity, gas = await market.received()
    for announcement, opm in ((electricity, THEIRS), (gas, GAS_THEIRS)):
        (item,) = announcement["items"]
        assert announcement["type"] == "masterdata" and item["opm"] == opm
        assert item["change_reason"] == CHANGE_REASON_LAST_RESORT and item["supplier_ean"] == LAST_RESORT
        assert item["valid_from"] == "2026-12-01"
    assert simulator.registry.opm(THEIRS).supplier_ean == COMPETITOR, "only from tomorrow"

    await market.due(prague(2026, 12, 1))
    (opening,) = await market.received()
    assert opening["type"] == "metered-electricity" and opening["readings"][0]["opm"] == THEIRS
    assert {opm.code for opm in simulator.registry.supplied_by(LAST_RESORT)} == {THEIRS, GAS_THEIRS}
    assert await market.dead_letters() == 0


async def test_auto_mode_delivers_without_being_asked(market: Market) -> None:
    """A second simulator in auto mode (as in the demo), calling the same callback on the same clock."""
    market.clock.set(prague(2026, 12, 17, 9, 0))
    handle = await start_simulator(
        market.pki.tls_ca.cert_path.parent, clock=market.clock, auto_interval_s=0.05,
        seed=seed(callback_url("127.0.0.1", market.callback_port)),
    )
    try:
        assert handle.simulator.receive(switch_request(), family="switch-request") is None

        async def arrived() -> list[dict[str, object]] | None:
            return await market.received() or None

        (answer,) = await wait_for(arrived, "the auto mode's switch answer", wait_s=10)
        assert answer["rejection_reason"] == codes.REJECT_LATE
    finally:
        await handle.stop()
