"""The daemon: owns the store engine, the bus, the outbox relay, the consumers, the process runtime (rule
files, one consumer group per machine, the timer scheduler) and the HTTP server.

Start order is dependency order (rules, store, bus and topics, relay, consumers, timer scheduler, HTTP), and
stop is the reverse, so nothing is consumed before the relay can publish what handlers emit, and HTTP
answers ``/ready`` only once everything behind it runs. The rules are loaded first: a rule set with errors
stops start-up before anything touches the database or the bus.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from pathlib import Path

import msgspec
import structlog
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from connectors.ares.client import AresLookup
from connectors.ote.connector import OteConnector
from connectors.ote.simulator import SimulatorHandle
from connectors.ote.topics import OTE_INBOUND, OTE_OUTBOUND
from gateway import limits
from gateway.bus import create_bus
from gateway.bus.base import Bus
from gateway.bus.handler import Subscription
from gateway.bus.outbox import OutboxRelay
from gateway.bus.retry import RetryPolicy
from gateway.bus.runner import ConsumerRunner
from gateway.bus.topics import TOPICS, TopicRegistry, TopicSpec
from gateway.clock import Clock, SystemClock
from gateway.config import ARES_BASE_URL, Settings
from gateway.errors import ConfigError, Conflict
from gateway.maintenance import Maintenance
from gateway.market import MarketLink, start_demo_simulator
from gateway.masterdata.ares import ares_client
from gateway.masterdata.filestore import FileStore, LocalFileStore
from gateway.masterdata.topics import MASTERDATA_TOPICS
from gateway.metrics import Metrics
from gateway.process.actions import ACTIONS
from gateway.process.calendar import WorkingCalendar
from gateway.process.definition import Machine, Problem, Where
from gateway.process.runtime import (
    RULE_PROBLEMS_SHOWN_MAX,
    CheckedRules,
    ProcessRuntime,
    ReloadReport,
    RulesRefused,
    fingerprint,
    load_checked,
    problem_text,
)
from gateway.process.scheduler import TimerScheduler

# Imported for its effect: registers the process topics in TOPICS before any ``ensure_topics``.
from gateway.process.topics import PROCESS_EVENTS, PROCESS_TIMERS
from gateway.readings.topics import METER_READINGS
from gateway.store.db import create_engine
from gateway.store.migrate import ensure_current
from gateway.switching.config import install, switching_config
from gateway.switching.topics import SWITCH_EVENTS
from gateway.tasks import Loop, failure, finish, spawn, stop_in_order, stop_together

log = structlog.get_logger(__name__)

#: Topics written whichever machines are loaded: fired timers, emitted messages, the master-data changes
#: every API write announces, what OTE sends us and what we send it, the market facts of the switching
#: processes and meter readings (they must exist before the relay publishes the first one).
RUNTIME_TOPICS = (
    PROCESS_TIMERS, PROCESS_EVENTS, *MASTERDATA_TOPICS, OTE_INBOUND, OTE_OUTBOUND, SWITCH_EVENTS,
    METER_READINGS,
)


class Daemon:
    def __init__(
        self, settings: Settings, *, clock: Clock | None = None, calendar: WorkingCalendar | None = None,
        subscriptions: Sequence[Subscription] = (), topics: TopicRegistry = TOPICS, serve_http: bool = True,
    ) -> None:
        self.settings = settings
        self.clock: Clock = clock or SystemClock()
        self.calendar = calendar or WorkingCalendar()
        self.topics = topics
        self.metrics = Metrics()
        self.engine: AsyncEngine = create_engine(settings.effective_database_url)
        self.bus: Bus = create_bus(settings, self.engine, self.clock)
        self.relay = OutboxRelay(
            self.engine, self.bus, clock=self.clock, batch_max=settings.outbox_batch_max,
            poll_interval_s=settings.outbox_poll_interval_s,
            sent_retention_s=settings.outbox_sent_retention_s, record_bytes_max=settings.message_bytes_max,
            metrics=self.metrics,
        )
        self._retry = RetryPolicy(
            attempts_max=settings.retry_attempts_max, delay_s_initial=settings.retry_delay_s_initial,
            delay_s_max=settings.retry_delay_s_max,
        )
        self.runners = [self._runner(sub) for sub in subscriptions]
        self.processes = ProcessRuntime(calendar=self.calendar, actions=ACTIONS, metrics=self.metrics)
        #: One consumer per loaded machine (group ``process.<machine>``); reloads add and remove them.
        self.process_runners: dict[str, ConsumerRunner] = {}
        self.scheduler = TimerScheduler(
            self.engine, self.clock, settings.timer_batch_max, settings.timer_poll_interval_s,
            relay=self.relay,
        )
        self.maintenance = Maintenance(
            self.engine, self.bus, self.clock, inbox_retention_s=settings.inbox_retention_s
        )
        #: Where document bytes live (DMS); the API and the welcome-letter consumer share it.
        self.files: FileStore = LocalFileStore(settings.effective_documents_dir)
        #: ARES company look-up for customer entry (``from_ares``); None while ARES is off or not started.
        self.ares_lookup: Callable[[str], Awaitable[AresLookup]] | None = None
        self._ares = ares_client(settings, self.clock)
        self._ares_simulator: web.AppRunner | None = None
        self._ote_simulator: SimulatorHandle | None = None
        #: CS OTE: the callback service and outbound sends with their consumer, when configured.
        self.market = MarketLink(settings, engine=self.engine, clock=self.clock, runner=self._runner)
        self.ote: OteConnector | None = self.market.connector
        self._serve_http = serve_http
        self._http_runner: web.AppRunner | None = None
        self._started = False
        # A reload adds and removes consumers; stop must not snapshot them half-way, so the two exclude
        # each other. Reloads are accepted only while the process consumers run.
        self._rules_lock = asyncio.Lock()
        self._rules_live = False
        self._ensured_topics: set[str] = set()
        self._watcher: asyncio.Task[None] | None = None
        self._watch_stop = asyncio.Event()

    @property
    def rules_dir(self) -> Path:
        return Path(self.settings.rules_dir)

    def _runner(self, subscription: Subscription, batch_max: int | None = None) -> ConsumerRunner:
        s = self.settings
        return ConsumerRunner(
            engine=self.engine, bus=self.bus, subscription=subscription, clock=self.clock, retry=self._retry,
            batch_max=batch_max or s.consumer_batch_max, poll_timeout_s=s.consumer_poll_timeout_s,
            message_bytes_max=s.message_bytes_max, metrics=self.metrics, relay=self.relay,
        )

    def _topic_specs(self, machines: Iterable[Machine]) -> list[TopicSpec]:
        """The daemon's topics plus those the process runtime reads and writes, with dead-letter twins.

        Machine topics come from the daemon's registry or, for a daemon given its own (tests), the global
        one, where ``gateway.process.topics`` and domain packages register theirs.
        """
        specs = {spec.name: spec for spec in self.topics.all(with_dlq=False)}
        for name in [*(spec.name for spec in RUNTIME_TOPICS), *(t for m in machines for t in m.topics)]:
            spec = specs.get(name) or TOPICS.get(name)
            assert spec is not None, f"topic {name} passed the rules check but is registered nowhere"
            specs[name] = spec
        ordered = sorted(specs.values(), key=lambda spec: spec.name)
        return ordered + [spec.dlq for spec in ordered]

    def _check_retention(self, specs: Sequence[TopicSpec]) -> None:
        longest_ms = max((spec.retention_ms for spec in specs), default=0)
        if self.settings.inbox_retention_s * 1000 <= longest_ms:
            raise ConfigError(
                "inbox_retention_s", self.settings.inbox_retention_s,
                f"must exceed the longest topic retention ({longest_ms / 1000:.0f} s), or a message "
                "redelivered after its inbox entry was forgotten would apply twice",
            )

    async def _ensure_topics(self, specs: Sequence[TopicSpec]) -> None:
        missing = [spec for spec in specs if spec.name not in self._ensured_topics]
        if missing:
            await self.bus.ensure_topics(missing, self.settings.topic_partitions)
            self._ensured_topics.update(spec.name for spec in missing)

    async def _load_rules(self) -> CheckedRules:
        known = {spec.name for spec in (*self.topics.all(with_dlq=False), *TOPICS.all(with_dlq=False))}
        # In a thread: reading and compiling the files must not stall the consumers during a reload.
        return await asyncio.to_thread(
            load_checked, self.rules_dir, actions=ACTIONS.names(), topics=sorted(known)
        )

    async def _rules_at_start(self) -> CheckedRules:
        try:
            rules = await self._load_rules()
        except RulesRefused as exc:
            raise ConfigError("rules_dir", self.settings.rules_dir, exc.message) from None
        if not rules.present:
            # A fresh install has no rules directory; it runs, without processes, and says so.
            log.warning("rules directory not found: no process machines run", rules_dir=str(rules.root))
        for warning in rules.warnings:
            log.warning("rule file warning", problem=problem_text(warning))
        return rules

    async def start(self) -> None:
        assert not self._started, "daemon started twice"
        # Before the rules: switching actions read it, and a market source not implemented stops start-up.
        install(switching_config(self.settings))
        rules = await self._rules_at_start()
        specs = self._topic_specs(rules.machines.values())
        self._check_retention(specs)
        await ensure_current(self.settings.effective_database_url)
        await self.bus.start()
        await self._ensure_topics(specs)
        handler = self.processes.build(rules)
        # Before any instance can start on a version: its source must be known once the file changes.
        await handler.register_versions(self.engine, self.clock.now())
        self.processes.install(rules, handler)
        if self.settings.demo_data:
            from gateway.demo import seed

            log.info("demo data queued", events=await seed(self.engine, self.clock))
        await self.relay.start()
        for runner in self.runners:
            await runner.start()
        await self._start_process_consumers()
        # After the relay, which publishes what a round writes to the outbox (the scheduler wakes it), and
        # after the machines' consumers, which apply the timer messages.
        await self.scheduler.start()
        self._rules_live = True
        if self.settings.rules_reload_on_change:
            self._watch_stop.clear()
            self._watcher = spawn(self._watch_rules(rules.fingerprint), "rules-watcher")
        await self.maintenance.start()
        await self._start_ares()
        if self.settings.demo_data and self.market.connector is None:
            self._ote_simulator, settings = await start_demo_simulator(self.settings)
            self.market = MarketLink(settings, engine=self.engine, clock=self.clock, runner=self._runner)
            self.ote = self.market.connector
        await self.market.start()
        if self._serve_http:
            from gateway.http.app import start_http

            self._http_runner = await start_http(self)
        self._started = True
        log.info(
            "proud started", bus=self.settings.bus_backend, consumers=[r.group_id for r in self.runners],
            machines=self.processes.versions,
            http=f"{self.settings.http_host}:{self.settings.http_port}" if self._serve_http else None,
        )

    async def _start_ares(self) -> None:
        """The ARES client; a demo left on the default (public) ARES gets the local simulator instead."""
        if self.settings.demo_data and self.settings.ares_base_url == ARES_BASE_URL:
            from gateway.demo import start_ares_simulator

            self._ares_simulator, url = await start_ares_simulator()
            self._ares = ares_client(msgspec.structs.replace(self.settings, ares_base_url=url), self.clock)
        if self._ares is not None:
            await self._ares.start()
            self.ares_lookup = self._ares.lookup

    async def _start_process_consumers(self) -> None:
        """Start a consumer for every loaded machine that has none."""
        for name in self.processes.handler.machines:
            if name not in self.process_runners:
                runner = self._runner(self.processes.subscription(name))
                await runner.start()
                self.process_runners[name] = runner

    async def _stop_process_consumers(self, keep: Mapping[str, tuple[str, ...]]) -> None:
        """Stop the consumers of machines not in ``keep`` or that read other topics now; a stopping consumer
        finishes its batch on the definitions it started with."""
        for name, runner in list(self.process_runners.items()):
            if keep.get(name) != runner.subscription.topics:
                del self.process_runners[name]
                await runner.stop()

    async def reload_rules(self) -> ReloadReport:
        """Load and check the rules again; without errors, use them for every message from now on.

        With errors nothing changes and the report lists them. Otherwise new versions are registered, the
        consumers of removed machines (or of machines that read other topics now) stop, the new handler is
        installed and new machines' consumers start. Running instances stay on their version unless the new
        file's ``migrations`` maps them. Raises ``Conflict`` while the daemon is not running.
        """
        async with self._rules_lock:
            if not self._rules_live:
                raise Conflict("the daemon is not running or is stopping: no rules reload now")
            previous = self.processes.versions
            try:
                rules = await self._rules_for_reload()
            except RulesRefused as exc:
                self.metrics.rules_reloads.labels("refused").inc()
                errors = tuple(problem_text(problem) for problem in exc.problems)
                log.warning("rules reload refused", problems=errors[:RULE_PROBLEMS_SHOWN_MAX])
                return ReloadReport(str(self.rules_dir), errors=errors, versions=previous, previous=previous)
            await self._swap(rules)
        warnings = tuple(problem_text(problem) for problem in rules.warnings)
        report = ReloadReport(str(self.rules_dir), warnings, versions=rules.versions, previous=previous)
        self.metrics.rules_reloads.labels(report.view()["status"]).inc()
        log.info("rules reloaded", changed=report.changed, removed=report.removed, versions=report.versions)
        return report

    async def _rules_for_reload(self) -> CheckedRules:
        """The rules to reload, or ``RulesRefused`` saying why not."""
        rules = await self._load_rules()
        where = Where(str(rules.root), 1)
        if not rules.present:  # a vanished directory is a mistake far likelier than "no machines"
            raise RulesRefused(rules.root, [Problem(where, "directory not found")])
        try:
            self._check_retention(self._topic_specs(rules.machines.values()))
        except ConfigError as exc:  # a new machine reads a topic kept longer than the inbox remembers
            raise RulesRefused(rules.root, [Problem(where, exc.message)]) from None
        return rules

    async def _swap(self, rules: CheckedRules) -> None:
        handler = self.processes.build(rules)
        await self._ensure_topics(self._topic_specs(rules.machines.values()))
        await handler.register_versions(self.engine, self.clock.now())
        topics = {name: handler.subscription(name).topics for name in handler.machines}
        await self._stop_process_consumers(topics)
        self.processes.install(rules, handler)
        await self._start_process_consumers()

    async def _watch_rules(self, known: str) -> None:
        """Reload when the rule files change (``rules_reload_on_change``). Files that were refused are not
        tried again until they change; a reload that failed otherwise (database down) is retried next poll."""
        root, poll_s = self.rules_dir, self.settings.rules_reload_poll_s
        while not self._watch_stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._watch_stop.wait(), poll_s)
            if self._watch_stop.is_set():
                return
            try:
                seen = await asyncio.to_thread(fingerprint, root)
                if seen != known:
                    log.info("rule files changed, reloading", rules_dir=str(root))
                    await self.reload_rules()
                    known = seen
            except Conflict:
                return  # stopping
            except Exception as exc:  # the watcher must outlive one failed reload; the next poll retries
                log.warning("rules reload failed, retrying", error=f"{exc.__class__.__name__}: {exc}")

    def loop_failures(self) -> dict[str, str]:
        """The background loops that ended while they should run, by task name, and what ended them."""
        runners = [*self.runners, *self.process_runners.values(), *filter(None, [self.market.sender])]
        loops: list[Loop] = [self.relay, self.scheduler, self.maintenance, *runners]
        found = [loop.failure() for loop in loops] + [failure(self._watcher)]
        return dict(ended for ended in found if ended is not None)

    async def _stop_watcher(self) -> None:
        task, self._watcher = self._watcher, None
        self._watch_stop.set()
        await finish(task)

    async def stop(self) -> None:
        """Stop in reverse order of start. Idempotent; each step is bounded by ``SHUTDOWN_TIMEOUT_S``.

        HTTP and the rules watcher go first, then a reload in flight is waited for (it holds the rules
        lock and may be starting a consumer). The timer scheduler stops before the consumers: it produces
        their input, and producers stop before consumers, like HTTP's replays. The consumers and the
        housekeeping stop together (none feeds another). The relay stops after them, so its last rounds
        publish what they wrote, and the bus last.
        """
        self._rules_live = False
        first = [self._stop_watcher()]
        if self._http_runner is not None:
            from gateway.http.app import stop_http

            first.insert(0, stop_http(self._http_runner))
            self._http_runner = None
        await stop_in_order(first)
        await stop_in_order([self.market.stop()])
        if self._ote_simulator is not None:
            await stop_in_order([self._ote_simulator.stop()])
        if self._ares is not None:
            self.ares_lookup = None
            await stop_in_order([self._ares.stop()])
        if self._ares_simulator is not None:
            await stop_in_order([self._ares_simulator.cleanup()])
            self._ares_simulator = None
        try:
            await asyncio.wait_for(self._rules_lock.acquire(), limits.SHUTDOWN_TIMEOUT_S)
            self._rules_lock.release()
        except TimeoutError:
            log.error("a rules reload did not finish; stopping anyway")
        process_runners = list(self.process_runners.values())
        self.process_runners.clear()
        await stop_in_order([self.scheduler.stop()])
        # Each consumer finishes the batch in hand and waits out its poll: asked one after another, the
        # demo's seventeen took some five seconds; asked together, as long as the slowest.
        await stop_together([
            self.maintenance.stop(), *(r.stop() for r in [*self.runners, *process_runners]),
        ])
        await stop_in_order([self.relay.stop(), self.bus.stop()])
        await self.engine.dispose()
        self._started = False

    async def run_until_signalled(self) -> None:
        """``proud run``: start, serve until SIGINT or SIGTERM, stop."""
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stopping.set)
        await self.start()
        try:
            await stopping.wait()
        finally:
            log.info("proud stopping")
            await self.stop()
