"""Housekeeping: inbox entries are forgotten only after their retention; start-up refuses an inbox
retention that a topic's retention could outlast."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.bus.sqllog import SqlLogBus
from gateway.bus.topics import TopicRegistry, TopicSpec
from gateway.clock import ManualClock
from gateway.config import load_settings
from gateway.daemon import Daemon
from gateway.errors import ConfigError
from gateway.maintenance import Maintenance
from gateway.store.tables import inbox

START = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)


async def test_inbox_entries_are_purged_only_after_retention(sqlite_engine: AsyncEngine) -> None:
    clock = ManualClock(START)
    async with sqlite_engine.begin() as conn:
        await conn.execute(
            inbox.insert(),
            [
                {"group_id": "g", "message_id": uuid.uuid4(), "processed_at": START + dt.timedelta(days=d)}
                for d in (0, 0, 1, 5)
            ],
        )
    maintenance = Maintenance(
        sqlite_engine, SqlLogBus(sqlite_engine, clock=clock), clock, inbox_retention_s=2 * 86_400
    )
    assert (await maintenance.run_once())["inbox_rows_purged"] == 0
    clock.advance(dt.timedelta(days=3, seconds=1))
    assert (await maintenance.run_once())["inbox_rows_purged"] == 3
    async with sqlite_engine.connect() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(inbox)) == 1


async def test_daemon_refuses_inbox_retention_shorter_than_a_topic(tmp_path: object) -> None:
    registry = TopicRegistry()
    registry.register(TopicSpec("long.kept", "test", 1, retention_ms=30 * 86_400_000))
    settings = load_settings({"PROUD_DATA_DIR": str(tmp_path), "PROUD_INBOX_RETENTION_S": "86400"})
    daemon = Daemon(settings, topics=registry, serve_http=False)
    with pytest.raises(
        ConfigError, match=r"inbox_retention_s=86400\.0: must exceed the longest topic retention"
    ):
        await daemon.start()
    await daemon.engine.dispose()
