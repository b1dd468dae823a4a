"""Stopping background loops without cancelling them mid-transaction, and a daemon's stop steps."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterable
from typing import Any

import structlog

from gateway import limits

log = structlog.get_logger(__name__)

#: How long a loop may take to finish the round in hand (a batch with its retries) once asked to stop.
STOP_GRACE_S = 30.0


async def finish(task: asyncio.Task[None] | None, grace_s: float = STOP_GRACE_S) -> None:
    """Wait for a loop that was asked to stop (its stop event is set); cancel it only past ``grace_s``.

    Cancelling a task in the middle of a SQLite transaction can leave the file's write lock held by a
    connection nobody uses any more, so every loop gets the chance to end its round on its own first.
    """
    if task is None:
        return
    try:
        await asyncio.wait_for(asyncio.shield(task), grace_s)
    except TimeoutError:
        task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def stop_in_order(steps: Iterable[Coroutine[Any, Any, None]]) -> None:
    """Run stop steps in order, each within ``SHUTDOWN_TIMEOUT_S``; one failing does not stop the rest."""
    for step in steps:
        try:
            await asyncio.wait_for(step, limits.SHUTDOWN_TIMEOUT_S)
        except Exception as exc:  # keep stopping the rest; report what did not stop cleanly
            log.error("stop step failed", error=f"{exc.__class__.__name__}: {exc}")


async def stop_together(steps: Iterable[Coroutine[Any, Any, None]]) -> None:
    """Run stop steps that do not depend on each other at once, each as ``stop_in_order`` runs it."""
    await asyncio.gather(*(stop_in_order([step]) for step in steps))
