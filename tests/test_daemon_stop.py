"""Stopping the daemon: its consumers are asked to stop together, after the timer scheduler that feeds them
and before the outbox relay that publishes what they wrote."""

from __future__ import annotations

import pytest

from gateway.bus.outbox import OutboxRelay
from gateway.bus.runner import ConsumerRunner
from gateway.config import load_settings
from gateway.daemon import Daemon
from gateway.maintenance import Maintenance
from gateway.process.scheduler import TimerScheduler
from gateway.subscriptions import builtin_subscriptions


async def test_consumers_stop_together_between_the_scheduler_and_the_relay(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = load_settings(environ={"PROUD_DATABASE_URL": sqlite_url})
    daemon = Daemon(settings, subscriptions=builtin_subscriptions(settings), serve_http=False)
    events: list[tuple[str, str]] = []

    def recorded(cls: type, name: str) -> None:
        original = cls.stop  # type: ignore[attr-defined]

        async def stop(self: object) -> None:
            events.append(("enter", name))
            await original(self)
            events.append(("exit", name))

        monkeypatch.setattr(cls, "stop", stop)

    recorded(ConsumerRunner, "consumer")
    recorded(TimerScheduler, "scheduler")
    recorded(OutboxRelay, "relay")
    recorded(Maintenance, "maintenance")
    await daemon.start()
    consumers = len(daemon.runners) + len(daemon.process_runners)
    assert consumers > 1
    await daemon.stop()

    at = [i for i, (_, name) in enumerate(events) if name in {"consumer", "maintenance"}]
    together = [events[i] for i in at]
    assert len(together) == 2 * (consumers + 1)
    # Every one was asked before any had finished (one after another, each would finish first).
    assert {kind for kind, _ in together[:consumers + 1]} == {"enter"}
    first, last = at[0], at[-1] + 1
    assert events[:first] == [("enter", "scheduler"), ("exit", "scheduler")]
    assert events[last:] == [("enter", "relay"), ("exit", "relay")]
