"""The process runtime inside a real daemon (SQLite, SQL-log bus, a copy of the repository's ``rules/``, a
manual clock): instances, timers and their ops API, reloading the rules without a restart, start-up refusal.

Messages go in through the outbox like any producer's; the scheduler, relay and consumers run their own
loops, so each step is awaited through the API rather than driven by hand.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import sqlalchemy as sa
import typer
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from gateway.bus import outbox
from gateway.bus.handler import HandlerContext, Subscription
from gateway.cli.rules_reload import reload_command
from gateway.clock import ManualClock
from gateway.config import load_settings
from gateway.daemon import Daemon
from gateway.errors import ConfigError
from gateway.http.api_keys import Role
from gateway.process.calendar import PRAGUE
from gateway.process.tables import process_machine_version
from schemas.envelope import Envelope, Payload, new_envelope
from schemas.process import InvoiceOverdue, PaymentReceived, ReminderRequested
from tests.http.support import bearer, free_port, new_key, wait_for
from tests.process.rules_support import REPO_RULES

NOW = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC)  # Monday, 09:00 in Prague
FIRST_REMINDER_DUE = dt.datetime(2026, 12, 14, 9, 0, tzinfo=PRAGUE)  # 10 working days later
FINAL_DATE = dt.date(2027, 1, 20)
MACHINE_FILE = "machines/reminder.yaml"


@dataclass
class App:
    daemon: Daemon
    url: str
    http: aiohttp.ClientSession
    clock: ManualClock
    rules: Path
    #: The admin key every request of ``http`` carries.
    api_key: str
    emitted: list[Envelope] = field(default_factory=list)

    async def call(self, method: str, path: str, status: int) -> Any:
        async with self.http.request(method, self.url + path) as response:
            body = await response.json()
            assert response.status == status, body
            return body

    async def get(self, path: str, status: int = 200) -> Any:
        return await self.call("GET", path, status)

    async def reload(self, status: int = 200) -> Any:
        return await self.call("POST", "/api/ops/rules/reload", status)

    async def send(self, key: str, body: Payload) -> None:
        """Queue a message on payments.events through the outbox, as a producer in our database would."""
        envelope = new_envelope(body, key=key, now=self.clock.now())
        async with self.daemon.engine.begin() as conn:
            await outbox.add(conn, [outbox.envelope_record("payments.events", envelope)], self.clock.now())
        self.daemon.relay.notify()

    async def overdue(self, key: str, amount: str = "1200.50") -> None:
        body = InvoiceOverdue(invoice=f"FV-{key}", amount=Decimal(amount), final_date=FINAL_DATE)
        await self.send(key, body)

    async def instance(self, key: str, state: str | None = None) -> dict[str, Any]:
        async def probe() -> dict[str, Any] | None:
            async with self.http.get(f"{self.url}/api/ops/processes/reminder/{key}") as response:
                if response.status == 404:
                    return None
                body: dict[str, Any] = await response.json()
                assert response.status == 200, body
                return body if state is None or body["state"] == state else None

        return await wait_for(probe, f"reminder {key} in state {state or 'any'}")

    async def reminders(self, count: int) -> dict[str, ReminderRequested]:
        async def probe() -> dict[str, ReminderRequested] | None:
            found = {e.key: e.payload for e in self.emitted if isinstance(e.payload, ReminderRequested)}
            return found if len(found) >= count else None

        return await wait_for(probe, f"{count} process.reminder_requested message(s)")

    def line_of(self, text: str) -> int:
        """The 1-based line of the copied reminder.yaml where ``text`` first occurs."""
        content = (self.rules / MACHINE_FILE).read_text(encoding="utf-8")
        assert text in content, text
        return content[: content.index(text)].count("\n") + 1

    def edit_machine(self, old: str, new: str) -> int:
        """Replace text in the copied reminder.yaml; returns the line of the replacement."""
        line, path = self.line_of(old), self.rules / MACHINE_FILE
        path.write_text(path.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")
        return line


def copy_rules(tmp_path: Path) -> Path:
    """The repository's reminder machine alone (with its decision table): these tests count machines."""
    target = tmp_path / "rules"
    for part in ("machines/reminder.yaml", "decisions/reminder_level.json", "tests/reminder.yaml"):
        (target / part).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REPO_RULES / part, target / part)
    return target


