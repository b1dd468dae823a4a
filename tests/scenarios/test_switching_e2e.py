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

from connectors.ote.simulator import SwitchStatus
from connectors.ote.simulator.registry import Switch
from gateway.process.topics import PROCESS_EVENTS
from schemas.switching import InitialReading
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
