"""Supplier switching end to end when CS OTE cannot be reached (issue 5): the request is dead-lettered after
every retry, then replayed once the simulator is back — accepted in time, or rejected as late by CS OTE. The
stack and helpers of ``test_switching_e2e``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from connectors.ote.outbound import OTE_SENDER_GROUP
from connectors.ote.simulator import codes
from connectors.ote.simulator.core import LogEntry
from tests.masterdata.supply_helpers import new_ean
from tests.scenarios.market import RETRY_ATTEMPTS_MAX, Stack, prague, wait_for
from tests.scenarios.test_switching_e2e import ANSWER_AT, sign_for_switch

# --- CS OTE unreachable ----------------------------------------------------------------------------------


async def dead_lettered_request(stack: Stack, opm: str) -> dict[str, Any]:
    """The sender's dead letter of our request for ``opm`` (CS OTE unreachable through every retry)."""
    group = f"{OTE_SENDER_GROUP}.{stack.daemon.group_suffix}"

    async def letter() -> dict[str, Any] | None:
        view = await stack.api("GET", f"/api/ops/dlq?group={group}")
        found = [entry for entry in view["dead_letters"] if entry["key"] == opm]
        return found[0] if found else None

    found = await wait_for(letter, "the dead letter of the unsent switch request")
    assert found["error_type"] == "OteUnavailable" and found["attempts"] == RETRY_ATTEMPTS_MAX, found
    assert stack.daemon.settings.ote_url is not None and stack.daemon.settings.ote_url in found["reason"]
    return found


async def test_ote_unreachable_request_dead_lettered_then_replayed_and_accepted(
    stack_without_ote: Stack,
) -> None:
    stack = stack_without_ote
    opm = new_ean()
    contract, _account = await sign_for_switch(stack, opm)
    requested = await stack.reaches(opm, "switch_gain", "requested")
    letter = await dead_lettered_request(stack, opm)

    await stack.restart_simulator()
    replayed = await stack.api("POST", f"/api/ops/dlq/{letter['id']}/replay")
    assert replayed["replayed"]["status"] == "replayed"

    async def at_the_simulator() -> list[LogEntry] | None:
        return stack.received_from_us(opm) or None

    (received,) = await wait_for(at_the_simulator, "the replayed request at the simulator")
    assert received.message_id == requested["data"]["request_id"]
    assert received.note == "switch-request accepted", received.note
    await stack.deliver(ANSWER_AT)
    accepted = await stack.reaches(opm, "switch_gain", "accepted")
    assert accepted["data"]["contract"] == contract


async def test_request_delayed_past_its_deadline_is_rejected_late_by_ote(stack_without_ote: Stack) -> None:
    stack = stack_without_ote
    opm = new_ean()
    # A switch on Tuesday 15 December: the request is due by 10:00 on Tuesday 1 December, so in time now.
    contract, _account = await sign_for_switch(stack, opm, valid_from=dt.date(2026, 12, 15))
    requested = await stack.reaches(opm, "switch_gain", "requested")
    assert requested["data"]["late"] is False
    letter = await dead_lettered_request(stack, opm)

    # CS OTE is back only on Wednesday 2 December: the replayed request reaches it after the deadline.
    stack.advance_to(prague(2026, 12, 2, 9, 0))
    await stack.restart_simulator()
    await stack.api("POST", f"/api/ops/dlq/{letter['id']}/replay")

    async def at_the_simulator() -> list[LogEntry] | None:
        return stack.received_from_us(opm) or None

    await wait_for(at_the_simulator, "the replayed request at the simulator")
    await stack.deliver()  # the rejection
    rejected = await stack.reaches(opm, "switch_gain", "rejected")
    assert rejected["data"]["rejection_reason"] == codes.REJECT_LATE
    assert not [s for s in stack.simulator.simulator.registry.switches.values() if s.opm == opm]

    async def task() -> list[Any] | None:
        return await stack.activities("contract", contract) or None

    (activity,) = await wait_for(task, "the back-office task about the rejection")
    assert "SWITCH_REJECTED" in activity.subject
    assert f"reason {codes.REJECT_LATE}" in activity.note
