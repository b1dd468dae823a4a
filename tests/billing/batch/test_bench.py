"""``proud bench billing`` on a small run against the test PostgreSQL: it prepares, bills in two processes,
prints its figures with ``settlements_per_s=`` last, and the invoices and receivables it reports are in the
database (no timing is asserted)."""

from __future__ import annotations

import asyncio
import re

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from gateway.billing.ledger_tables import invoice as bl_invoice
from gateway.billing.ledger_tables import receivable as bl_receivable
from gateway.cli.main import app
from gateway.readings import tables as rd
from tests.cli.test_cli import clean_environ
from tests.readings.register_check import mismatches

OPM = 200


async def test_the_billing_bench_bills_every_prepared_contract(
    pg_url: str, pg_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The command would point structlog at its runner's stderr, closed when it returns.
    monkeypatch.setattr("gateway.cli.bench_common.configure", lambda *_args: None)
    arguments = ["bench", "billing", "--opm", str(OPM), "--workers", "2", "--batch", "50", "--database-url",
                 pg_url]
    # In a thread: the command runs its own event loops.
    result = await asyncio.to_thread(CliRunner().invoke, app, arguments, env=clean_environ())

    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert re.fullmatch(r"settlements_per_s=\d+", lines[-1]), lines[-1]
    run = re.search(r"run: (B\d{3}-) contracts, 2 processes, batches of 50", result.stdout)
    assert run is not None, result.stdout
    assert f"billed: {OPM} settlements, 0 outsorted, 0 errors" in result.stdout
    assert f"stored: {OPM} invoices, {OPM} invoice receivables" in result.stdout
    # The machine's CPU beside the billing processes' (Linux's /proc/stat, which the test machines have).
    cpu = (r"cpu: \d+\.\d\d ms per settlement in the billing processes, \d+\.\d\d ms in the rest of the "
           r"machine \(PostgreSQL on one box\); busy \d+ % of \d+ cores")
    assert re.search(cpu, result.stdout), result.stdout
    gauge = re.search(r"gauge: (\d+\.\d) ms before the billing, (\d+\.\d) ms after \(CPU for a fixed",
                      result.stdout)
    assert gauge is not None and float(gauge.group(1)) > 0 and float(gauge.group(2)) > 0, result.stdout
    i, r = bl_invoice.c, bl_receivable.c
    async with pg_engine.connect() as conn:
        rows = (await conn.execute(
            sa.select(i.number, i.total, i.balance, i.settlement, r.amount, r.open_amount)
            .join(bl_receivable, r.document == i.number).where(i.contract.startswith(run.group(1)))
        )).all()
    assert len(rows) == OPM
    assert all(row.amount == row.open_amount == row.balance and row.total > 0 for row in rows)
    assert all('"lines"' in row.settlement for row in rows)
    async with pg_engine.connect() as conn:  # the bench writes each reading's text of its registers too
        of_run = sa.select(bl_invoice.c.opm).where(i.contract.startswith(run.group(1)))
        assert await mismatches(conn, rd.reading.c.opm.in_(of_run)) == []
    # Two processes, a series each: the numbers come from two workers' series.
    assert len({row.number[:8] for row in rows}) == 2
