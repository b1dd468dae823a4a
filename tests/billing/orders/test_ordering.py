"""Orders from the outside (``gateway.billing.ordering``) and the final-bill intake, on PostgreSQL: the
order's facts from master data, the period's default start, the order key, the states a clerk may release or
cancel (the machine's), and ``switch.final_bill_ordered`` becoming ``billing.order_due``."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.billing import ordering
from gateway.billing.order_intake import FinalBillIntake
from gateway.billing.topics import BILLING_ORDERS
from gateway.errors import HandlerRejected, InvalidField, NotFound
from gateway.process.loader import load_rules
from gateway.process.tables import process_instance
from gateway.process.topics import PROCESS_EVENTS
from schemas.billing.orders import OrderDue
from schemas.envelope import new_envelope
from schemas.switching import Attention, FinalBillOrdered
from tests.billing.bill.support import NOW, supplied
from tests.process.rules_support import REPO_RULES
from tests.switching.support import deliver


def test_release_and_cancel_are_allowed_where_the_machine_has_a_transition_for_them() -> None:
    machine = load_rules(REPO_RULES).machines[ordering.MACHINE]

    def states_on(message_type: str) -> frozenset[str]:
        return frozenset(
            state.name for state in machine.states.values()
            if any(transition.on == message_type for transition in state.transitions)
        )

    assert states_on("billing.released") == ordering.RELEASABLE_STATES
    assert states_on("billing.cancelled") == ordering.CANCELLABLE_STATES


@pytest.mark.parametrize("order", ["SML-1", "SML-1@", "@2026-06-30", "SML-1@2026-13-01"])
def test_an_order_key_names_a_contract_and_a_day(order: str) -> None:
    with pytest.raises(InvalidField) as caught:
        ordering.parse_order(order)
    assert (caught.value.field, caught.value.value) == ("order", order)
    assert ordering.parse_order("A@B@2026-06-30") == ("A@B", dt.date(2026, 6, 30))


async def _order(
    engine: AsyncEngine, contract: str, period_to: str, period_from: dt.date | None = None
) -> OrderDue:
    async with engine.begin() as conn:
        return await ordering.order_due(
            conn, contract=contract, period_to=dt.date.fromisoformat(period_to), reason="manual",
            period_from=period_from,
        )


async def test_an_order_takes_its_facts_from_master_data_and_starts_after_the_last_order(
    pg_engine: AsyncEngine,
) -> None:
    parties = await supplied(pg_engine)

    first = await _order(pg_engine, parties.contract, "2026-03-31")

    assert (first.order, first.opm, first.account, first.commodity, first.period_from) == (
        f"{parties.contract}@2026-03-31", parties.opm, parties.account, "electricity", dt.date(2026, 1, 1),
    )
    async with pg_engine.begin() as conn:  # the machine's instance of that order, as the runtime keeps it
        await conn.execute(sa.insert(process_instance).values(
            machine=ordering.MACHINE, key=first.order, version="v", state="sent", data={}, seq=1,
            entered_seq=1, transitions=1, created_at=NOW, updated_at=NOW,
        ))
    second = await _order(pg_engine, parties.contract, "2026-06-30")
    assert second.period_from == dt.date(2026, 4, 1)
    chosen = await _order(pg_engine, parties.contract, "2026-06-30", period_from=dt.date(2026, 2, 1))
    assert chosen.period_from == dt.date(2026, 2, 1)
    with pytest.raises(InvalidField) as caught:
        await _order(pg_engine, parties.contract, "2026-03-30", period_from=dt.date(2026, 4, 1))
    assert caught.value.field == "period_to"
    with pytest.raises(NotFound):
        await _order(pg_engine, "NO-SUCH-CONTRACT", "2026-06-30")


async def test_an_order_of_a_taken_over_contract_starts_after_what_its_previous_system_billed(
    pg_engine: AsyncEngine,
) -> None:
    parties = await supplied(pg_engine, billed_until=dt.date(2026, 2, 28))
    first = await _order(pg_engine, parties.contract, "2026-03-31")
    assert first.period_from == dt.date(2026, 3, 1)
    async with pg_engine.begin() as conn:
        await conn.execute(sa.insert(process_instance).values(
            machine=ordering.MACHINE, key=first.order, version="v", state="sent", data={}, seq=1,
            entered_seq=1, transitions=1, created_at=NOW, updated_at=NOW,
        ))
    assert (await _order(pg_engine, parties.contract, "2026-06-30")).period_from == dt.date(2026, 4, 1)


def _final_bill(opm: str, contract: str, last_day: str = "2026-06-30") -> FinalBillOrdered:
    return FinalBillOrdered(
        opm=opm, commodity="electricity", contract=contract, account="ignored: master data's", reason="loss",
        last_day=dt.date.fromisoformat(last_day), reading_id=601, process="switch_loss",
    )


async def test_a_final_bill_ordered_by_a_switching_machine_becomes_an_order(pg_engine: AsyncEngine) -> None:
    parties = await supplied(pg_engine)
    event = new_envelope(_final_bill(parties.opm, parties.contract), key=parties.opm, now=NOW)

    [emitted] = await deliver(pg_engine, FinalBillIntake(), event, topic=PROCESS_EVENTS.name, now=NOW)

    order = f"{parties.contract}@2026-06-30"
    assert (emitted.topic, emitted.key) == (BILLING_ORDERS.name, order)
    assert emitted.payload == OrderDue(
        order=order, contract=parties.contract, account=parties.account, opm=parties.opm,
        commodity="electricity", period_from=dt.date(2026, 1, 1), period_to=dt.date(2026, 6, 30),
        reason="loss",
    )


async def test_the_final_bill_intake_passes_other_events_over_and_refuses_what_it_cannot_order(
    pg_engine: AsyncEngine,
) -> None:
    parties = await supplied(pg_engine)
    other = Attention(opm=parties.opm, process="switch_loss", reason_code="LOSS_REVIEW", text="look")
    intake = FinalBillIntake()
    assert await deliver(pg_engine, intake, new_envelope(other, key=parties.opm, now=NOW),
                         topic=PROCESS_EVENTS.name, now=NOW) == []

    for body, reason in [
        (_final_bill(parties.opm, "NO-SUCH-CONTRACT"), "contract 'NO-SUCH-CONTRACT' is not in master data"),
        (_final_bill("859182400000000000", parties.contract), f"is at OPM {parties.opm}"),
    ]:
        with pytest.raises(HandlerRejected, match=reason):
            await deliver(pg_engine, intake, new_envelope(body, key=body.opm, now=NOW),
                          topic=PROCESS_EVENTS.name, now=NOW)
