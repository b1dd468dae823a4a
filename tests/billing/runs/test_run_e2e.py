"""A mass billing run end to end in a real daemon (SQLite and the SQL-log bus in it, the repository's rules,
the billing worker) driven by ``proud billing run`` as a user types it, on a manual clock.

SQLite keeps the run's book to the test's own contracts (a run orders every contract due). Kafka
partitions, several worker processes and a kill -9 in the middle: ``test_run_kill.py``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import aiohttp
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner, Result

from gateway.billing.documents import document_subscriptions
from gateway.billing.ledger_tables import invoice as bl_invoice
from gateway.billing.ledger_tables import receivable as bl_receivable
from gateway.billing.run_tables import delivery as bl_delivery
from gateway.billing.worker import billing_subscriptions
from gateway.cli.main import app as cli_app
from gateway.clock import ManualClock
from gateway.config import load_settings
from gateway.daemon import Daemon
from gateway.demo_billing import seed_billing_book
from gateway.http.api_keys import Role
from gateway.masterdata import tables as md
from gateway.masterdata.filestore import LocalFileStore
from gateway.switching.attention import SwitchAttention
from tests.billing.bill.support import NOW, Supplied, read, supplied
from tests.cli.test_cli import clean_environ
from tests.http.support import bearer, free_port, new_key, wait_for
from tests.process.rules_support import REPO_RULES

#: Following a run of four orders; the daemon polls its consumers every 0.1 s.
RUN_TIMEOUT_S = "120"
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[")


@pytest.fixture
async def daemon(sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Daemon]:
    monkeypatch.setattr("gateway.cli.configure", lambda *_args: None)  # see tests/billing/orders e2e
    settings = load_settings(environ={
        "PROUD_DATABASE_URL": sqlite_url, "PROUD_HTTP_PORT": str(free_port()),
        "PROUD_RULES_DIR": str(REPO_RULES), "PROUD_DATA_DIR": str(tmp_path / "data"),
        "PROUD_DOCUMENTS_DIR": str(tmp_path / "documents"), "PROUD_TIMER_POLL_INTERVAL_S": "0.05",
        "PROUD_CONSUMER_POLL_TIMEOUT_S": "0.1", "PROUD_ARES_BASE_URL": "off",
    })
    files = LocalFileStore(settings.effective_documents_dir)
    subscriptions = [
        *billing_subscriptions(settings), *document_subscriptions(settings, files),
        SwitchAttention().subscription(),
    ]
    running = Daemon(settings, clock=ManualClock(NOW), subscriptions=subscriptions)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


async def _monthly(engine: AsyncEngine, closing: str | None) -> Supplied:
    """A contract from 1 January 2026 billed monthly, read on 1 January and (unless None) on 30 June."""
    parties = await supplied(engine)
    async with engine.begin() as conn:
        await conn.execute(sa.update(md.account).where(md.account.c.variable_symbol == parties.account)
                           .values(billing_cycle="monthly"))
    await read(engine, parties.opm, "2026-01-01", "1000")
    if closing is not None:
        await read(engine, parties.opm, "2026-06-30", closing)
    return parties


def _ours(result: Result) -> list[str]:
    """The command's lines: the daemon in this process logs to the same stdout the runner captures."""
    return [line for line in result.stdout.splitlines() if not LOG_LINE.match(line)]


async def _cli(url: str, *args: str) -> Result:
    env = clean_environ(database_url=url, rules_dir=str(REPO_RULES))
    return await asyncio.to_thread(CliRunner().invoke, cli_app, ["billing", *args], env=env)


