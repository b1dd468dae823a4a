"""Kill -9 of the daemon at random points while many reminder instances and their timers are active.

The daemon (``proud run`` on PostgreSQL with the SQL-log bus and the repository's ``rules/``) is killed
KILLS times and restarted. Time passes the way the test can make it pass: it moves pending timers' ``due_at``
into the past, so the daemon's own scheduler fires them. Afterwards:

- every instance is in the state its messages and timers lead to: paid keys ``paid``, others ``escalated``;
- each emitted reminder exists exactly once in the outbox and matches the instance's history;
- every timer fired at most once, each fired timer's message was queued once and applied once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

import aiohttp
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.bus import outbox
from gateway.clock import SystemClock
from gateway.process.tables import process_history, process_instance, process_timer
from gateway.store.db import create_engine
from gateway.store.tables import outbox as outbox_table
from schemas.envelope import decode, new_envelope
from schemas.process import InvoiceOverdue, PaymentReceived, ReminderRequested, TimerFired
from tests.db_fixtures import own_database
from tests.http.support import free_port

ROOT = Path(__file__).resolve().parents[2]
KEYS = 120
KILLS = 22
SETTLE_WAIT_S = 240.0

pytestmark = pytest.mark.slow


class DaemonProcess:
    def __init__(self, pg_url: str, tmp: Path) -> None:
        self.port = free_port()
        self.env = os.environ | {
            "PYTHONPATH": str(ROOT),
            "PROUD_DATABASE_URL": pg_url,
            "PROUD_HTTP_PORT": str(self.port),
            "PROUD_RULES_DIR": str(ROOT / "rules"),
            "PROUD_DATA_DIR": str(tmp),
            "PROUD_SQL_BUS_SESSION_TIMEOUT_S": "2",
            "PROUD_TIMER_POLL_INTERVAL_S": "0.2",
            "PROUD_LOG_LEVEL": "warning",
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert self.proc is None
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli.main", "run"],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
        )

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.proc = None

    async def ready(self) -> None:
        deadline = time.monotonic() + 60
        async with aiohttp.ClientSession() as http:
            while True:
                assert self.proc is not None and self.proc.poll() is None, "daemon exited"
                try:
                    async with http.get(f"http://127.0.0.1:{self.port}/ready") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                assert time.monotonic() < deadline, "daemon not ready"
                await asyncio.sleep(0.1)


async def _queue(engine: AsyncEngine, envelopes: list[object]) -> None:
    now = SystemClock().now()
    async with engine.begin() as conn:
        await outbox.add(conn, [outbox.envelope_record("payments.events", e) for e in envelopes], now)  # type: ignore[arg-type]


async def _advance_time(
    engine: AsyncEngine, rng: random.Random, share: float, hold_final_notice: set[str] = frozenset()
) -> None:
    """Let time pass for a random share of the pending timers: they become due now.

    The final notice of a key in ``hold_final_notice`` is held back: that customer's payment is still on
    its way, and the test wants to know for sure which state the instance must end in (``paid``).
    """
    held = sa.and_(process_timer.c.name == "final_notice", process_timer.c.key.in_(hold_final_notice))
    async with engine.begin() as conn:
        query = sa.select(process_timer.c.id).where(process_timer.c.status == "pending", sa.not_(held))
        ids = (await conn.execute(query)).scalars().all()
        chosen = [i for i in ids if rng.random() < share]
        if chosen:
            await conn.execute(
                process_timer.update()
                .where(process_timer.c.id.in_(chosen))
                .values(due_at=SystemClock().now() - dt.timedelta(seconds=1))
            )


async def test_kill_minus_nine_while_instances_and_timers_are_active(
    pg_url: str, unique: str, tmp_path: Path
) -> None:
    seed = random.randrange(1 << 30)
    print(f"seed {seed}")
    rng = random.Random(seed)
    # A database of its own: killed daemons leave due timers and unsent outbox rows, which the next
    # test's daemon on the session's database would otherwise have to work through first.
    async with own_database(pg_url, "daemonkill") as url:
        engine = create_engine(url)
        try:
            await _run(engine, rng, unique, tmp_path, url)
        finally:
            await engine.dispose()


async def _run(engine: AsyncEngine, rng: random.Random, unique: str, tmp_path: Path, pg_url: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(sa.text("TRUNCATE process_history, process_timer, process_instance"))
    keys = [f"K-{unique}-{n}" for n in range(KEYS)]
    paying = set(rng.sample(keys, KEYS // 2))
    now = SystemClock().now()
    await _queue(
        engine,
        [
            new_envelope(
                InvoiceOverdue(invoice=f"FV-{k}", amount=Decimal("1500.25"), final_date=dt.date(2027, 3, 1)),
                key=k,
                now=now,
            )
            for k in keys
        ],
    )
    pending_payments = sorted(paying)
    daemon = DaemonProcess(pg_url, tmp_path)
    try:
        for _ in range(KILLS):
            daemon.start()
            await daemon.ready()
            if pending_payments:  # payments arrive in bursts while the daemon comes and goes
                burst, pending_payments = pending_payments[:8], pending_payments[8:]
                await _queue(engine, _payments(burst))
            await _advance_time(engine, rng, share=0.08, hold_final_notice=paying)
            await asyncio.sleep(rng.uniform(0.05, 1.2))  # then die at a random point
            daemon.kill()
        daemon.start()
        await daemon.ready()
        if pending_payments:
            await _queue(engine, _payments(pending_payments))
        await _settle(engine, keys, paying)
    finally:
        if daemon.proc is not None:
            daemon.kill()
    await _assert_outcome(engine, keys, paying)


def _payments(keys: list[str]) -> list[object]:
    return [
        new_envelope(PaymentReceived(amount=Decimal("1500.25")), key=k, now=SystemClock().now()) for k in keys
    ]


async def _settle(engine: AsyncEngine, keys: list[str], paying: set[str]) -> None:
    """Let all remaining time pass until every instance is final and no timer is pending.

    Final notices of paying keys stay held until every payment was applied (all paying keys ``paid``).
    """
    deadline = time.monotonic() + SETTLE_WAIT_S
    rng = random.Random(0)
    while True:
        async with engine.connect() as conn:
            paid = await conn.scalar(
                sa.select(sa.func.count())
                .select_from(process_instance)
                .where(process_instance.c.key.in_(paying), process_instance.c.state == "paid")
            )
        await _advance_time(
            engine, rng, share=1.0, hold_final_notice=set() if paid == len(paying) else paying
        )
        async with engine.connect() as conn:
            states = Counter(
                (
                    await conn.execute(
                        sa.select(process_instance.c.state).where(process_instance.c.key.in_(keys))
                    )
                )
                .scalars()
                .all()
            )
        if sum(states.values()) == len(keys) and set(states) <= {"paid", "escalated"}:
            return
        assert time.monotonic() < deadline, f"not settled: {dict(states)}"
        await asyncio.sleep(0.5)


async def _assert_outcome(engine: AsyncEngine, keys: list[str], paying: set[str]) -> None:
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                sa.select(process_instance.c.id, process_instance.c.key, process_instance.c.state).where(
                    process_instance.c.key.in_(keys)
                )
            )
        ).all()
        transitions = (
            await conn.execute(
                sa.select(process_instance.c.key, process_history.c.from_state, process_history.c.to_state)
                .join(process_history, process_history.c.instance_id == process_instance.c.id)
                .where(process_instance.c.key.in_(keys))
            )
        ).all()
        emitted = (
            await conn.execute(
                sa.select(outbox_table.c.topic, outbox_table.c.value).where(
                    outbox_table.c.topic.in_(["process.events", "process.timers"])
                )
            )
        ).all()
        timers = (
            await conn.execute(
                sa.select(process_timer.c.id, process_timer.c.status).where(process_timer.c.key.in_(keys))
            )
        ).all()
    assert {row.key: row.state for row in rows} == {k: "paid" if k in paying else "escalated" for k in keys}
    reminders = Counter()
    timer_messages = Counter()
    for _topic, value in emitted:
        body = decode(value).payload
        if isinstance(body, ReminderRequested) and decode(value).key in keys:
            reminders[(decode(value).key, body.level)] += 1
        if isinstance(body, TimerFired) and body.instance_key in keys:
            timer_messages[body.timer_id] += 1
    expected = Counter()
    for key, source, target in transitions:
        if (source, target) == ("open", "reminded"):
            expected[(key, 1)] += 1
        if (source, target) == ("reminded", "escalated"):
            expected[(key, 2)] += 1
    assert reminders == expected, "an emitted reminder is missing or duplicated"
    assert all(k not in paying for k, level in expected if level == 2)
    fired = {timer_id for timer_id, status in timers if status == "fired"}
    assert set(timer_messages) == fired and set(timer_messages.values()) == {1}, (
        "a timer fired twice or was lost"
    )
    assert not [t for t in timers if t.status == "pending"]
    history_per_key = Counter(key for key, _, _ in transitions)
    assert all(history_per_key[k] <= 3 for k in keys), "a transition was applied twice"
