"""The consumers the daemon runs. Domain packages add theirs here as they arrive."""

from __future__ import annotations

from gateway.bench.handler import BenchHandler
from gateway.bus.handler import Subscription
from gateway.bus.topics import BENCH_EVENTS
from gateway.config import Settings
from gateway.masterdata.filestore import LocalFileStore
from gateway.masterdata.welcome import welcome_letters

BENCH_COUNTER_GROUP = "proud.bench-counter"


def builtin_subscriptions(settings: Settings) -> list[Subscription]:
    # The counter applies bench.events to bench_state: the demo's visible effect and a live smoke test of
    # the whole path (outbox, relay, bus, inbox) on any installation.
    files = LocalFileStore(settings.effective_documents_dir)
    return [
        BenchHandler(log_effects=False).subscription(BENCH_COUNTER_GROUP, [BENCH_EVENTS.name]),
        welcome_letters(settings, files).subscription(),
    ]
