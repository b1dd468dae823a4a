"""A run's progress from its items, the orders' instances, the invoices and the dead letters
(``gateway.billing.run_progress``), on SQLite and PostgreSQL, from rows as the pipeline writes them."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.billing.ledger_tables import invoice as bl_invoice
from gateway.billing.ordering import MACHINE
from gateway.billing.run_progress import run_progress
from gateway.billing.run_tables import run as bl_run
from gateway.billing.run_tables import run_item as bl_run_item
from gateway.errors import NotFound
from gateway.process.tables import process_instance
from gateway.store.tables import dead_letter
from tests.billing.bill.support import NOW

PERIOD_TO = dt.date(2026, 1, 31)


async def _run(
    engine: AsyncEngine, states: dict[str, str | None], *, planned: bool = True
) -> tuple[str, list[str]]:
    """A run with one item per entry: its order's instance in that state (None: no instance yet)."""
    run = f"2026-01@progress-{uuid.uuid4().hex[:8]}"
    contracts = [f"P{uuid.uuid4().hex[:10]}" for _ in states]
    async with engine.begin() as conn:
        await conn.execute(sa.insert(bl_run).values(
            id=run, period="2026-01", dso=None, status="planned" if planned else "planning",
            contracts_planned=len(states), created_by="test", created_at=NOW,
        ))
        for contract, (label, state) in zip(contracts, states.items(), strict=True):
            order = f"{contract}@{PERIOD_TO}"
            await conn.execute(sa.insert(bl_run_item).values(
                run=run, contract=contract, order=order, opm=f"opm-{contract}", period_to=PERIOD_TO,
                queued_at=NOW,
            ))
            if state is not None:
                await conn.execute(sa.insert(process_instance).values(
                    machine=MACHINE, key=order, version="test", state=state, data=_data(label), seq=1,
                    entered_seq=1, transitions=1, created_at=NOW, updated_at=NOW,
                ))
    return run, contracts


def _data(label: str) -> dict[str, Any]:
    codes = {"missing": ["READING_MISSING"], "both": ["READING_MISSING", "IMPLAUSIBLE_CONSUMPTION"]}
    return {"findings": [{"code": code, "text": code} for code in codes.get(label, [])]}


async def _invoice(engine: AsyncEngine, contract: str, total: str, balance: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(sa.insert(bl_invoice).values(
            number=f"FV-{uuid.uuid4().hex[:12]}", uuid=uuid.uuid4(), kind="settlement", status="issued",
            contract=contract, account="1", opm="x", period_from=dt.date(2026, 1, 1), period_to=PERIOD_TO,
            issue_date=dt.date(2026, 2, 3), due_date=dt.date(2026, 2, 17), total_base=0, total_vat=0,
            total=Decimal(total), advances_paid=0, balance=Decimal(balance), settlement="{}", documents=[],
            created_at=NOW,
        ))


async def test_orders_by_state_reasons_and_money(engine: AsyncEngine) -> None:
    run, contracts = await _run(engine, {
        "sent": "sent", "invoiced": "invoiced", "billed": "billed", "missing": "outsorted",
        "both": "outsorted", "waiting": "waiting_for_reading", "ready": "ready", "queued": None,
    })
    await _invoice(engine, contracts[0], "1234.56", "-100.10")
    await _invoice(engine, contracts[1], "1000.00", "250.05")
    await _invoice(engine, contracts[2], "0.01", "0.01")
    async with engine.connect() as conn:
        progress = await run_progress(conn, run)
    assert progress.states == {
        "sent": 1, "invoiced": 1, "billed": 1, "outsorted": 2, "waiting_for_reading": 1, "ready": 1,
        "queued": 1,
    }
    assert (progress.orders, progress.done, progress.billed, progress.stuck) == (8, 6, 3, 0)
    assert progress.outsorted_by_reason == {"IMPLAUSIBLE_CONSUMPTION": 1, "READING_MISSING": 2}
    assert (progress.invoices, progress.total, progress.balance_due, progress.overpaid) == (
        3, Decimal("2234.57"), Decimal("250.06"), Decimal("-100.10"),
    )
    assert not progress.finished and not progress.stalled
    assert progress.created_at == NOW and progress.created_at.tzinfo is not None  # SQLite keeps no zone


async def test_a_run_stuck_on_a_dead_letter_is_stalled_not_running(engine: AsyncEngine) -> None:
    run, contracts = await _run(engine, {"sent": "sent", "ready": "ready"})
    async with engine.connect() as conn:
        assert not (await run_progress(conn, run)).stalled
    async with engine.begin() as conn:
        await conn.execute(sa.insert(dead_letter).values(
            id=uuid.uuid4(), group_id="proud.billing-worker", topic="billing.work", partition=0,
            offset=uuid.uuid4().int % 10**12, key=f"opm-{contracts[1]}", value=b"x", headers={},
            reason="boom",
            error_type="TypeError", attempts=1, first_error="boom", first_error_at=NOW, last_error="boom",
            last_error_at=NOW, status="open",
        ))
    async with engine.connect() as conn:
        progress = await run_progress(conn, run)
    assert (progress.stuck, progress.stalled, progress.finished) == (1, True, False)


async def test_a_finished_run_and_an_unknown_one(engine: AsyncEngine) -> None:
    run, _ = await _run(engine, {"a": "sent", "b": "cancelled"})
    planning, _ = await _run(engine, {"a": "sent"}, planned=False)
    async with engine.connect() as conn:
        assert (await run_progress(conn, run)).finished
        assert not (await run_progress(conn, planning)).finished  # more orders may still come
        with pytest.raises(NotFound, match="no billing run"):
            await run_progress(conn, "1999-01")
