"""The durable timer scheduler: turns due timers into ``process.timer`` messages, each exactly once.

One transaction claims due ``pending`` timers (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several
daemons never claim the same row), marks them ``fired`` and writes one message per timer to the outbox.
A crash before the commit leaves them pending for the next round; after it, the outbox publishes them at
least once and the machine's inbox applies each once. The instance checks on receipt that the timer was
fired for its current entry into the current state, so a timer that raced with a transition is ignored.
"""

from __future__ import annotations

import asyncio
import contextlib

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.bus import outbox
from gateway.bus.outbox import OutboxRelay, envelope_record
from gateway.clock import Clock
from gateway.errors import ProudError
from gateway.process import store
from gateway.process.topics import PROCESS_TIMERS
from gateway.store.db import translate_errors
from gateway.tasks import failure, finish, spawn
from schemas.envelope import new_envelope
from schemas.process import TimerFired

log = structlog.get_logger(__name__)

#: Delay before the next round after the database failed.
SCHEDULER_ERROR_DELAY_S = 1.0


class TimerScheduler:
    def __init__(
        self,
        engine: AsyncEngine,
        clock: Clock,
        batch_max: int,
        poll_interval_s: float,
        *,
        relay: OutboxRelay | None = None,
    ) -> None:
        assert batch_max > 0 and poll_interval_s > 0
        self._engine, self._clock = engine, clock
        self._batch_max, self._poll_interval_s = batch_max, poll_interval_s
        self._relay = relay
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def start(self) -> None:
        assert self._task is None, "scheduler started twice"
        self._stopping.clear()
        self._task = spawn(self._run(), "timer-scheduler")

    async def stop(self) -> None:
        """Finish the round in hand, then stop. Idempotent."""
        task, self._task = self._task, None
        self._stopping.set()
        await finish(task)

    def failure(self) -> tuple[str, str] | None:
        """The loop's name and what ended it while it should run (``tasks.failure``), for ``/ready``."""
        return failure(self._task)

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                fired = await self.run_once()
            except (ProudError, sa.exc.SQLAlchemyError, OSError) as exc:
                # Pending timers stay pending when a round fails, so retrying later loses nothing.
                log.warning("timer scheduler failed, retrying", error=f"{exc.__class__.__name__}: {exc}")
                fired = 0
                delay_s = SCHEDULER_ERROR_DELAY_S
            else:
                delay_s = self._poll_interval_s
            if fired < self._batch_max:  # a full batch means more may be due: go again at once
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), delay_s)

    async def run_once(self) -> int:
        """Fire up to ``batch_max`` due timers in one transaction. Returns how many fired."""
        now = self._clock.now()
        with translate_errors("timer scheduler"):
            async with self._engine.begin() as conn:
                due = await store.claim_due_timers(conn, now, self._batch_max)
                records = [
                    envelope_record(PROCESS_TIMERS.name, new_envelope(
                        TimerFired(
                            machine=t.machine, name=t.name, timer_id=t.id, due_at=t.due_at, instance_key=t.key
                        ),
                        key=t.key, now=now, occurred_at=t.due_at,
                    ))
                    for t in due
                ]
                await outbox.add(conn, records, now)
        if due:
            log.info("timers fired", count=len(due))
            if self._relay is not None:
                self._relay.notify()
        return len(due)