def settings_environ(sqlite_url: str, rules: Path, port: int, **extra: str) -> dict[str, str]:
    return {
        "PROUD_DATABASE_URL": sqlite_url, "PROUD_HTTP_PORT": str(port), "PROUD_RULES_DIR": str(rules),
        "PROUD_TIMER_POLL_INTERVAL_S": "0.05", "PROUD_CONSUMER_POLL_TIMEOUT_S": "0.1",
        **{f"PROUD_{name.upper()}": value for name, value in extra.items()},
    }


@asynccontextmanager
async def running(sqlite_url: str, rules: Path, **extra: str) -> AsyncIterator[App]:
    port, clock = free_port(), ManualClock(NOW)
    emitted: list[Envelope] = []

    async def collect(ctx: HandlerContext) -> None:
        emitted.append(ctx.envelope)

    watch = Subscription("test.process-events", ("process.events",), collect)
    settings = load_settings(environ=settings_environ(sqlite_url, rules, port, **extra))
    daemon = Daemon(settings, clock=clock, subscriptions=[watch])
    await daemon.start()
    try:
        secret = await new_key(daemon.engine, Role.ADMIN, "processes")  # a fresh SQLite file per test
        async with aiohttp.ClientSession(headers=bearer(secret)) as http:
            yield App(daemon, f"http://127.0.0.1:{port}", http, clock, rules, secret, emitted)
    finally:
        await daemon.stop()


@pytest.fixture
async def app(sqlite_url: str, tmp_path: Path) -> AsyncIterator[App]:
    async with running(sqlite_url, copy_rules(tmp_path)) as started:
        yield started


async def metric_samples(app: App) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    async with app.http.get(app.url + "/metrics") as response:
        text = await response.text()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text) for s in family.samples
    }


def utc(instant: dt.datetime) -> str:
    return instant.astimezone(dt.UTC).isoformat()


def query_time(instant: dt.datetime) -> str:
    return instant.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


async def test_an_instance_its_timer_and_its_transition_through_the_ops_api(app: App) -> None:
    [empty] = (await app.get("/api/ops/processes"))["machines"]
    assert (empty["machine"], empty["instances"], empty["counts"]) == ("reminder", 0, [])
    version = empty["version"]

    await app.overdue("CA-1")
    detail = await app.instance("CA-1", "open")
    assert (detail["version"], detail["current_version"]) == (version, version)
    assert detail["data"] == {"reminders_sent": 0, "amount_due": "1200.50", "final_date": "2027-01-20"}
    assert [(h["from"], h["to"], h["disposition"]) for h in detail["history"]] == [(None, "open", "created")]
    [timer] = detail["pending_timers"]
    assert (timer["name"], timer["due_at"]) == ("first_reminder", utc(FIRST_REMINDER_DUE))

    [machine] = (await app.get("/api/ops/processes"))["machines"]
    assert machine["counts"] == [{"version": version, "state": "open", "count": 1}]
    assert machine["pending_timers"] == 1 and machine["file"].endswith(MACHINE_FILE)

    at_due = FIRST_REMINDER_DUE.astimezone(dt.UTC)
    assert (await app.get(f"/api/ops/timers?due_before={query_time(at_due)}"))["count"] == 0  # strictly
    prague = (FIRST_REMINDER_DUE + dt.timedelta(seconds=1)).isoformat()
    for encoded in (prague.replace("+", "%2B"), prague):  # an unescaped "+" arrives as a space: accepted
        assert (await app.get(f"/api/ops/timers?due_before={encoded}"))["count"] == 1
    later = query_time(at_due + dt.timedelta(seconds=1))
    listed = await app.get(f"/api/ops/timers?due_before={later}&machine=reminder&limit=1")
    assert [(t["key"], t["name"]) for t in listed["timers"]] == [("CA-1", "first_reminder")]
    assert listed["limit"] == 1 and listed["due_before"] == utc(at_due + dt.timedelta(seconds=1))

    samples = await metric_samples(app)
    created = (("disposition", "created"), ("machine", "reminder"))
    assert samples[("proud_process_dispositions_total", created)] == 1
    assert samples[("proud_process_timers_pending", (("machine", "reminder"),))] == 1

    app.clock.set(FIRST_REMINDER_DUE)  # the scheduler's own loop fires it
    detail = await app.instance("CA-1", "reminded")
    assert detail["data"]["reminders_sent"] == 1
    assert [(h["from"], h["to"], h["message_type"]) for h in detail["history"]][1:] == [
        ("open", "reminded", "process.timer")
    ]
    transition = f"{app.rules / MACHINE_FILE}:{app.line_of('on: timer.first_reminder')}"
    assert detail["history"][1]["transition_at"] == transition
    [final] = detail["pending_timers"]  # by 10:00, 2 working days before 20 January
    final_due = dt.datetime(2027, 1, 18, 10, tzinfo=PRAGUE)
    assert (final["name"], final["due_at"]) == ("final_notice", utc(final_due))
    assert await app.reminders(1) == {"CA-1": ReminderRequested(level=1, amount_due=Decimal("1200.50"))}
    assert (await app.get("/api/ops/timers"))["timers"][0]["name"] == "final_notice"


