"""Kill -9 in the middle of a mass billing run: two daemon processes on real Kafka and PostgreSQL share the
run (``billing.work``'s partitions), one is killed while the run is under way (billing, rendering the
documents, sending) and started again, then the other; the run finishes with every contract billed exactly
once. The bills themselves are made in batches in milliseconds; rendering PDF and ISDOC takes longer, so the
kills land in the bill, the documents or the sending stage, wherever the run is at that moment.

The run has a database of its own (a run orders every due contract in the database) and consumer groups of
its own (Kafka is shared). Afterwards:

- each contract has exactly one issued settlement for the period, one receivable, one ``billed`` entry in
  its order's history, one set of documents (PDF and ISDOC) and one delivery attempt (the test accounts
  have no e-mail address: ``send_failed``, a value, with a back-office task);
- every invoice number series used has no gap (a number drawn in a killed transaction is drawn again);
- the run's summary counts every order as billed and its total is the invoices' total.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Final

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from connectors.ote.outbound import OTE_SENDER_GROUP
from gateway.billing.ledger_tables import invoice as bl_invoice
from gateway.billing.ledger_tables import receivable as bl_receivable
from gateway.billing.ordering import MACHINE
from gateway.billing.run_progress import RunProgress, run_progress
from gateway.billing.run_tables import delivery as bl_delivery
from gateway.billing.runs import plan_run
from gateway.config import load_settings
from gateway.masterdata import tables as md
from gateway.process.tables import process_history, process_instance
from gateway.store.db import create_engine
from gateway.subscriptions import builtin_subscriptions
from tests.billing.bill.support import NOW, read, supplied
from tests.db_fixtures import own_database
from tests.http.support import free_port
from tests.isolated_daemon import PROCESS_GROUPS, start_groups_at_end
from tests.process.rules_support import REPO_RULES

ROOT: Final = Path(__file__).resolve().parents[3]
CONTRACTS: Final = 120
RUN_WAIT_S: Final = 300.0
POLL_S: Final = 0.2

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


@pytest.fixture
async def run_db(pg_url: str) -> AsyncIterator[str]:
    """A fresh database next to the session's, migrated; dropped afterwards."""
    async with own_database(pg_url, "runkill") as url:
        # Contract numbers of this run's own, so that the orders' keys on the shared topics are too (another
        # session running this test at the same time numbers its contracts from the same start otherwise).
        engine = create_engine(url)
        async with engine.begin() as conn:
            start = random.randrange(10**7, 10**9)
            await conn.execute(sa.insert(md.sequence).values(name="contract", next_value=start))
        await engine.dispose()
        yield url


class DaemonProcess:
    def __init__(self, env: dict[str, str], suffix: str) -> None:
        self.env, self.suffix = env, suffix
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert self.proc is None
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.billing.runs.run_daemon", self.suffix], cwd=ROOT, env=self.env,
            stdout=subprocess.DEVNULL,
        )

    def kill(self) -> None:
        assert self.proc is not None and self.proc.poll() is None, "the daemon died before it was killed"
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            self.proc = None


async def _book(engine: AsyncEngine) -> list[str]:
    """CONTRACTS monthly contracts from 1 January 2026, read on 1 January and 30 June."""
    contracts = []
    for index in range(CONTRACTS):
        parties = await supplied(engine)
        async with engine.begin() as conn:
            await conn.execute(sa.update(md.account).where(md.account.c.variable_symbol == parties.account)
                               .values(billing_cycle="monthly"))
        await read(engine, parties.opm, "2026-01-01", "1000")
        await read(engine, parties.opm, "2026-06-30", str(1500 + index))
        contracts.append(parties.contract)
    return contracts


async def _progress(engine: AsyncEngine) -> RunProgress:
    async with engine.connect() as conn:
        return await run_progress(conn, "2026-06")


#: The states in which an order of the test has been through every stage (the delivery attempt included).
DELIVERED: Final = ("sent", "send_failed")


def _delivered(progress: RunProgress) -> int:
    return sum(progress.states.get(state, 0) for state in DELIVERED)


async def _until(engine: AsyncEngine, billed_at_least: int, delivered_at_least: int = 0) -> RunProgress:
    deadline = time.monotonic() + RUN_WAIT_S
    while True:
        progress = await _progress(engine)
        if progress.billed >= billed_at_least and _delivered(progress) >= delivered_at_least:
            return progress
        assert time.monotonic() < deadline, f"run stuck: {progress}"
        await asyncio.sleep(POLL_S)


