"""``/metrics`` reads the outbox backlog when scraped, not only when the relay last purged."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import sqlalchemy as sa

from gateway.bus import outbox
from gateway.config import load_settings
from gateway.daemon import Daemon
from gateway.http.app import refresh_outbox_pending
from schemas.bench import BenchEvent
from schemas.envelope import new_envelope


async def test_a_scrape_counts_the_unsent_outbox_rows(sqlite_url: str, tmp_path: Path) -> None:
    settings = load_settings(environ={"PROUD_DATABASE_URL": sqlite_url, "PROUD_DATA_DIR": str(tmp_path)})
    daemon = Daemon(settings)
    try:
        now = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
        envelopes = [new_envelope(BenchEvent(seq=n, amount=1), key="k", now=now) for n in range(3)]
        records = [outbox.envelope_record("bench.events", envelope) for envelope in envelopes]
        async with daemon.engine.begin() as conn:
            await outbox.add(conn, records, now)
        await refresh_outbox_pending(daemon)
        assert daemon.metrics.registry.get_sample_value("proud_outbox_pending") == 3
        async with daemon.engine.begin() as conn:  # the count fails now: the last value stays
            await conn.execute(sa.text("ALTER TABLE outbox RENAME TO outbox_gone"))
        await refresh_outbox_pending(daemon)
        assert daemon.metrics.registry.get_sample_value("proud_outbox_pending") == 3
    finally:
        await daemon.engine.dispose()