async def test_unknown_machine_and_key_are_404_and_bad_parameters_400(app: App) -> None:
    body = await app.get("/api/ops/processes/nope/CA-1", status=404)
    assert body == {"error": "unknown machine 'nope'; known: ['reminder']"}
    body = await app.get("/api/ops/processes/reminder/CA-missing", status=404)
    assert "'reminder'" in body["error"] and "'CA-missing'" in body["error"]
    assert "unknown machine 'nope'" in (await app.get("/api/ops/timers?machine=nope", status=404))["error"]
    for query, parameter, value in [
        ("due_before=tomorrow", "due_before", "tomorrow"),
        ("due_before=2026-12-14T09:00:00", "due_before", "2026-12-14T09:00:00"),  # no offset: ambiguous
        ("due_before=2026-12-14T09:00:00+1", "due_before", "2026-12-14T09:00:00 1"),
        ("limit=0", "limit", "0"),
        ("limit=1001", "limit", "1001"),
    ]:
        body = await app.get(f"/api/ops/timers?{query}", status=400)
        assert (body["parameter"], body["value"]) == (parameter, value), body
        assert repr(value) in body["error"]


async def test_reload_registers_a_new_version_and_running_instances_keep_theirs(app: App) -> None:
    await app.overdue("CA-old")
    old_version = (await app.instance("CA-old", "open"))["version"]
    # A semantic change: an earlier first reminder, and of level 2.
    app.edit_machine("after: 10 working days", "after: 3 working days")
    app.edit_machine("send_reminder: {level: 1}", "send_reminder: {level: 2}")

    reloaded = await app.reload()
    [entry] = reloaded["machines"]
    new_version = entry["version"]
    assert reloaded["status"] == "reloaded" and new_version != old_version
    assert entry == {"machine": "reminder", "version": new_version, "previous_version": old_version,
                     "changed": True}
    async with app.daemon.engine.connect() as conn:
        versions = set((await conn.scalars(sa.select(process_machine_version.c.version))).all())
    assert versions == {old_version, new_version}

    await app.overdue("CA-new")
    new = await app.instance("CA-new", "open")
    assert new["version"] == new_version
    assert new["pending_timers"][0]["due_at"] == utc(dt.datetime(2026, 12, 3, 9, tzinfo=PRAGUE))
    [machine] = (await app.get("/api/ops/processes"))["machines"]
    assert machine["version"] == new_version
    assert machine["counts"] == sorted([
        {"version": old_version, "state": "open", "count": 1},
        {"version": new_version, "state": "open", "count": 1},
    ], key=lambda c: c["version"])

    app.clock.set(FIRST_REMINDER_DUE)  # both first reminders are due: each instance on its own definition
    assert (await app.instance("CA-old", "reminded"))["version"] == old_version
    assert (await app.instance("CA-new", "reminded"))["version"] == new_version
    reminders = await app.reminders(2)
    assert (reminders["CA-old"].level, reminders["CA-new"].level) == (1, 2)
    assert (await app.reload())["status"] == "unchanged"


async def test_reload_with_errors_is_422_and_the_running_definitions_stay(app: App) -> None:
    [machine] = (await app.get("/api/ops/processes"))["machines"]
    line = app.edit_machine("target: paid", "target: payed")
    body = await app.reload(status=422)
    assert "the running definitions stay" in body["error"]
    expected = f"{app.rules / MACHINE_FILE}:{line}: transition target 'payed'"
    assert any(problem.startswith(expected) for problem in body["problems"]), body["problems"]

    await app.overdue("CA-3")
    assert (await app.instance("CA-3", "open"))["version"] == machine["version"]
    await app.send("CA-3", PaymentReceived(amount=Decimal("1200.50")))  # the old "target: paid" still works
    await app.instance("CA-3", "paid")
    samples = await metric_samples(app)
    assert samples[("proud_rules_reloads_total", (("result", "refused"),))] == 1

    app.edit_machine("target: payed", "target: paid")
    assert (await app.reload())["status"] == "unchanged"


