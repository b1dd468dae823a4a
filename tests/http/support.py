"""Helpers for tests that run a real daemon and talk to it over HTTP."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import socket
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Final, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.bus.base import Bus, OutgoingRecord
from gateway.bus.outbox import envelope_record
from gateway.http.api_keys import Role, create_key
from schemas.bench import BenchEvent
from schemas.envelope import new_envelope

T = TypeVar("T")

#: Longest a test waits for messages to flow through the daemon; generous for a cold broker on 2 cores.
WAIT_S_MAX = 60.0
WAIT_POLL_S = 0.1


#: Ports a test picks for its servers: below the kernel's ephemeral range, which every ``bind(0)`` (a
#: simulator the demo daemon starts) and every outgoing connection draws from — a port the OS handed out
#: once, as the test's own ``bind(0)`` did, could be handed out again before the test's server bound it
#: (seen: the demo daemon's HTTP port taken by its own simulator). Clear of the services' fixed ports
#: (FTP passive 30000–30009, `scripts/services/ftpd.py`).
TEST_PORTS: Final = range(20000, 30000)
PORT_ATTEMPTS_MAX: Final = 100
_EPHEMERAL_RANGE: Final = Path("/proc/sys/net/ipv4/ip_local_port_range")


def free_port() -> int:
    """A TCP port nobody listens on now, one the OS never hands out by itself."""
    ephemeral_low = int(_EPHEMERAL_RANGE.read_text().split()[0])
    assert TEST_PORTS.stop <= ephemeral_low, f"ephemeral ports from {ephemeral_low} overlap {TEST_PORTS}"
    for _ in range(PORT_ATTEMPTS_MAX):
        port = random.choice(TEST_PORTS)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue  # in use, or lingering after a test's server: another
        return port
    raise AssertionError(f"no free port in {TEST_PORTS} after {PORT_ATTEMPTS_MAX} attempts")


async def wait_for(probe: Callable[[], Awaitable[T | None]], what: str, wait_s: float = WAIT_S_MAX) -> T:
    """Call ``probe`` until it returns something other than None; fail naming ``what`` after ``wait_s``."""
    deadline = time.monotonic() + wait_s
    while True:
        result = await probe()
        if result is not None:
            return result
        assert time.monotonic() < deadline, f"{what}: not seen within {wait_s} s"
        await asyncio.sleep(WAIT_POLL_S)


async def new_key(engine: AsyncEngine, role: Role, unique: str) -> str:
    """The secret of a new API key named ``test-<role>-<unique>`` (unique: PostgreSQL is shared)."""
    _, secret = await create_key(engine, f"test-{role.value}-{unique}", role, dt.datetime.now(dt.UTC))
    return secret


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


async def publish_events(bus: Bus, topic: str, count: int) -> None:
    now = dt.datetime.now(dt.UTC)
    records = [
        envelope_record(topic, new_envelope(BenchEvent(seq=seq, amount=1), key=f"k{seq % 3}", now=now))[1]
        for seq in range(count)
    ]
    await bus.publish(records)


async def publish_malformed(bus: Bus, topic: str) -> None:
    """A record no consumer can decode: the runner dead-letters it on the first attempt."""
    await bus.publish([OutgoingRecord(topic, "broken", b"{not json")])
