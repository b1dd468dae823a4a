"""Supplier switching end to end (issue 5): the real daemon on PostgreSQL and Kafka with the real machines of
``rules/machines``, against the OTE simulator over mTLS, signed both ways, on one manual clock.

    contract ─ intake ─ switch_gain ─ ote.send ─ sender ══mTLS══▶ simulator
    simulator ══mTLS, signed══▶ callback ─ ote.inbound ─┬─ translator ─ switch.events ─▶ machines
                                                       └─ readings ─ rd_reading, meter.readings ─▶ machines

Scenarios: gain, loss (and an objection), přepis, a late request (our machine; and the simulator's refusal
of a request delayed past its deadline), a message with a bad signature, CS OTE unreachable then back.
Every scenario starts on Monday 30 November 2026, 09:00 in Prague (``market.START``).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import sqlalchemy as sa

from connectors.ote import codec, soap
from connectors.ote.archive import GROUP_ID as CALLBACK_GROUP
from connectors.ote.inbound import REASON_SIGNATURE, REASON_TYPE_REJECTED
from connectors.ote.pki import make_simulator_pki
from connectors.ote.simulator import SwitchStatus, callback_url, messages
from connectors.ote.simulator.core import LogEntry
from connectors.ote.simulator.registry import Switch
from connectors.ote.tables import ote_archive
from connectors.ote.topics import OTE_INBOUND, OTE_OUTBOUND
from connectors.ote.transport import client_ssl_context
from gateway.process.topics import PROCESS_EVENTS
from gateway.store.tables import dead_letter
from gateway.switching.config import OTE_EAN
from schemas.ote import Commodity, Response, SwitchAnswer
from schemas.ote.common import OteMessage
from schemas.ote.events import OteReceived
from schemas.switching import FinalBillOrdered, InitialReading
from tests.masterdata.supply_helpers import new_ean
from tests.scenarios.market import COMPETITOR, US, Stack, prague, wait_for

SWITCH_DATE = dt.date(2027, 1, 1)
#: [I] The objection window of a switch on 1 January 2027 closes at 10:00 of the 5th working day before: the
#: simulator answers the new supplier then.
ANSWER_AT = prague(2026, 12, 23, 10, 0)


async def sign_for_switch(stack: Stack, opm: str, **changes: object) -> tuple[str, str]:
    """Master data, a contract switching ``opm`` (the competitor's in the simulator) to us on
    ``SWITCH_DATE`` unless ``changes`` say otherwise; the contract number and the account."""
    await stack.add_sim_opm(opm, supplier=COMPETITOR)
    await stack.opm(opm)
    parties = await stack.parties()
    terms: dict[str, object] = {
        "signed_on": dt.date(2026, 11, 30), "valid_from": SWITCH_DATE, "start_reason": "switch", **changes,
    }
    return await stack.contract(parties, opm, **terms), parties.account


async def gain_accepted(stack: Stack, opm: str) -> tuple[str, str, str]:
    """A gain up to CS OTE's acceptance; the contract, the account and our request id."""
    contract, account = await sign_for_switch(stack, opm)
    # The window is open (3 months before) and the deadline (16 December) ahead: the request goes at once.
    requested = await stack.reaches(opm, "switch_gain", "requested")
    data = requested["data"]
    assert (data["contract"], data["date_from"], data["late"]) == (contract, "2027-01-01", False)

    async def at_the_simulator() -> list[Switch] | None:
        return list(stack.simulator.simulator.registry.switches.values()) or None

    (switch,) = await wait_for(at_the_simulator, "the switch request at the simulator")
    assert (switch.opm, switch.request_id, switch.new_supplier_ean) == (opm, data["request_id"], US)
    assert switch.previous_supplier_ean == COMPETITOR and switch.status is SwitchStatus.pending

    # Nothing is answered before the objection deadline; then the signed answer reaches our callback.
    await stack.deliver(prague(2026, 12, 23, 9, 59))
    assert (await stack.process(opm, "switch_gain") or {})["state"] == "requested"
    await stack.deliver(ANSWER_AT)
    await stack.reaches(opm, "switch_gain", "accepted")
    return contract, account, data["request_id"]


async def test_gain_request_accepted_supply_starts_opening_reading(stack: Stack) -> None:
    opm = new_ean()
    contract, account, _request_id = await gain_accepted(stack, opm)

    # Midnight of the switch date: our timer starts the supply, then the simulator's opening reading comes.
    stack.advance_to(prague(2027, 1, 1, 0, 0))
    await stack.reaches(opm, "switch_gain", "supplying")
    await stack.deliver()
    supplied = await stack.reaches(opm, "switch_gain", "supplied")

    (reading,) = await stack.readings(opm)
    assert (reading.reason, reading.date_from, reading.date_to) == ("switch", SWITCH_DATE, SWITCH_DATE)
    assert supplied["data"]["initial_reading_id"] == reading.id
    (initial,) = await stack.payloads(PROCESS_EVENTS.name, opm, InitialReading)
    assert (initial.contract, initial.account, initial.first_day, initial.reason, initial.reading_id) == (
        contract, account, SWITCH_DATE, "switch", reading.id
    )
    assert stack.simulator.simulator.registry.opm(opm).supplier_ean == US
    assert [entry.family for entry in stack.received_from_us(opm)] == ["switch-request"]
    # CS OTE answered at the objection deadline, before our no_answer timer (10:00, 29 December): no task.
    assert [h["to_state"] for h in supplied["history"]] == [
        "signed", "waiting_for_window", "requested", "accepted", "supplying", "supplied"
    ]


# --- loss ------------------------------------------------------------------------------------------------


async def our_supply(stack: Stack, opm: str, **changes: object) -> tuple[str, str]:
    """An OPM we supply (in the simulator and in master data: a contract since 1 January 2026, an imported
    book, so no gain starts); the contract number and the account."""
    await stack.add_sim_opm(opm, supplier=US)
    await stack.opm(opm)
    parties = await stack.parties()
    terms: dict[str, object] = {
        "signed_on": dt.date(2025, 12, 1), "valid_from": dt.date(2026, 1, 1), "start_reason": "switch",
        **changes,
    }
    return await stack.contract(parties, opm, **terms), parties.account


async def competitor_requests(stack: Stack, opm: str) -> dict[str, Any]:
    """The competitor asks CS OTE for ``opm`` from ``SWITCH_DATE``; our switch_loss instance once notified."""
    answer = await stack.control("POST", "/switches", {
        "opm": opm, "supplier_ean": COMPETITOR, "date_from": SWITCH_DATE.isoformat(),
    })
    assert answer["refusal"] is None, answer
    await stack.deliver()  # the loss notice (MasterData SWI) to our callback
    return await stack.reaches(opm, "switch_loss", "objection_window")


def sent_to_competitor(stack: Stack, opm: str) -> list[OteMessage]:
    """What the simulator wrote to the competitor (it plays it, so it keeps its messages) about ``opm``."""
    entries = stack.simulator.simulator.outbox.entries()
    return [
        codec.decode(entry.xml) for entry in entries
        if entry.receiver_ean == COMPETITOR and entry.opm == opm and entry.xml is not None
    ]


async def test_loss_no_objection_final_reading_final_bill(stack: Stack) -> None:
    opm = new_ean()
    contract, account = await our_supply(stack, opm)
    notified = await competitor_requests(stack, opm)
    data = notified["data"]
    assert (data["contract"], data["account"], data["new_supplier_ean"]) == (contract, account, COMPETITOR)
    assert (data["date_from"], data["last_day"]) == ("2027-01-01", "2026-12-31")
    assert data["objection_deadline"] == ANSWER_AT.isoformat()

    # No objection: the window closes, the competitor is accepted, and supply ends at midnight.
    await stack.deliver(ANSWER_AT)
    await stack.reaches(opm, "switch_loss", "losing")
    (answer,) = [m for m in sent_to_competitor(stack, opm) if isinstance(m, SwitchAnswer)]
    assert answer.accepted is True and answer.previous_supplier_ean == US
    stack.advance_to(prague(2027, 1, 1, 0, 0))
    await stack.reaches(opm, "switch_loss", "waiting_final_reading")
    await stack.deliver()  # the new master data and our closing reading up to 31 December
    lost = await stack.reaches(opm, "switch_loss", "lost")

    (reading,) = await stack.readings(opm)
    assert (reading.reason, reading.date_to) == ("switch", dt.date(2026, 12, 31))
    assert lost["data"]["final_reading_id"] == reading.id
    (bill,) = await stack.payloads(PROCESS_EVENTS.name, opm, FinalBillOrdered)
    assert (bill.contract, bill.account, bill.last_day, bill.reason, bill.reading_id) == (
        contract, account, dt.date(2026, 12, 31), "loss", reading.id
    )
    assert stack.simulator.simulator.registry.opm(opm).supplier_ean == COMPETITOR
    # No objection, so nothing of ours went to CS OTE (the machine sends only from `objected`).
    assert [h["to_state"] for h in lost["history"]] == [
        "notified", "objection_window", "losing", "waiting_final_reading", "lost"
    ]


async def test_loss_objection_through_the_api_rejects_the_competitor_with_are(stack: Stack) -> None:
    opm = new_ean()
    await our_supply(stack, opm)
    await competitor_requests(stack, opm)

    queued = await stack.api("POST", f"/api/switching/{opm}/objection", {"note": "customer withdrew"}, 202)
    assert queued["reason_code"] == "ARE"
    objected = await stack.reaches(opm, "switch_loss", "objected")

    async def objection_at_the_simulator() -> list[LogEntry] | None:
        return stack.received(objected["data"]["objection_id"]) or None

    (received,) = await wait_for(objection_at_the_simulator, "our objection at the simulator")
    assert (received.family, received.note) == ("masterdata", "masterdata accepted")

    # At the deadline CS OTE rejects the competitor's request with ARE and tells us we keep the OPM.
    await stack.deliver(ANSWER_AT)
    await stack.reaches(opm, "switch_loss", "kept")
    (answer,) = [m for m in sent_to_competitor(stack, opm) if isinstance(m, SwitchAnswer)]
    assert (answer.accepted, answer.rejection_reason) == (False, "ARE")
    (switch,) = [s for s in stack.simulator.simulator.registry.switches.values() if s.opm == opm]
    assert switch.status is SwitchStatus.rejected
    await stack.deliver(prague(2027, 1, 1, 0, 0))
    assert stack.simulator.simulator.registry.opm(opm).supplier_ean == US


# --- přepis ----------------------------------------------------------------------------------------------


async def test_change_of_customer_cus_reading_at_the_change_bills_both(stack: Stack) -> None:
    opm = new_ean()
    previous, previous_account = await our_supply(stack, opm, valid_to=dt.date(2026, 12, 31))
    newcomer = await stack.parties()
    contract = await stack.contract(
        newcomer, opm, signed_on=dt.date(2026, 11, 30), valid_from=SWITCH_DATE,
        start_reason="change_of_customer",
    )
    announced = await stack.reaches(opm, "change_of_customer", "announced")
    data = announced["data"]
    assert (data["contract"], data["previous_contract"], data["previous_account"]) == (
        contract, previous, previous_account
    )

    async def notice_at_the_simulator() -> list[LogEntry] | None:
        return stack.received(data["customer_change_id"]) or None

    (received,) = await wait_for(notice_at_the_simulator, "our CUS notice at the simulator")
    assert (received.family, received.note) == ("masterdata", "masterdata accepted")
    await stack.deliver()  # CS OTE's confirmation

    # At midnight of the change the distributor's reading up to the previous customer's last day comes.
    await stack.deliver(prague(2027, 1, 1, 0, 0))
    done = await stack.reaches(opm, "change_of_customer", "done")
    (reading,) = await stack.readings(opm)
    assert (reading.reason, reading.date_to) == ("move", dt.date(2026, 12, 31))
    assert done["data"]["final_reading_id"] == reading.id == done["data"]["initial_reading_id"]
    (bill,) = await stack.payloads(PROCESS_EVENTS.name, opm, FinalBillOrdered)
    assert (bill.contract, bill.account, bill.last_day, bill.reason) == (
        previous, previous_account, dt.date(2026, 12, 31), "change_of_customer"
    )
    (initial,) = await stack.payloads(PROCESS_EVENTS.name, opm, InitialReading)
    assert (initial.contract, initial.account, initial.first_day, initial.reason) == (
        contract, newcomer.account, SWITCH_DATE, "change_of_customer"
    )
    assert await stack.process(opm, "switch_gain") is None, "a přepis is no switch"
    assert stack.simulator.simulator.registry.opm(opm).supplier_ean == US


# --- late ------------------------------------------------------------------------------------------------


async def test_late_contract_goes_to_the_back_office_and_nothing_to_ote(stack: Stack) -> None:
    opm = new_ean()
    # A switch on Monday 7 December needed the request by 10:00 of the 10th working day before (20 Nov).
    contract, _account = await sign_for_switch(stack, opm, valid_from=dt.date(2026, 12, 7))
    late = await stack.reaches(opm, "switch_gain", "late")
    data = late["data"]
    assert data["late"] is True
    earliest = data["earliest_date_from"]
    assert earliest > "2026-12-07"

    async def task() -> list[Any] | None:
        return await stack.activities("contract", contract) or None

    (activity,) = await wait_for(task, "the back-office task about the late contract")
    assert "SWITCH_LATE" in activity.subject and activity.kind == "task" and activity.status == "planned"
    assert f"The earliest switch date still possible is {earliest}" in activity.note
    assert await stack.events(OTE_OUTBOUND.name, opm) == [], "no request was sent"
    assert stack.received_from_us(opm) == []


# --- bad signature ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("forgery", ["foreign key", "tampered"])
async def test_bad_signature_is_refused_archived_and_dead_lettered(
    stack: Stack, forgery: str, tmp_path: Path
) -> None:
    opm = new_ean()
    await stack.opm(opm)
    simulator = stack.simulator
    answer = messages.switch_answer(
        operator=OTE_EAN, receiver=US, now=stack.clock.now(), commodity=Commodity.electricity,
        reference_id="PRD-NOT-OURS", opm=opm, accepted=True, date_from=SWITCH_DATE,
        previous_supplier_ean=COMPETITOR,
    )
    if forgery == "foreign key":
        foreign = make_simulator_pki(tmp_path / "foreign")
        signed = messages.Signer(foreign.ote_signer).sign(messages.encode(answer))
    else:
        signed = messages.Signer(simulator.pki.ote_signer).sign(messages.encode(answer))
        signed = signed.replace(b"PRD-NOT-OURS", b"PRD-CHANGED!")
        assert b"PRD-CHANGED!" in signed

    # Posted as CS OTE would: over mTLS with the simulator's client certificate.
    context = client_ssl_context(
        cert_path=str(simulator.pki.ote_client.cert_path), key_path=str(simulator.pki.ote_client.key_path),
        ca_bundle_path=str(simulator.pki.tls_ca.cert_path),
    )
    async with (
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context)) as session,
        session.post(
            callback_url("127.0.0.1", stack.callback_port), data=soap.wrap(signed),
            headers={"Content-Type": soap.CONTENT_TYPE},
        ) as reply,
    ):
        assert reply.status == 200
        body = soap.unwrap(await reply.read())
    assert body is not None
    response = codec.decode_as(body, Response)
    (reason,) = response.reasons
    assert (reason.code, reason.type) == (REASON_SIGNATURE, REASON_TYPE_REJECTED)
    assert response.reference_id == answer.envelope.id

    async with stack.engine.connect() as conn:
        archived = (await conn.execute(
            sa.select(ote_archive).where(ote_archive.c.message_id == answer.envelope.id)
        )).all()
        letters = (await conn.execute(
            sa.select(dead_letter).where(
                dead_letter.c.group_id == CALLBACK_GROUP, dead_letter.c.key == answer.envelope.id
            )
        )).all()
    (row,) = archived
    assert row.direction == "in" and row.raw == soap.wrap(signed)
    (letter,) = letters
    assert letter.reason.startswith(f"{REASON_SIGNATURE}: "), letter.reason
    assert letter.topic == OTE_INBOUND.name and letter.value == row.raw
    inbound = [
        e for e in await stack.events(OTE_INBOUND.name, opm)
        if isinstance(e.payload, OteReceived) and e.payload.message_id == answer.envelope.id
    ]
    assert inbound == [], "nothing of it was published"
    assert (await stack.api("GET", f"/api/switching/{opm}"))["processes"] == []