async def test_a_run_bills_the_due_contracts_and_sums_them_up(daemon: Daemon, sqlite_url: str) -> None:
    engine = daemon.engine
    first, second = await _monthly(engine, "2500"), await _monthly(engine, "1800")
    unread = await _monthly(engine, None)
    annual = await supplied(engine)  # annual cycle: not due in June
    await read(engine, annual.opm, "2026-06-30", "900")

    result = await _cli(sqlite_url, "run", "--period", "2026-06", "--timeout-s", RUN_TIMEOUT_S)
    assert result.exit_code == 0, result.output
    lines = _ours(result)
    assert lines[0].startswith("planned run 2026-06: 3 orders queued now; contracts read 4, not due 1")
    assert "outsorted: 1 (READING_MISSING 1)" in lines
    async with engine.connect() as conn:
        rows = (await conn.execute(sa.select(bl_invoice).where(bl_invoice.c.kind == "settlement"))).all()
        posted = (await conn.execute(sa.select(sa.func.count()).select_from(bl_receivable).where(
            bl_receivable.c.kind == "invoice"))).scalar_one()
    assert sorted(row.contract for row in rows) == sorted([first.contract, second.contract])
    assert {(row.period_from, row.period_to) for row in rows} == {(dt.date(2026, 1, 1), dt.date(2026, 6, 30))}
    assert posted == 2
    total = sum((Decimal(row.total) for row in rows), Decimal("0.00"))
    balance = sum((Decimal(row.balance) for row in rows), Decimal("0.00"))
    money = f"total {total} CZK, due from customers {balance} CZK, overpaid 0.00 CZK"
    assert f"billed: 2; invoices 2, {money}" in lines
    summary = next(line for line in lines if line.startswith("run="))
    last = dict(pair.split("=", 1) for pair in summary.split())
    assert (last["orders"], last["billed"], last["outsorted"], last["in_flight"]) == ("3", "2", "1", "0")
    assert unread.contract not in {row.contract for row in rows}
    advances = next(line for line in lines if line.startswith("advances:"))
    assert "contracts=4" in advances

    again = await _cli(sqlite_url, "run", "--period", "2026-06", "--no-wait")
    assert again.exit_code == 0, again.output
    assert _ours(again)[0].startswith(
        "planned run 2026-06: 0 orders queued now; contracts read 4, not due 1, already in the run 3"
    )
    status = await _cli(sqlite_url, "run-status", "2026-06")
    assert status.exit_code == 0 and _ours(status)[-1] == summary
    async with engine.connect() as conn:
        count = (await conn.execute(sa.select(sa.func.count()).select_from(bl_invoice))).scalar_one()
    assert count == 2

    secret = await new_key(engine, Role.READER, "runs")
    url = f"http://127.0.0.1:{daemon.settings.http_port}/api/billing/runs"
    async with aiohttp.ClientSession(headers=bearer(secret)) as http:
        async with http.get(url) as response:
            assert response.status == 200 and (await response.json())["runs"] == ["2026-06"]
        async with http.get(f"{url}/2026-06") as response:
            body = await response.json()
        assert response.status == 200, body
        assert (body["orders"], body["billed"], body["invoices"], body["total"]) == (3, 2, 2, str(total))
        assert body["outsorted_by_reason"] == {"READING_MISSING": 1}
        async with http.get(f"{url}/1999-01") as response:
            assert response.status == 404


async def test_bad_input_names_the_field(daemon: Daemon, sqlite_url: str) -> None:
    result = await _cli(sqlite_url, "run", "--period", "2026-13")
    assert result.exit_code == 1
    assert "period" in result.stderr and "2026-13" in result.stderr
    missing = await _cli(sqlite_url, "run-status", "1999-01")
    assert missing.exit_code == 1 and "no billing run '1999-01'" in missing.stderr


async def test_the_demo_book_is_billed_filed_and_sent_by_each_channel(
    daemon: Daemon, sqlite_url: str, tmp_path: Path
) -> None:
    """``make run``'s billing book (``gateway/demo_billing.py``): a run of October bills all four, and each
    channel delivers to the demo's directories."""
    recorded = await seed_billing_book(daemon.engine, daemon.clock)
    assert recorded == 4 * 11  # 31 December and the ends of January … October
    assert await seed_billing_book(daemon.engine, daemon.clock) == 0  # once

    result = await _cli(sqlite_url, "run", "--period", "2026-10", "--timeout-s", RUN_TIMEOUT_S)
    assert result.exit_code == 0, result.output
    line = next(line for line in _ours(result) if line.startswith("run="))
    summary = dict(pair.split("=", 1) for pair in line.split())
    assert (summary["orders"], summary["billed"], summary["outsorted"]) == ("4", "4", "0")

    async def delivered() -> list[tuple[str, str]] | None:
        async with daemon.engine.connect() as conn:
            rows = (await conn.execute(sa.select(bl_delivery.c.channel, bl_delivery.c.status))).all()
        return sorted((row.channel, row.status) for row in rows) if len(rows) == 4 else None

    assert await wait_for(delivered, "the demo book's four deliveries") == [
        ("email_pdf", "sent"), ("email_pdf", "sent"), ("isdoc", "sent"), ("paper", "sent"),
    ]
    assert len(list((tmp_path / "data" / "mail").glob("*.eml"))) == 3
    assert len(list((tmp_path / "data" / "print").glob("*.pdf"))) == 1
