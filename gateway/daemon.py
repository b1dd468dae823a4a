"""The daemon: owns the store engine, the bus, the outbox relay, the consumers and the HTTP server.

Start order is dependency order (store, bus and topics, relay, consumers, HTTP), and stop is the reverse,
so nothing is consumed before the relay can publish what handlers emit, and HTTP answers ``/ready`` only
once everything behind it runs.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Sequence

import structlog
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway import limits
from gateway.bus import create_bus
from gateway.bus.base import Bus
from gateway.bus.handler import Subscription
from gateway.bus.outbox import OutboxRelay
from gateway.bus.retry import RetryPolicy
from gateway.bus.runner import ConsumerRunner
from gateway.bus.topics import TOPICS, TopicRegistry
from gateway.clock import Clock, SystemClock
from gateway.config import Settings
from gateway.errors import ConfigError
from gateway.maintenance import Maintenance
from gateway.metrics import Metrics
from gateway.store.db import create_engine
from gateway.store.migrate import ensure_current

log = structlog.get_logger(__name__)


class Daemon:
    def __init__(
        self, settings: Settings, *, clock: Clock | None = None,
        subscriptions: Sequence[Subscription] = (), topics: TopicRegistry = TOPICS, serve_http: bool = True,
    ) -> None:
        self.settings = settings
        self.clock: Clock = clock or SystemClock()
        self.topics = topics
        self.metrics = Metrics()
        self.engine: AsyncEngine = create_engine(settings.effective_database_url)
        self.bus: Bus = create_bus(settings, self.engine, self.clock)
        self.relay = OutboxRelay(
            self.engine, self.bus, clock=self.clock, batch_max=settings.outbox_batch_max,
            poll_interval_s=settings.outbox_poll_interval_s,
            sent_retention_s=settings.outbox_sent_retention_s, metrics=self.metrics,
        )
        retry = RetryPolicy(
            attempts_max=settings.retry_attempts_max, delay_s_initial=settings.retry_delay_s_initial,
            delay_s_max=settings.retry_delay_s_max,
        )
        self.runners = [
            ConsumerRunner(
                engine=self.engine, bus=self.bus, subscription=sub, clock=self.clock, retry=retry,
                batch_max=settings.consumer_batch_max, poll_timeout_s=settings.consumer_poll_timeout_s,
                message_bytes_max=settings.message_bytes_max, metrics=self.metrics, relay=self.relay,
            )
            for sub in subscriptions
        ]
        self.maintenance = Maintenance(
            self.engine, self.bus, self.clock, inbox_retention_s=settings.inbox_retention_s
        )
        self._serve_http = serve_http
        self._http_runner: web.AppRunner | None = None
        self._started = False

    def _check_retention(self) -> None:
        longest_ms = max((spec.retention_ms for spec in self.topics.all()), default=0)
        if self.settings.inbox_retention_s * 1000 <= longest_ms:
            raise ConfigError(
                "inbox_retention_s", self.settings.inbox_retention_s,
                f"must exceed the longest topic retention ({longest_ms / 1000:.0f} s), or a message "
                "redelivered after its inbox entry was forgotten would apply twice",
            )

    async def start(self) -> None:
        assert not self._started, "daemon started twice"
        self._check_retention()
        await ensure_current(self.settings.effective_database_url)
        await self.bus.start()
        await self.bus.ensure_topics(self.topics.all(), self.settings.topic_partitions)
        if self.settings.demo_data:
            from gateway.demo import seed

            log.info("demo data queued", events=await seed(self.engine, self.clock))
        await self.relay.start()
        for runner in self.runners:
            await runner.start()
        await self.maintenance.start()
        if self._serve_http:
            from gateway.http.app import start_http

            self._http_runner = await start_http(self)
        self._started = True
        log.info(
            "proud started", bus=self.settings.bus_backend, consumers=[r.group_id for r in self.runners],
            http=f"{self.settings.http_host}:{self.settings.http_port}" if self._serve_http else None,
        )

    async def stop(self) -> None:
        """Stop in reverse order. Idempotent; each step is bounded by ``SHUTDOWN_TIMEOUT_S``."""
        steps = []
        if self._http_runner is not None:
            from gateway.http.app import stop_http

            steps.append(stop_http(self._http_runner))
            self._http_runner = None
        for step in [
            *steps, self.maintenance.stop(), *(r.stop() for r in self.runners), self.relay.stop(),
            self.bus.stop(),
        ]:
            try:
                await asyncio.wait_for(step, limits.SHUTDOWN_TIMEOUT_S)
            except Exception as exc:  # keep stopping the rest; report what did not stop cleanly
                log.error("stop step failed", error=f"{exc.__class__.__name__}: {exc}")
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
