"""An operator's view of an outbox row over ``message_bytes_max``: a real daemon parks it and goes on
publishing, ``/api/ops/outbox/parked`` and ``/metrics`` show it, a release is refused while the limit stands,
and after the limit is raised (a restart) the release reaches the consumer group.

Run on the embedded stack (SQLite and the SQL-log bus) and on PostgreSQL with Kafka, whose producer and topic
enforce the limit themselves."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from gateway.bus import outbox
from gateway.bus.base import OutgoingRecord
from schemas.bench import BenchEvent
from schemas.envelope import new_envelope
from tests.http.support import wait_for
from tests.http.test_ops_api import Running, running, wait_consumed

LIMIT_BYTES = 2_048
RAISED_BYTES = 131_072
BIG_BYTES = 100_000  # over the old limit with the topic's overhead (kafka.RECORD_OVERHEAD_BYTES)


async def queue(app: Running, sizes_bytes: list[int]) -> list[str]:
    """Queue a bench event per size, its JSON padded with blanks to that size; their message ids."""
    now = dt.datetime.now(dt.UTC)
    items = []
    for seq, size in enumerate(sizes_bytes):
        message_id, rec = outbox.envelope_record(
            app.topic, new_envelope(BenchEvent(seq=seq, amount=1), key="k", now=now)
        )
        assert len(rec.value) <= size
        padded = rec.value + b" " * (size - len(rec.value))  # JSON allows trailing blanks
        items.append((message_id, OutgoingRecord(rec.topic, rec.key, padded, rec.headers)))
    async with app.daemon.engine.begin() as conn:
        await outbox.add(conn, items, now)
    app.daemon.relay.notify()
    return [str(message_id) for message_id, _ in items]


async def parked_metric(app: Running) -> float | None:
    async with app.http.get(app.url + "/metrics") as response:
        text = await response.text()
    values = [line.split()[1] for line in text.splitlines() if line.startswith("proud_outbox_parked ")]
    return float(values[0]) if values else None


async def wait_none_parked(app: Running) -> None:
    async def none_parked() -> bool | None:
        return True if await parked_metric(app) == 0 else None

    await wait_for(none_parked, "proud_outbox_parked back to 0")


async def park_then_release(environ: dict[str, str], unique: str) -> None:
    limited = {**environ, "PROUD_MESSAGE_BYTES_MAX": str(LIMIT_BYTES)}
    async for app in running(limited, unique):
        ids = await queue(app, [400, BIG_BYTES, 500])
        await wait_consumed(app, 2)  # the row after the big one was not held back
        view: dict[str, Any] = await app.get("/api/ops/outbox/parked")
        assert view["total"] == 1
        [row] = view["parked"]
        assert (row["message_id"], row["topic"], row["key"], row["size_bytes"]) == (
            ids[1], app.topic, "k", BIG_BYTES
        )
        assert f"over message_bytes_max of {LIMIT_BYTES} bytes" in row["reason"]
        assert await parked_metric(app) == 1
        refused = await app.post(f"/api/ops/outbox/parked/{row['seq']}/release", status=409)
        assert f"{BIG_BYTES} bytes, still over message_bytes_max of {LIMIT_BYTES}" in refused["error"]
        assert str(row["seq"] + 1_000) in (
            await app.post(f"/api/ops/outbox/parked/{row['seq'] + 1_000}/release", status=404)
        )["error"]
        bad = await app.post("/api/ops/outbox/parked/1e3/release", status=400)
        assert (bad["parameter"], bad["value"]) == ("seq", "1e3")
        seq = row["seq"]

    raised = {**environ, "PROUD_MESSAGE_BYTES_MAX": str(RAISED_BYTES)}
    async for app in running(raised, unique, start=2):  # the operator raised the limit and restarted
        released = await app.post(f"/api/ops/outbox/parked/{seq}/release")
        assert [r["message_id"] for r in released["released"]] == [ids[1]]
        await wait_consumed(app, 3)
        await wait_none_parked(app)
        assert (await app.get("/api/ops/outbox/parked")) == {"parked": [], "total": 0}


async def test_embedded_parks_and_releases(sqlite_url: str, unique: str) -> None:
    await park_then_release({"PROUD_DATABASE_URL": sqlite_url}, unique)


@pytest.mark.postgres
@pytest.mark.kafka
async def test_kafka_parks_and_releases(pg_url: str, kafka_bootstrap: str, unique: str) -> None:
    await park_then_release({"PROUD_DATABASE_URL": pg_url, "PROUD_KAFKA_BOOTSTRAP": kafka_bootstrap}, unique)

