"""Housekeeping the daemon runs on a timer: trim the SQL log past each topic's retention, and forget inbox
entries older than the longest time a message can still be redelivered.

The inbox is what makes redelivery harmless, so its retention must exceed the longest topic retention:
an entry dropped earlier would let a redelivered message apply twice. ``inbox_retention_s`` defaults to
60 days (twice the 30 days dead-letter topics keep) and start-up refuses one not longer than
every registered topic's retention.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.bus.base import Bus
from gateway.bus.sqllog import SqlLogBus
from gateway.clock import Clock
from gateway.errors import ProudError
from gateway.store.tables import inbox
from gateway.tasks import failure, spawn

log = structlog.get_logger(__name__)

#: How often housekeeping runs.
MAINTENANCE_INTERVAL_S = 300.0
#: Inbox rows deleted per statement, so one purge never holds locks for long.
INBOX_PURGE_BATCH_ROWS = 10_000
#: Purge statements per round; what is left waits for the next round.
INBOX_PURGE_BATCHES_MAX = 100


class Maintenance:
    def __init__(self, engine: AsyncEngine, bus: Bus, clock: Clock, *, inbox_retention_s: float) -> None:
        assert inbox_retention_s > 0
        self._engine, self._bus, self._clock = engine, bus, clock
        self._inbox_retention = dt.timedelta(seconds=inbox_retention_s)
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        assert self._task is None
        self._task = spawn(self._run(), "maintenance")

    async def stop(self) -> None:
        task, self._task = self._task, None
        self._stopping.set()
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)

    def failure(self) -> tuple[str, str] | None:
        """The loop's name and what ended it while it should run (``tasks.failure``), for ``/ready``."""
        return failure(self._task)

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.run_once()
            except (ProudError, sa.exc.SQLAlchemyError, OSError) as exc:
                log.warning("maintenance round failed", error=f"{exc.__class__.__name__}: {exc}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), MAINTENANCE_INTERVAL_S)

    async def run_once(self) -> dict[str, int]:
        done = {"log_rows_trimmed": 0, "inbox_rows_purged": await self.purge_inbox()}
        if isinstance(self._bus, SqlLogBus):
            done["log_rows_trimmed"] = await self._bus.trim()
        if any(done.values()):
            log.info("maintenance", **done)
        return done

    async def purge_inbox(self) -> int:
        cutoff = self._clock.now() - self._inbox_retention
        purged = 0
        for _ in range(INBOX_PURGE_BATCHES_MAX):
            async with self._engine.begin() as conn:
                victims = (
                    sa.select(inbox.c.group_id, inbox.c.message_id)
                    .where(inbox.c.processed_at < cutoff).limit(INBOX_PURGE_BATCH_ROWS)
                )
                result = await conn.execute(
                    inbox.delete().where(sa.tuple_(inbox.c.group_id, inbox.c.message_id).in_(victims))
                )
            purged += result.rowcount or 0
            if (result.rowcount or 0) < INBOX_PURGE_BATCH_ROWS:
                break
        return purged
