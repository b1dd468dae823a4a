"""Injected time. Production uses ``SystemClock``; tests use ``ManualClock`` and move days forward."""

from __future__ import annotations

import datetime as dt
from typing import Protocol


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """The current instant, timezone-aware UTC."""
        ...


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


class ManualClock:
    """A clock that only moves when told to."""

    def __init__(self, start: dt.datetime) -> None:
        assert start.tzinfo is not None, "ManualClock needs an aware datetime"
        self._now = start.astimezone(dt.UTC)

    def now(self) -> dt.datetime:
        return self._now

    def advance(self, delta: dt.timedelta) -> dt.datetime:
        assert delta >= dt.timedelta(0), "time does not run backwards"
        self._now += delta
        return self._now

    def set(self, instant: dt.datetime) -> None:
        assert instant.tzinfo is not None
        assert instant >= self._now, "time does not run backwards"
        self._now = instant.astimezone(dt.UTC)


def as_utc(value: dt.datetime) -> dt.datetime:
    """Normalise a datetime read back from a store that drops the zone (SQLite) to aware UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)
