"""``proud outbox parked`` and ``proud outbox release`` on a real SQLite database: the rows a relay parked
over ``message_bytes_max``, a release refused while the limit stands, and one that queues them again."""

from __future__ import annotations

import asyncio
import json

from gateway.bus import outbox
from gateway.bus.base import OutgoingRecord
from gateway.bus.outbox import OutboxRelay
from gateway.clock import ManualClock
from gateway.ids import uuid7
from gateway.store.db import create_engine
from tests.bus.test_outbox_paths import CapturingBus
from tests.cli.test_cli import NOW, database_url, invoke, outbox_topics

LIMIT_BYTES = 1_024
BIG_BYTES = 3_000


async def park_one(url: str) -> None:
    """Queue a small row and one of ``BIG_BYTES``, and run a relay round under ``LIMIT_BYTES``."""
    engine = create_engine(url)
    try:
        rows = [(uuid7(), OutgoingRecord("bench.events", "k", b"x" * size)) for size in (10, BIG_BYTES)]
        async with engine.begin() as conn:
            await outbox.add(conn, rows, NOW)
        relay = OutboxRelay(engine, CapturingBus(), clock=ManualClock(NOW), batch_max=10, poll_interval_s=1.0,
                            sent_retention_s=60.0, record_bytes_max=LIMIT_BYTES)
        assert await relay.run_once() == 2  # one published, one parked
    finally:
        await engine.dispose()


def test_parked_rows_are_listed_and_released_once_the_limit_allows(
    migrated_env: dict[str, str | None],
) -> None:
    url = database_url(migrated_env)
    asyncio.run(park_one(url))
    listed = invoke(["outbox", "parked", "--json"], migrated_env)
    assert listed.exit_code == 0, listed.output
    view = json.loads(listed.stdout)
    assert view["total"] == 1
    [row] = view["parked"]
    assert (row["topic"], row["key"], row["size_bytes"]) == ("bench.events", "k", BIG_BYTES)
    table = invoke(["outbox", "parked"], migrated_env)
    assert table.exit_code == 0 and f"over message_bytes_max of {LIMIT_BYTES} bytes" in table.stdout

    low = {**migrated_env, "PROUD_MESSAGE_BYTES_MAX": str(LIMIT_BYTES)}
    refused = invoke(["outbox", "release", str(row["seq"])], low)
    assert refused.exit_code == 1
    assert f"is {BIG_BYTES} bytes, still over message_bytes_max of {LIMIT_BYTES}" in refused.stderr
    unknown = invoke(["outbox", "release", str(row["seq"] + 99)], migrated_env)
    assert unknown.exit_code == 1 and f"seq {row['seq'] + 99}" in unknown.stderr
    for wrong in (["outbox", "release"], ["outbox", "release", str(row["seq"]), "--all"]):
        usage = invoke(wrong, migrated_env)
        assert usage.exit_code == 2 and "name parked rows by seq, or give --all" in usage.stderr

    released = invoke(["outbox", "release", "--all"], migrated_env)  # the default limit, 1 MiB, allows it
    assert released.exit_code == 0, released.output
    assert f"released {row['seq']}: message {row['message_id']}" in released.stdout
    after = json.loads(invoke(["outbox", "parked", "--json"], migrated_env).stdout)
    assert after == {"parked": [], "total": 0}
    assert asyncio.run(outbox_topics(url)) == ["bench.events", "bench.events"]  # sent, then released
