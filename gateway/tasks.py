"""Background loops: started so that an unexpected end is reported (logged, and by ``/ready``), stopped
without cancelling them mid-transaction; and a daemon's stop steps."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterable
from typing import Any, Protocol

import structlog

from gateway import limits

log = structlog.get_logger(__name__)

#: How long a loop may take to finish the round in hand (a batch with its retries) once asked to stop.
STOP_GRACE_S = 30.0


class Loop(Protocol):
    def failure(self) -> tuple[str, str] | None: ...


def spawn(loop: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
    """Start a background loop. Its own errors end a round, not the loop; if something unforeseen ends it
    anyway (a bug), that is logged with its traceback at once instead of when the task is collected, and
    ``failure`` tells ``/ready``."""
    task = asyncio.create_task(loop, name=name)
    task.add_done_callback(_report_end)
    return task


def _report_end(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.error("background loop ended by an error", loop=task.get_name(), exc_info=exc)


def failure(task: asyncio.Task[None] | None) -> tuple[str, str] | None:
    """The name of a loop that ended while it should run and what ended it; None while it runs (or when it
    was never started: a stopped loop's owner forgets its task first)."""
    if task is None or not task.done():
        return None
    if task.cancelled():
        return task.get_name(), "cancelled"
    exc = task.exception()
    return task.get_name(), "returned" if exc is None else f"{exc.__class__.__name__}: {exc}"


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
