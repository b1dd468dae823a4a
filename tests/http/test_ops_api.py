"""The HTTP surface of a real daemon: probes, metrics, topics and the dead-letter API.

Most tests run the embedded stack (SQLite and the SQL-log bus); ``test_kafka_*`` run PostgreSQL and Kafka.
Topic and group names are unique per test, because Kafka topics and groups outlive a test run.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
import structlog
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from gateway.bench.handler import BenchHandler
from gateway.bus.topics import TopicRegistry, TopicSpec
from gateway.config import load_settings
from gateway.daemon import Daemon
from gateway.http.api_keys import Role
from gateway.http.app import READY_CHECK_TIMEOUT_S, json_errors, start_http, stop_http
from tests.http.support import bearer, free_port, new_key, publish_events, publish_malformed, wait_for

PARTITIONS = 2


@dataclass
class Running:
    daemon: Daemon
    url: str
    topic: str
    group: str
    http: aiohttp.ClientSession

    async def get(self, path: str, status: int = 200) -> Any:
        async with self.http.get(self.url + path) as response:
            body = await response.json()
            assert response.status == status, body
            return body

    async def post(self, path: str, status: int = 200) -> Any:
        async with self.http.post(self.url + path) as response:
            body = await response.json()
            assert response.status == status, body
            return body


async def running(environ: dict[str, str], unique: str, start: int = 1) -> AsyncIterator[Running]:
    """A daemon with the topic and group of ``unique``; ``start`` counts daemons on one database (the admin
    key's name must be new)."""
    port = free_port()
    settings = load_settings(environ={**environ, "PROUD_HTTP_PORT": str(port)})
    registry = TopicRegistry()
    topic = registry.register(TopicSpec(f"test.ops-{unique}", key_meaning="test key", partitions=PARTITIONS))
    group = f"test.ops-{unique}"
    subscription = BenchHandler(log_effects=True).subscription(group, [topic.name])
    daemon = Daemon(settings, topics=registry, subscriptions=[subscription])
    await daemon.start()
    try:
        # An admin key on every request: these tests are about the operator API, test_auth about the keys.
        secret = await new_key(daemon.engine, Role.ADMIN, unique if start == 1 else f"{unique}-{start}")
        async with aiohttp.ClientSession(headers=bearer(secret)) as http:
            yield Running(daemon, f"http://127.0.0.1:{port}", topic.name, group, http)
    finally:
        await daemon.stop()


@pytest.fixture
async def embedded(sqlite_url: str, unique: str) -> AsyncIterator[Running]:
    async for daemon in running({"PROUD_DATABASE_URL": sqlite_url}, unique):
        yield daemon


@pytest.fixture
async def on_kafka(pg_url: str, kafka_bootstrap: str, unique: str) -> AsyncIterator[Running]:
    environ = {"PROUD_DATABASE_URL": pg_url, "PROUD_KAFKA_BOOTSTRAP": kafka_bootstrap}
    async for daemon in running(environ, unique):
        yield daemon


def topic_entry(view: dict[str, Any], name: str) -> dict[str, Any]:
    return next(t for t in view["topics"] if t["name"] == name)


async def wait_consumed(app: Running, end_offset_total: int) -> dict[str, Any]:
    """The topics view once ``app.group`` committed everything up to ``end_offset_total`` records."""

    async def caught_up() -> dict[str, Any] | None:
        view: dict[str, Any] = await app.get("/api/ops/topics")
        entry = topic_entry(view, app.topic)
        done = entry["end_offset_total"] == end_offset_total and entry["lag"].get(app.group) == 0
        return view if done else None

    return await wait_for(caught_up, f"{app.group} consumed {end_offset_total} records")


async def wait_open_letter(app: Running, known: set[str]) -> dict[str, Any]:
    async def new_letter() -> dict[str, Any] | None:
        letters = (await app.get(f"/api/ops/dlq?topic={app.topic}"))["dead_letters"]
        fresh = [letter for letter in letters if letter["id"] not in known]
        return fresh[0] if fresh else None

    return await wait_for(new_letter, f"a dead letter on {app.topic}")


async def test_health_and_ready(embedded: Running) -> None:
    assert await embedded.get("/health") == {"status": "ok"}
    checks = {"database": "ok", "bus": "ok", "loops": "ok"}
    assert await embedded.get("/ready") == {"status": "ok", "checks": checks}


async def test_ready_is_503_naming_a_background_loop_that_ended(
    embedded: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A loop retries what it expects to fail (the bus, the database); a bug ends it. The daemon must not
    look healthy then: the relay would never publish again."""

    async def broken_round() -> int:
        raise RuntimeError("a bug in a relay round")

    monkeypatch.setattr(embedded.daemon.relay, "run_once", broken_round)
    with structlog.testing.capture_logs() as logs:
        embedded.daemon.relay.notify()

        async def unready() -> dict[str, Any] | None:
            async with embedded.http.get(embedded.url + "/ready") as response:
                body: dict[str, Any] = await response.json()
                return body if response.status == 503 else None

        body = await wait_for(unready, "/ready reporting the relay's end")
    assert body == {"status": "unavailable", "checks": {
        "database": "ok", "bus": "ok", "loops": "outbox-relay ended: RuntimeError: a bug in a relay round",
    }}
    [ended] = [e for e in logs if e["event"] == "background loop ended by an error"]
    assert (ended["log_level"], ended["loop"], str(ended["exc_info"])) == (
        "error", "outbox-relay", "a bug in a relay round"
    )


async def test_metrics_after_messages_flowed(embedded: Running) -> None:
    await publish_events(embedded.daemon.bus, embedded.topic, 5)
    await wait_consumed(embedded, 5)
    async with embedded.http.get(embedded.url + "/metrics") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        text = await response.text()
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text) for s in family.samples
    }
    labels = (("group", embedded.group), ("topic", embedded.topic))
    assert samples[("proud_messages_in_total", labels)] == 5
    assert samples[("proud_handler_seconds_count", (("group", embedded.group),))] == 5
    lag = [
        value for (name, pairs), value in samples.items()
        if name == "proud_consumer_lag" and ("group", embedded.group) in pairs
    ]
    assert lag == [0.0] * PARTITIONS


async def test_topics_show_end_offsets_and_lag(embedded: Running) -> None:
    await publish_events(embedded.daemon.bus, embedded.topic, 7)
    view = await wait_consumed(embedded, 7)
    entry = topic_entry(view, embedded.topic)
    assert entry["key_meaning"] == "test key" and entry["partitions_found"] == PARTITIONS
    assert sum(p["end_offset"] for p in entry["partitions"]) == 7
    for partition in entry["partitions"]:
        assert partition["groups"][embedded.group] == {"committed": partition["end_offset"], "lag": 0}
    twin = topic_entry(view, embedded.topic + ".dlq")
    assert twin["partitions_found"] == 1 and twin["end_offset_total"] == 0
    assert view["lag_by_group"] == {embedded.group: 0}


async def test_dlq_list_show_replay(embedded: Running) -> None:
    await publish_malformed(embedded.daemon.bus, embedded.topic)
    letter = await wait_open_letter(embedded, set())
    assert letter["group"] == embedded.group and letter["status"] == "open"
    assert letter["error_type"] == "MalformedMessage" and letter["message_id"] is None
    listing = await embedded.get(f"/api/ops/dlq?group={embedded.group}&limit=10")
    assert listing["count"] == 1 and listing["open_total"] == 1
    assert listing["open"] == [{"topic": embedded.topic, "group": embedded.group, "count": 1}]

    detail = await embedded.get(f"/api/ops/dlq/{letter['id']}")
    assert detail["value"] == "{not json" and "unusable message" in detail["reason"]

    replayed = await embedded.post(f"/api/ops/dlq/{letter['id']}/replay")
    assert replayed["replayed"]["status"] == "replayed" and "outbox" in replayed["message"]
    again = await embedded.post(f"/api/ops/dlq/{letter['id']}/replay", status=409)
    assert "already replayed" in again["error"]
    assert (await embedded.get("/api/ops/dlq?status=replayed"))["count"] == 1
    # The relay published the replayed record, and the group failed it again: a second, open letter.
    second = await wait_open_letter(embedded, {letter["id"]})
    assert second["offset"] != letter["offset"]
    assert len((await embedded.get("/api/ops/dlq?status=all"))["dead_letters"]) == 2


@pytest.mark.parametrize(
    ("path", "parameter", "value"),
    [
        ("/api/ops/dlq?limit=0", "limit", "0"),
        ("/api/ops/dlq?limit=1001", "limit", "1001"),
        ("/api/ops/dlq?limit=many", "limit", "many"),
        ("/api/ops/dlq?status=closed", "status", "closed"),
        ("/api/ops/dlq/not-a-uuid", "id", "not-a-uuid"),
    ],
)
async def test_dlq_bad_parameters_are_400(embedded: Running, path: str, parameter: str, value: str) -> None:
    body = await embedded.get(path, status=400)
    assert body["parameter"] == parameter and body["value"] == value
    assert repr(parameter) in body["error"] and repr(value) in body["error"]


async def test_dlq_unknown_id_is_404(embedded: Running) -> None:
    missing = uuid.uuid4()
    assert str(missing) in (await embedded.get(f"/api/ops/dlq/{missing}", status=404))["error"]
    assert str(missing) in (await embedded.post(f"/api/ops/dlq/{missing}/replay", status=404))["error"]
    assert (await embedded.post("/api/ops/dlq/bad/replay", status=400))["parameter"] == "id"
    assert "error" in await embedded.get("/no/such/route", status=404)


async def test_ready_is_503_when_the_bus_is_unreachable(sqlite_url: str) -> None:
    # The HTTP app alone over a daemon whose Kafka is a closed port: the database answers, the bus does not.
    port = free_port()
    environ = {
        "PROUD_DATABASE_URL": sqlite_url, "PROUD_KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port()}",
        "PROUD_HTTP_PORT": str(port),
    }
    daemon = Daemon(load_settings(environ=environ), serve_http=False)
    runner = await start_http(daemon)
    try:
        async with aiohttp.ClientSession() as http:
            started = time.monotonic()
            async with http.get(f"http://127.0.0.1:{port}/ready") as response:
                body = await response.json()
                assert response.status == 503, body
            assert time.monotonic() - started < READY_CHECK_TIMEOUT_S + 1.0
            assert body["status"] == "unavailable"
            assert body["checks"]["database"] == "ok" and body["checks"]["bus"] != "ok"
            # Metrics are still served (with whatever lag values were known) while the bus is down.
            async with http.get(f"http://127.0.0.1:{port}/metrics") as response:
                assert response.status == 200
    finally:
        await stop_http(runner)
        await daemon.stop()


async def test_unexpected_errors_become_json_500() -> None:
    async def broken(_request: web.Request) -> web.Response:
        raise RuntimeError("a bug")

    app = web.Application(middlewares=[json_errors])
    app.add_routes([web.get("/broken", broken)])
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/broken") as response:
            assert response.status == 500
            body = await response.json()
        assert "error" in body and "a bug" not in body["error"]  # details go to the log, not the client
    finally:
        await runner.cleanup()


@pytest.mark.postgres
@pytest.mark.kafka
async def test_kafka_ready_and_topics(on_kafka: Running) -> None:
    assert (await on_kafka.get("/ready"))["checks"] == {"database": "ok", "bus": "ok", "loops": "ok"}
    await publish_events(on_kafka.daemon.bus, on_kafka.topic, 6)
    view = await wait_consumed(on_kafka, 6)
    entry = topic_entry(view, on_kafka.topic)
    assert entry["partitions_found"] == PARTITIONS
    assert {p["partition"] for p in entry["partitions"]} == set(range(PARTITIONS))
    assert topic_entry(view, on_kafka.topic + ".dlq")["partitions_found"] == 1
    assert view["lag_by_group"][on_kafka.group] == 0


@pytest.mark.postgres
@pytest.mark.kafka
async def test_kafka_dead_letter_api(on_kafka: Running) -> None:
    await publish_malformed(on_kafka.daemon.bus, on_kafka.topic)
    letter = await wait_open_letter(on_kafka, set())
    detail = await on_kafka.get(f"/api/ops/dlq/{letter['id']}")
    assert detail["topic"] == on_kafka.topic and detail["value"] == "{not json"
    await on_kafka.post(f"/api/ops/dlq/{letter['id']}/replay")
    await on_kafka.post(f"/api/ops/dlq/{letter['id']}/replay", status=409)
    replayed = await on_kafka.get(f"/api/ops/dlq?status=replayed&topic={on_kafka.topic}")
    assert [r["id"] for r in replayed["dead_letters"]] == [letter["id"]]