def _environ(url: str, kafka_bootstrap: str, tmp: Path, name: str) -> dict[str, str]:
    return os.environ | {
        "PYTHONPATH": str(ROOT), "PROUD_DATABASE_URL": url, "PROUD_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "PROUD_HTTP_PORT": str(free_port()), "PROUD_RULES_DIR": str(REPO_RULES),
        "PROUD_DATA_DIR": str(tmp / name), "PROUD_DOCUMENTS_DIR": str(tmp / "documents"),
        "PROUD_ARES_BASE_URL": "off", "PROUD_LOG_LEVEL": "warning",
    }


async def test_a_killed_worker_process_bills_nothing_twice(
    run_db: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    engine = create_engine(run_db)
    suffix = f"runkill{uuid.uuid4().hex[:8]}"
    settings = load_settings(environ={"PROUD_DATABASE_URL": run_db, "PROUD_KAFKA_BOOTSTRAP": kafka_bootstrap})
    groups = [*(s.group_id for s in builtin_subscriptions(settings)), OTE_SENDER_GROUP, *PROCESS_GROUPS]
    await start_groups_at_end(kafka_bootstrap, groups, suffix)
    daemons = [DaemonProcess(_environ(run_db, kafka_bootstrap, tmp_path, name), suffix) for name in "ab"]
    try:
        contracts = await _book(engine)
        for daemon in daemons:
            daemon.start()
        planned = await plan_run(engine, period="2026-06", dso=None, now=NOW, actor="test")
        assert planned.queued == CONTRACTS
        first = await _until(engine, 1)
        daemons[0].kill()
        assert _delivered(first) < CONTRACTS, "the run was over before the kill"
        # The other one goes on alone; when it has delivered something, the first comes back and the
        # other is killed at once, holding every partition (how far the run got by then depends on the
        # machine: often within the rendering, sometimes after it).
        await _until(engine, 1, delivered_at_least=1)
        daemons[0].start()
        daemons[1].kill()
        daemons[1].start()
        progress = await _until(engine, CONTRACTS, delivered_at_least=CONTRACTS)
    finally:
        for daemon in daemons:
            daemon.stop()
    try:
        await _assert_billed_once(engine, contracts, progress)
    finally:
        await engine.dispose()


async def _assert_billed_once(engine: AsyncEngine, contracts: list[str], progress: RunProgress) -> None:
    async with engine.connect() as conn:
        invoices = (await conn.execute(sa.select(bl_invoice).where(bl_invoice.c.kind == "settlement"))).all()
        receivables = (await conn.execute(sa.select(bl_receivable.c.document).where(
            bl_receivable.c.kind == "invoice"))).scalars().all()
        deliveries = (await conn.execute(sa.select(bl_delivery.c.document))).scalars().all()
        filed_in_dms = (await conn.execute(sa.select(sa.func.count()).select_from(md.document).where(
            md.document.c.kind == "invoice"))).scalar_one()
        billed_entries = (await conn.execute(
            sa.select(process_instance.c.key, sa.func.count())
            .join(process_history, process_history.c.instance_id == process_instance.c.id)
            .where(process_instance.c.machine == MACHINE, process_history.c.to_state == "billed")
            .group_by(process_instance.c.key)
        )).all()
    assert sorted(row.contract for row in invoices) == sorted(contracts)  # each exactly once
    assert {row.status for row in invoices} == {"issued"}
    assert sorted(receivables) == sorted(row.number for row in invoices)
    assert sorted(count for _key, count in billed_entries) == [1] * len(contracts)
    assert all(len(row.documents) == 2 for row in invoices), [row.documents for row in invoices]
    filed = Counter(row for invoice in invoices for row in invoice.documents)
    assert len(filed) == 2 * len(invoices) == filed_in_dms  # none on two invoices, none rendered twice
    assert sorted(deliveries) == sorted(row.number for row in invoices)  # one attempt each
    series: dict[str, list[int]] = defaultdict(list)
    for row in invoices:
        series[row.number[:8]].append(int(row.number[8:]))
    for prefix, numbers in series.items():
        assert sorted(numbers) == list(range(1, len(numbers) + 1)), f"a gap in {prefix}: {sorted(numbers)}"
    assert progress.finished and progress.billed == len(contracts) == progress.invoices
    assert progress.total == sum((Decimal(row.total) for row in invoices), Decimal("0.00"))
