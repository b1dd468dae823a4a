"""Crash safety: a consumer process killed with SIGKILL at random points, restarted, applies every message
exactly once (counted in ``effect_log``, which has no unique key to hide a second application).

The kill points are drawn from a seeded generator; the seed is printed so a failure can be replayed.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.bus.base import Bus
from gateway.bus.kafka import KafkaBus
from gateway.bus.outbox import envelope_record
from gateway.bus.sqllog import SqlLogBus
from gateway.bus.topics import TopicSpec
from gateway.clock import SystemClock
from gateway.store.db import create_engine
from gateway.store.tables import bench_state, effect_log
from schemas.bench import BenchEvent
from schemas.envelope import new_envelope

EVENTS = 3_000
KILLS = 5
#: Self-inflicted kills right after a batch's database commit, before its offset commit.
SELF_KILL_AFTER_BATCHES = (3, 1)
KEYS = 40
#: Longest wait for the consumer to reach a kill point or finish; covers Kafka rebalances after a kill.
PROGRESS_WAIT_S = 180.0
ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


async def _count(engine: AsyncEngine, group: str) -> int:
    async with engine.connect() as conn:
        query = sa.select(sa.func.count()).select_from(effect_log).where(effect_log.c.group_id == group)
        return int(await conn.scalar(query) or 0)


async def _wait_for(engine: AsyncEngine, group: str, target: int, proc: subprocess.Popen[bytes]) -> int:
    deadline = time.monotonic() + PROGRESS_WAIT_S
    while (done := await _count(engine, group)) < target:
        assert proc.poll() is None, f"consumer exited with {proc.returncode}"
        assert time.monotonic() < deadline, f"consumer stuck at {done} of {target}"
        await asyncio.sleep(0.02)
    return done


_children: list[subprocess.Popen[bytes]] = []


@pytest.fixture(autouse=True)
def _no_orphans() -> Iterator[None]:
    """A failing test must not leave consumer processes behind to disturb the tests after it."""
    yield
    while _children:
        child = _children.pop()
        if child.poll() is None:
            child.kill()
            child.wait()


def _spawn(
    url: str, backend: str, bootstrap: str, topic: str, group: str, self_kill_after_batches: int = 0
) -> subprocess.Popen[bytes]:
    args = [url, backend, bootstrap, topic, group, str(self_kill_after_batches)]
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.bus.crash_consumer", *args],
        cwd=ROOT, env=os.environ | {"PYTHONPATH": str(ROOT)},
    )
    _children.append(child)
    return child


@pytest.mark.parametrize(
    ("backend", "database"), [("sql", "sqlite"), ("sql", "postgres"), ("kafka", "postgres")]
)
async def test_sigkill_at_random_points_applies_every_message_once(
    backend: str, database: str, request: pytest.FixtureRequest, unique: str
) -> None:
    url = request.getfixturevalue("pg_url" if database == "postgres" else "sqlite_url")
    bootstrap = request.getfixturevalue("kafka_bootstrap") if backend == "kafka" else "-"
    engine = create_engine(url)
    bus: Bus = KafkaBus(bootstrap) if backend == "kafka" else SqlLogBus(engine, clock=SystemClock())
    topic, group = f"crash.{unique}", f"crash-{unique}"
    seed = random.randrange(1 << 30)
    print(f"kill-point seed {seed}")
    rng = random.Random(seed)
    await bus.start()
    try:
        await bus.ensure_topics([TopicSpec(topic, "test key", 3)], 3)
        now = SystemClock().now()
        items = [
            envelope_record(topic, new_envelope(BenchEvent(seq=n), key=f"{unique}-{n % KEYS}", now=now))[1]
            for n in range(EVENTS)
        ]
        for start in range(0, EVENTS, 500):
            await bus.publish(items[start : start + 500])
        exposed = 0  # messages applied but not committed when a process died: only the inbox saves them
        for batches in SELF_KILL_AFTER_BATCHES:  # first, while most messages are still to come
            proc = _spawn(url, backend, bootstrap, topic, group, batches)
            assert proc.wait(timeout=PROGRESS_WAIT_S) == -signal.SIGKILL
            exposed += await _applied_not_committed(engine, bus, topic, group)
        for point in sorted(rng.sample(range(EVENTS // 4, EVENTS - 100), KILLS)):
            proc = _spawn(url, backend, bootstrap, topic, group)
            await _wait_for(engine, group, point, proc)
            await asyncio.sleep(rng.uniform(0, 0.05))  # land at a different phase of the batch each time
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            exposed += await _applied_not_committed(engine, bus, topic, group)
        assert exposed > 0, "no kill left applied-but-uncommitted messages: the inbox was not exercised"
        proc = _spawn(url, backend, bootstrap, topic, group)
        try:
            await _wait_for(engine, group, EVENTS, proc)
            await asyncio.sleep(1.0)  # anything applied twice would arrive now
        finally:
            proc.kill()
            proc.wait()
        await _assert_exactly_once(engine, group, unique)
    finally:
        await bus.stop()
        await engine.dispose()


async def _applied_not_committed(engine: AsyncEngine, bus: Bus, topic: str, group: str) -> int:
    committed = sum(info.committed.get(group, 0) for info in await bus.describe([topic]))
    return await _count(engine, group) - committed


async def _assert_exactly_once(engine: AsyncEngine, group: str, unique: str) -> None:
    async with engine.connect() as conn:
        per_message = (await conn.execute(
            sa.select(effect_log.c.seq, sa.func.count())
            .where(effect_log.c.group_id == group).group_by(effect_log.c.seq)
        )).all()
        events = await conn.scalar(
            sa.select(sa.func.sum(bench_state.c.events)).where(bench_state.c.key.like(f"{unique}-%"))
        )
    counts = dict(per_message)
    assert sorted(counts) == list(range(EVENTS)), "a message was never applied"
    assert {n: c for n, c in counts.items() if c != 1} == {}, "a message was applied more than once"
    assert events == EVENTS
