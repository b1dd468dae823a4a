"""aiokafka's clients at proud's boundary: its errors translated into proud's tree, and starting, closing
and discarding a client so that none is left half-open."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

import structlog
from aiokafka import errors as ke
from aiokafka.admin import AIOKafkaAdminClient

from gateway.errors import BusUnavailable, MessageTooLarge

log = structlog.get_logger(__name__)


@contextlib.contextmanager
def translated(action: str) -> Iterator[None]:
    """Turn aiokafka and socket errors into proud's error tree, keeping the cause."""
    try:
        yield
    except (ke.MessageSizeTooLargeError, ke.RecordTooLargeError, ke.RecordListTooLargeError) as exc:
        raise MessageTooLarge(f"{action}: Kafka refused a record as too large ({exc})") from exc
    except (ke.KafkaError, OSError) as exc:  # OSError includes TimeoutError
        name, detail = type(exc).__name__, str(exc) or "no detail"
        detail = detail if detail.startswith(name) else f"{name}: {detail}"  # aiokafka often starts with it
        raise BusUnavailable(f"{action}: {detail}") from exc


async def start_client(client: Any, what: str, bootstrap: str) -> None:
    """Start an aiokafka client; if that fails, close it so no half-open client (or warning) is left."""
    try:
        with translated(f"connecting the Kafka {what} to {bootstrap}"):
            await client.start()
    except BaseException:
        await close_client(client)
        raise


async def close_client(client: Any) -> None:
    # Closing happens on the way out (stop, failed start); a second error there would hide the first.
    with contextlib.suppress(ke.KafkaError, OSError):
        if isinstance(client, AIOKafkaAdminClient):
            await client.close()
        else:
            await client.stop()


def forget_outcome(future: asyncio.Future[Any]) -> None:
    """Mark a delivery outcome as seen (its failure, if any, is reported another way)."""
    if not future.cancelled():
        future.exception()


async def discard_producer(producer: Any, reason: Exception) -> None:
    """Close a producer without delivering the batches it still holds (they fail, naming ``reason``).

    aiokafka's ``stop`` first waits for every pending batch, and an idempotent producer retries a batch until
    the broker takes it, so a producer the broker no longer answers would never stop; aiokafka has no public
    way to give batches up. So its sender is stopped first (it finishes the requests in flight, each within
    the request timeout), then the batches left are failed, which is what aiokafka does when its sender dies,
    and only then is it stopped. Failing them with the sender still running breaks aiokafka (a request in
    flight comes back and re-queues a batch no longer pending). Errors on the way are logged, not raised: the
    producer is being thrown away, and the failure that led here is the one to report.
    """
    sender, accumulator = getattr(producer, "_sender", None), getattr(producer, "_message_accumulator", None)
    assert sender is not None and accumulator is not None, "aiokafka changed: no _sender/_message_accumulator"
    try:
        task = sender.sender_task
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait([task])
        accumulator.fail_all(BusUnavailable(f"producer discarded after a failed publish ({reason})"))
        await producer.stop()
    except Exception as exc:  # see the docstring
        log.warning("discarding a failed Kafka producer failed", error=repr(exc), reason=str(reason))