async def test_reload_starts_consumers_of_added_machines_and_stops_those_of_removed_ones(app: App) -> None:
    copy = app.rules / "machines" / "second.yaml"
    text = (app.rules / MACHINE_FILE).read_text(encoding="utf-8")
    copy.write_text(text.replace("machine: reminder", "machine: second_reminder"), encoding="utf-8")
    reloaded = await app.reload()
    assert [(m["machine"], m["changed"]) for m in reloaded["machines"]] == [
        ("reminder", False), ("second_reminder", True)
    ]
    assert set(app.daemon.process_runners) == {"reminder", "second_reminder"}

    await app.overdue("CA-both")
    await app.instance("CA-both", "open")

    async def second_instance() -> dict[str, Any] | None:
        machines = {m["machine"]: m for m in (await app.get("/api/ops/processes"))["machines"]}
        return machines["second_reminder"] if machines["second_reminder"]["instances"] == 1 else None

    await wait_for(second_instance, "an instance of the added machine")

    copy.unlink()
    assert (await app.reload())["removed"] == ["second_reminder"]
    assert set(app.daemon.process_runners) == {"reminder"}
    machines = {m["machine"]: m for m in (await app.get("/api/ops/processes"))["machines"]}
    assert machines["second_reminder"]["loaded"] is False and machines["second_reminder"]["instances"] == 1
    assert (await app.get("/api/ops/processes/second_reminder/CA-both"))["current_version"] is None


async def test_rules_reload_command_prints_versions_or_problems(app: App) -> None:
    cli = typer.Typer()
    cli.command()(reload_command)

    def invoke() -> Any:
        # In a thread: the command runs its own event loop, and this test's loop serves the daemon.
        return asyncio.to_thread(CliRunner().invoke, cli, ["--url", app.url, "--api-key", app.api_key])

    result = await invoke()
    assert result.exit_code == 0, result.output
    assert "reminder: version " in result.stdout and "unchanged" in result.stdout
    line = app.edit_machine("initial: open", "initial: opened")
    result = await invoke()
    assert result.exit_code == 1
    assert f"{app.rules / MACHINE_FILE}:{line}: initial state 'opened' is not a state" in result.stdout
    result = await asyncio.to_thread(CliRunner().invoke, cli, ["--url", f"http://127.0.0.1:{free_port()}"])
    assert result.exit_code == 1 and "cannot reload through" in result.stderr


async def test_changed_files_are_reloaded_when_watching(sqlite_url: str, tmp_path: Path) -> None:
    rules = copy_rules(tmp_path)
    async with running(sqlite_url, rules, rules_reload_on_change="true", rules_reload_poll_s="0.1") as app:
        [before] = (await app.get("/api/ops/processes"))["machines"]
        app.edit_machine("after: 10 working days", "after: 4 working days")

        async def reloaded() -> str | None:
            [machine] = (await app.get("/api/ops/processes"))["machines"]
            return machine["version"] if machine["version"] != before["version"] else None

        await wait_for(reloaded, "the watcher reloading the changed file")


async def test_start_refuses_rules_with_errors_and_runs_without_a_rules_directory(
    sqlite_url: str, tmp_path: Path
) -> None:
    rules = copy_rules(tmp_path)
    text = (rules / MACHINE_FILE).read_text(encoding="utf-8")
    (rules / MACHINE_FILE).write_text(text.replace("target: escalated", "target: escalate"), encoding="utf-8")
    line = text[: text.index("target: escalated")].count("\n") + 1
    daemon = Daemon(load_settings(environ=settings_environ(sqlite_url, rules, free_port())))
    with pytest.raises(ConfigError) as refused:
        await daemon.start()
    await daemon.stop()
    assert refused.value.key == "rules_dir"
    assert f"{rules / MACHINE_FILE}:{line}: transition target 'escalate'" in refused.value.message

    async with running(sqlite_url, tmp_path / "no-such-rules") as app:
        assert (await app.get("/api/ops/processes"))["machines"] == []
        body = await app.reload(status=422)
        assert body["problems"] == [f"{tmp_path / 'no-such-rules'}:1: directory not found"]
