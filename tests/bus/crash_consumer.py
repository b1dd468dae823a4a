"""A consumer process for the crash tests: applies bench events (with an effect_log row each) until killed.

    python -m tests.bus.crash_consumer DATABASE_URL BACKEND BOOTSTRAP TOPIC GROUP [SELF_KILL_AFTER_BATCHES]

It runs the real ``ConsumerRunner`` loop with small batches, so a SIGKILL from the test lands inside a
batch's database transaction, between the commit and the offset commit, or while fetching, depending on
timing. With SELF_KILL_AFTER_BATCHES = n, the process SIGKILLs itself right after the n-th batch's database
commit and before its offsets are committed: the one window where only the inbox prevents a double effect.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Sequence
from typing import Any

from gateway.bench.handler import BenchHandler
from gateway.bus.base import Bus, Record
from gateway.bus.kafka import KafkaBus
from gateway.bus.retry import RetryPolicy
from gateway.bus.runner import ConsumerRunner
from gateway.bus.sqllog import SqlLogBus
from gateway.clock import SystemClock
from gateway.store.db import create_engine

BATCH_MAX = 50


class SelfKillingRunner(ConsumerRunner):
    def __init__(self, *, kill_after_batches: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.batches_left = kill_after_batches

    async def process(self, records: Sequence[Record]) -> None:
        await super().process(records)
        self.batches_left -= 1
        if self.batches_left == 0:
            os.kill(os.getpid(), signal.SIGKILL)


async def main(url: str, backend: str, bootstrap: str, topic: str, group: str, kill_after: str = "0") -> None:
    engine = create_engine(url)
    clock = SystemClock()
    bus: Bus = (
        KafkaBus(bootstrap) if backend == "kafka" else SqlLogBus(engine, clock=clock, session_timeout_s=2.0)
    )
    await bus.start()
    runner = SelfKillingRunner(
        kill_after_batches=int(kill_after),
        engine=engine,
        bus=bus,
        subscription=BenchHandler(log_effects=True).subscription(group, [topic]),
        clock=clock,
        retry=RetryPolicy(),
        batch_max=BATCH_MAX,
        poll_timeout_s=0.1,
        message_bytes_max=10_000,
    )
    await runner.start()
    print("consumer started", flush=True)
    await asyncio.Event().wait()  # until killed


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:7]))
