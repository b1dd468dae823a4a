"""Stopping background loops without cancelling them mid-transaction."""

from __future__ import annotations

import asyncio

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
