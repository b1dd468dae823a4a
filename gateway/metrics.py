"""Prometheus metrics. One ``Metrics`` per daemon, on its own registry, so tests can run several side by
side."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

#: Handler latency buckets in seconds: from a cached lookup to a slow partner call.
HANDLER_BUCKETS_S = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        r = self.registry
        self.messages_in = Counter(
            "proud_messages_in", "Messages consumed and applied", ["topic", "group"], registry=r
        )
        self.duplicates = Counter(
            "proud_messages_duplicate",
            "Redelivered messages the inbox skipped",
            ["topic", "group"],
            registry=r,
        )
        self.messages_out = Counter(
            "proud_messages_out", "Messages published to the bus by the outbox relay", ["topic"], registry=r
        )
        self.handler_seconds = Histogram(
            "proud_handler_seconds",
            "Time to apply one batch of messages, per message",
            ["group"],
            buckets=HANDLER_BUCKETS_S,
            registry=r,
        )
        self.retries = Counter(
            "proud_handler_retries",
            "Handler attempts that failed and were retried",
            ["topic", "group"],
            registry=r,
        )
        self.dead_letters = Counter(
            "proud_dead_letters", "Messages sent to a dead-letter topic", ["topic", "group"], registry=r
        )
        self.consumer_lag = Gauge(
            "proud_consumer_lag",
            "Records not yet committed by a group",
            ["topic", "partition", "group"],
            registry=r,
        )
        self.outbox_pending = Gauge("proud_outbox_pending", "Outbox rows not yet published", registry=r)
        self.outbox_parked = Gauge(
            "proud_outbox_parked", "Outbox rows parked over message_bytes_max, awaiting release", registry=r
        )
        self.process_dispositions = Counter(
            "proud_process_dispositions",
            "Messages a process machine applied, by what they did (created, transitioned, ignored_*)",
            ["machine", "disposition"],
            registry=r,
        )
        self.process_timers_pending = Gauge(
            "proud_process_timers_pending", "Durable timers armed and not yet fired", ["machine"], registry=r
        )
        self.rules_reloads = Counter(
            "proud_rules_reloads", "Rule reloads, by result (reloaded, unchanged, refused)", ["result"],
            registry=r,
        )
