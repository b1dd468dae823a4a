"""Background loops started by ``tasks.spawn``: how each way of ending is reported."""

from __future__ import annotations

import asyncio

import structlog

from gateway.tasks import failure, spawn


async def _returns() -> None:
    await asyncio.sleep(0)


async def _waits(event: asyncio.Event) -> None:
    await event.wait()


async def _raises() -> None:
    await asyncio.sleep(0)
    raise ValueError("odd row 7")


async def test_each_end_of_a_loop_is_named_and_only_an_error_is_logged() -> None:
    blocker = asyncio.Event()
    with structlog.testing.capture_logs() as logs:
        running, returned = spawn(_waits(blocker), "waits"), spawn(_returns(), "returns")
        raised, cancelled = spawn(_raises(), "raises"), spawn(asyncio.sleep(3600), "sleeps")
        cancelled.cancel()
        await asyncio.gather(returned, raised, cancelled, return_exceptions=True)
        await asyncio.sleep(0)  # done callbacks run on the next loop iteration
        assert failure(running) is None and failure(None) is None
        assert failure(returned) == ("returns", "returned")
        assert failure(raised) == ("raises", "ValueError: odd row 7")
        assert failure(cancelled) == ("sleeps", "cancelled")
        blocker.set()
        await running
    assert [(e["event"], e["loop"], str(e["exc_info"])) for e in logs] == [
        ("background loop ended by an error", "raises", "odd row 7")
    ]
