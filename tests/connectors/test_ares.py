"""ARES client against the ARES simulator, both for real over HTTP on a free localhost port.

Each test sets up faults in the simulator, looks up with the real client and checks the answer value or the
error, and what the simulator was asked (``control.requested``), which is how "no request" is proven.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp import web

from connectors.ares import (
    AresClient,
    AresInvalidIco,
    AresMalformed,
    AresRejected,
    AresUnavailable,
    Found,
    HttpsTransport,
    NotRegistered,
)
from connectors.ares.simulator import CONTROL, SimulatorControl, create_simulator_app
from gateway.bus.retry import RetryPolicy
from gateway.clock import ManualClock
from gateway.errors import TransientError

NOW = dt.datetime(2025, 3, 1, 8, 0, tzinfo=dt.UTC)
#: Short delays so that a test with every attempt failing still takes well under a second.
RETRY = RetryPolicy(attempts_max=3, delay_s_initial=0.01, delay_s_max=0.05)
TIMEOUT_S = 0.3
CACHE_TTL_S = 3600.0
#: Longest wait for the simulator started as a process to listen.
PROCESS_START_S_MAX = 20.0

PRAHA_SRO = "28741137"
BRNO_AS = "26619385"
OSTRAVA_OSVC = "07162804"
PADDED_SRO = "02345676"
DISSOLVED = "29531055"
UNKNOWN = "45193827"  # valid check digit, not among the simulated subjects


@dataclass
class Simulator:
    base_url: str
    control: SimulatorControl


@pytest.fixture
async def simulator() -> AsyncIterator[Simulator]:
    app = create_simulator_app()
    runner = web.AppRunner(app)
    await runner.setup()
    # Port 0: the OS picks a free port when binding, so there is no window for another process to take it.
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield Simulator(f"http://127.0.0.1:{port}", app[CONTROL])
    finally:
        await runner.cleanup()


ClientFactory = Callable[..., Awaitable[AresClient]]


@pytest.fixture
async def make_client(simulator: Simulator) -> AsyncIterator[ClientFactory]:
    clients: list[AresClient] = []

    async def make(**overrides: object) -> AresClient:
        options: dict[str, object] = {
            "base_url": simulator.base_url,
            "timeout_s": TIMEOUT_S,
            "retry": RETRY,
            "cache_ttl_s": CACHE_TTL_S,
            "cache_entries_max": 100,
            "clock": ManualClock(NOW),
        }
        options.update(overrides)
        client = AresClient(**options)  # type: ignore[arg-type]
        await client.start()
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.stop()


async def test_found_maps_every_field(simulator: Simulator, make_client: ClientFactory) -> None:
    client = await make_client()
    answer = await client.lookup(PRAHA_SRO)
    assert isinstance(answer, Found)
    subject = answer.subject
    assert subject.ico == PRAHA_SRO
    assert subject.name == "Vltavská energie s.r.o."
    assert subject.dic == "CZ28741137"
    assert subject.legal_form == "112"
    assert subject.address_lines == ("Vinohradská 1511/230", "100 00 Praha")
    assert subject.postal_code == "10000"
    assert subject.country_code == "CZ"
    assert subject.founded_on == dt.date(2009, 4, 14)
    assert subject.dissolved_on is None
    assert simulator.control.requested == [PRAHA_SRO]


async def test_short_ico_is_padded_before_asking(simulator: Simulator, make_client: ClientFactory) -> None:
    client = await make_client()
    answer = await client.lookup("2345676")
    assert isinstance(answer, Found)
    assert answer.subject.ico == PADDED_SRO
    assert answer.subject.address_lines == ("28. října 3346/91", "702 00 Ostrava")
    # ARES wants eight digits on the wire; the simulator answers 400 to anything shorter.
    assert simulator.control.requested == [PADDED_SRO]


async def test_legal_forms_and_dissolved_subject(make_client: ClientFactory) -> None:
    client = await make_client()
    answers = [await client.lookup(ico) for ico in (BRNO_AS, OSTRAVA_OSVC, DISSOLVED)]
    subjects = [answer.subject for answer in answers if isinstance(answer, Found)]
    assert [subject.legal_form for subject in subjects] == ["121", "101", "112"]
    assert [subject.dic for subject in subjects] == [f"CZ{BRNO_AS}", None, f"CZ{DISSOLVED}"]
    assert subjects[1].address_lines == ("Nádražní 3112/112", "702 00 Ostrava")
    assert subjects[2].dissolved_on == dt.date(2023, 12, 31)


async def test_unknown_ico_is_not_registered(simulator: Simulator, make_client: ClientFactory) -> None:
    client = await make_client()
    assert await client.lookup(UNKNOWN) == NotRegistered(UNKNOWN)
    assert simulator.control.requested == [UNKNOWN]


async def test_two_failures_then_found_after_retries(
    simulator: Simulator, make_client: ClientFactory
) -> None:
    client = await make_client()
    simulator.control.fail_next(2, status=503)
    answer = await client.lookup(PRAHA_SRO)
    assert isinstance(answer, Found)
    assert simulator.control.requested == [PRAHA_SRO] * 3


@pytest.mark.parametrize("status", [500, 503, 429])
async def test_always_failing_is_unavailable_after_the_policy_attempts(
    simulator: Simulator, make_client: ClientFactory, status: int
) -> None:
    client = await make_client()
    simulator.control.fail_next(10, status=status)
    with pytest.raises(AresUnavailable) as caught:
        await client.lookup(PRAHA_SRO)
    assert isinstance(caught.value, TransientError) and caught.value.retryable
    assert f"HTTP {status}" in caught.value.message
    assert len(simulator.control.requested) == RETRY.attempts_max
    # A failure is not cached: once ARES is back, the next lookup asks again.
    simulator.control.clear()
    assert isinstance(await client.lookup(PRAHA_SRO), Found)


async def test_timeout_is_unavailable(simulator: Simulator, make_client: ClientFactory) -> None:
    client = await make_client()
    simulator.control.delay_next(RETRY.attempts_max, delay_s=TIMEOUT_S * 5)
    started = time.monotonic()
    with pytest.raises(AresUnavailable, match="timed out"):
        await client.lookup(PRAHA_SRO)
    assert len(simulator.control.requested) == RETRY.attempts_max
    # Each attempt gave up at its timeout: waiting for the slow answers would have taken three times as long.
    assert time.monotonic() - started < RETRY.attempts_max * TIMEOUT_S * 5


async def test_slow_answer_within_timeout_is_found(simulator: Simulator, make_client: ClientFactory) -> None:
    client = await make_client()
    simulator.control.delay_next(1, delay_s=TIMEOUT_S / 3)
    assert isinstance(await client.lookup(PRAHA_SRO), Found)


async def test_refused_connection_is_unavailable(make_client: ClientFactory) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        # Bound but not listening: connecting is refused for as long as this socket holds the port.
        client = await make_client(base_url=f"http://127.0.0.1:{port}")
        with pytest.raises(AresUnavailable, match="failed"):
            await client.lookup(PRAHA_SRO)


async def test_malformed_body_is_not_retried(simulator: Simulator, make_client: ClientFactory) -> None:
    client = await make_client()
    simulator.control.malformed_next(1)
    with pytest.raises(AresMalformed) as caught:
        await client.lookup(PRAHA_SRO)
    assert not caught.value.retryable
    assert "truncated" in caught.value.message
    assert simulator.control.requested == [PRAHA_SRO]


async def test_answer_about_another_ico_is_malformed(
    simulator: Simulator, make_client: ClientFactory
) -> None:
    client = await make_client()
    simulator.control.malformed_next(1, body=b'{"ico": "26619385", "obchodniJmeno": "Jina a.s."}')
    with pytest.raises(AresMalformed, match="answer is about IČO 26619385"):
        await client.lookup(PRAHA_SRO)


async def test_404_without_ares_body_is_not_a_missing_subject(
    simulator: Simulator, make_client: ClientFactory
) -> None:
    # A wrong base URL or a proxy answers 404 too; reading that as "not registered" would hide the fault.
    client = await make_client()
    simulator.control.malformed_next(1, body=b"<html>Not Found</html>", status=404)
    with pytest.raises(AresMalformed, match="404"):
        await client.lookup(UNKNOWN)


async def test_400_from_ares_is_rejected(simulator: Simulator, make_client: ClientFactory) -> None:
    client = await make_client()
    body = b'{"kod": "CHYBA_VSTUPU", "subKod": "VSTUP_NEVALIDNI_FORMAT_ICO", "popis": "x"}'
    simulator.control.malformed_next(1, body=body, status=400)
    with pytest.raises(AresRejected, match="VSTUP_NEVALIDNI_FORMAT_ICO") as caught:
        await client.lookup(PRAHA_SRO)
    assert not caught.value.retryable
    assert simulator.control.requested == [PRAHA_SRO]


@pytest.mark.parametrize("ico", ["28741138", "", "123456789", "28 741 137", "CZ28741137", "abc"])
async def test_invalid_ico_is_rejected_without_a_request(
    simulator: Simulator, make_client: ClientFactory, ico: str
) -> None:
    client = await make_client()
    with pytest.raises(AresInvalidIco):
        await client.lookup(ico)
    assert simulator.control.requested == []


async def test_cache_hit_then_expiry_by_the_clock(simulator: Simulator, make_client: ClientFactory) -> None:
    clock = ManualClock(NOW)
    client = await make_client(clock=clock, cache_ttl_s=600.0)
    first = await client.lookup(PRAHA_SRO)
    assert await client.lookup(PRAHA_SRO) == first
    assert await client.lookup("28741137 ") == first
    assert await client.lookup(UNKNOWN) == await client.lookup(UNKNOWN) == NotRegistered(UNKNOWN)
    assert simulator.control.requested == [PRAHA_SRO, UNKNOWN]

    clock.advance(dt.timedelta(seconds=599))
    await client.lookup(PRAHA_SRO)
    assert len(simulator.control.requested) == 2
    clock.advance(dt.timedelta(seconds=1))
    assert await client.lookup(PRAHA_SRO) == first
    assert simulator.control.requested == [PRAHA_SRO, UNKNOWN, PRAHA_SRO]


async def test_cache_is_bounded_and_drops_the_least_recently_used(
    simulator: Simulator, make_client: ClientFactory
) -> None:
    client = await make_client(cache_entries_max=2)
    for ico in (PRAHA_SRO, BRNO_AS, PRAHA_SRO, OSTRAVA_OSVC):
        await client.lookup(ico)
    assert client.cache_size == 2
    # BRNO_AS was used least recently when OSTRAVA_OSVC arrived, so it went; PRAHA_SRO stayed.
    simulator.control.clear()
    await client.lookup(PRAHA_SRO)
    await client.lookup(OSTRAVA_OSVC)
    assert simulator.control.requested == []
    await client.lookup(BRNO_AS)
    assert simulator.control.requested == [BRNO_AS]
    assert client.cache_size == 2


async def test_zero_ttl_turns_the_cache_off(simulator: Simulator, make_client: ClientFactory) -> None:
    client = await make_client(cache_ttl_s=0.0)
    await client.lookup(PRAHA_SRO)
    await client.lookup(PRAHA_SRO)
    assert client.cache_size == 0
    assert len(simulator.control.requested) == 2


async def test_lifecycle_async_with_and_idempotent_stop(simulator: Simulator) -> None:
    client = AresClient(
        simulator.base_url,
        timeout_s=TIMEOUT_S,
        retry=RETRY,
        cache_ttl_s=CACHE_TTL_S,
        cache_entries_max=10,
        clock=ManualClock(NOW),
    )
    async with client:
        assert isinstance(await client.lookup(PRAHA_SRO), Found)
    await client.stop()
    assert client.cache_size == 0


async def test_simulator_speaks_the_ares_protocol(simulator: Simulator) -> None:
    transport = HttpsTransport(simulator.base_url, connect_timeout_s=TIMEOUT_S, read_timeout_s=TIMEOUT_S)
    await transport.start()
    try:
        prefix = "/ekonomicke-subjekty-v-be/rest/ekonomicke-subjekty"
        status, body = await transport.get(f"{prefix}/2345676")
        assert status == 400 and b'"kod": "CHYBA_VSTUPU"' in body
        status, body = await transport.get(f"{prefix}/{UNKNOWN}")
        assert status == 404 and b'"subKod": "VYSTUP_SUBJEKT_NENALEZEN"' in body
        status, body = await transport.get(f"{prefix}/{PRAHA_SRO}")
        assert status == 200 and b'"czNace"' in body
    finally:
        await transport.stop()


async def test_transport_refuses_an_oversized_body(simulator: Simulator) -> None:
    transport = HttpsTransport(
        simulator.base_url, connect_timeout_s=TIMEOUT_S, read_timeout_s=TIMEOUT_S, body_bytes_max=100
    )
    await transport.start()
    try:
        with pytest.raises(AresMalformed, match="over 100 bytes"):
            await transport.get(f"/ekonomicke-subjekty-v-be/rest/ekonomicke-subjekty/{PRAHA_SRO}")
    finally:
        await transport.stop()


async def test_simulator_runs_as_a_module() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "connectors.ares.simulator", "--port", str(port),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/ekonomicke-subjekty-v-be/rest/ekonomicke-subjekty/{BRNO_AS}"
    deadline = time.monotonic() + PROCESS_START_S_MAX
    try:
        async with aiohttp.ClientSession() as session:
            while True:
                try:
                    async with session.get(url) as response:
                        assert response.status == 200
                        assert (await response.json())["obchodniJmeno"] == "Moravské teplárny Brno a.s."
                        break
                except aiohttp.ClientConnectionError:
                    assert time.monotonic() < deadline, "simulator process did not listen in time"
                    assert process.returncode is None, "simulator process exited"
                    await asyncio.sleep(0.1)
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), timeout=10)
