"""``restart: true``: when a start message begins a new run on an instance whose run has ended."""

from __future__ import annotations

from gateway.process.definition import Machine


def restarts(machine: Machine, state: str, kind: str, *, ended_in: Machine | None = None) -> bool:
    """Whether a message of type ``kind`` restarts an instance in ``state``: ``machine`` (the current
    version) has ``restart`` and starts on ``kind``, and ``state`` is final in the version the instance
    runs on (``ended_in``, an older one, whose states the current one may not have; default ``machine``)."""
    ended = (ended_in or machine).states.get(state)
    return machine.restart and kind in machine.start_on and ended is not None and ended.final
