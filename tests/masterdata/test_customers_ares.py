"""Customers created ``from_ares`` against the real ARES simulator over HTTP, on SQLite and PostgreSQL;
and the ARES settings and client factory.

The simulator and client are set up as in ``tests/connectors/test_ares.py``: a free localhost port, faults
queued through ``SimulatorControl``, and ``control.requested`` to prove whether ARES was asked.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import msgspec
import pytest
import sqlalchemy as sa
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from connectors.ares import AresClient, AresSubject, Found
from connectors.ares.simulator import CONTROL, SimulatorControl, create_simulator_app
from gateway.bus.retry import RetryPolicy
from gateway.clock import ManualClock
from gateway.config import Settings, load_settings
from gateway.errors import ConfigError, InvalidField
from gateway.masterdata.ares import AresLookupFailed, AresLookupFn, ares_client, registered_address
from gateway.masterdata.customers import complete_from_ares, create_customer
from schemas.masterdata.common import Address, TypedAddress
from schemas.masterdata.customers import Customer, CustomerIn
from tests.masterdata.customer_support import (
    ACTOR,
    BACKENDS,
    BRNO,
    NOW,
    PRAHA,
    company,
    database,
    person,
    snapshot,
)

RETRY = RetryPolicy(attempts_max=2, delay_s_initial=0.01, delay_s_max=0.05)
TIMEOUT_S = 0.3

PRAHA_SRO = "28741137"
OSTRAVA_OSVC = "07162804"
DISSOLVED = "29531055"
UNKNOWN = "45193827"  # valid check digit, not among the simulated subjects
VINOHRADSKA = Address(street="Vinohradská", house_number="1511/230", city="Praha", postal_code="10000")


@dataclass
class Simulator:
    base_url: str
    control: SimulatorControl


@pytest.fixture
async def simulator() -> AsyncIterator[Simulator]:
    app = create_simulator_app()
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield Simulator(f"http://127.0.0.1:{runner.addresses[0][1]}", app[CONTROL])
    finally:
        await runner.cleanup()


def make_client(base_url: str) -> AresClient:
    # No cache: every test case asks the simulator, so faults and `requested` say what happened.
    return AresClient(base_url, timeout_s=TIMEOUT_S, retry=RETRY, cache_ttl_s=0, cache_entries_max=10,
                      clock=ManualClock(NOW))


@pytest.fixture
async def ares(simulator: Simulator) -> AsyncIterator[AresClient]:
    async with make_client(simulator.base_url) as client:
        yield client


@pytest.fixture(params=BACKENDS)
async def engine(request: pytest.FixtureRequest) -> AsyncIterator[AsyncEngine]:
    async with database(request) as engine:
        yield engine


async def create(engine: AsyncEngine, data: CustomerIn, lookup: AresLookupFn | None) -> Customer:
    async with engine.begin() as conn:
        return await create_customer(conn, ACTOR, NOW, data, lookup)


def from_ares(ico: str | None, **overrides: Any) -> CustomerIn:
    fields: dict[str, Any] = {"ico": ico, "from_ares": True, "company_name": None, "addresses": []}
    return company(**{**fields, **overrides})


async def test_found_fills_name_dic_legal_form_and_seat(engine: AsyncEngine, ares: AresClient) -> None:
    created = await create(engine, from_ares(PRAHA_SRO), ares.lookup)

    assert (created.company_name, created.name) == ("Vltavská energie s.r.o.", "Vltavská energie s.r.o.")
    assert (created.ico, created.dic, created.legal_form) == (PRAHA_SRO, "CZ28741137", "112")
    assert created.addresses == [TypedAddress(kind="registered", address=VINOHRADSKA)]


async def test_values_given_win_over_ares(engine: AsyncEngine, ares: AresClient) -> None:
    data = from_ares(PRAHA_SRO, company_name="Vltavská energie", legal_form="s.r.o.",
                     addresses=[TypedAddress(kind="registered", address=BRNO),
                                TypedAddress(kind="billing", address=PRAHA)])

    created = await create(engine, data, ares.lookup)

    assert (created.company_name, created.legal_form) == ("Vltavská energie", "s.r.o.")
    assert created.dic == "CZ28741137"  # not given: ARES's
    # The registered address given stays; ARES's seat is not added beside it.
    assert created.addresses == [
        TypedAddress(kind="registered", address=BRNO),
        TypedAddress(kind="billing", address=msgspec.structs.replace(PRAHA, postal_code="11000")),
    ]


async def test_sole_trader_person_gets_trade_name_and_seat(engine: AsyncEngine, ares: AresClient) -> None:
    created = await create(engine, person(ico=OSTRAVA_OSVC, from_ares=True), ares.lookup)

    assert (created.name, created.company_name, created.dic) == ("Jiří Dvořák", "Jana Dvořáková", None)
    assert [typed.kind for typed in created.addresses] == ["permanent", "registered"]
    assert created.addresses[1].address == Address(
        street="Nádražní", house_number="3112/112", city="Ostrava", postal_code="70200"
    )


@pytest.mark.parametrize(("ico", "reason"), [
    (UNKNOWN, "not registered in ARES"),
    (DISSOLVED, "belongs to a company dissolved on 2023-12-31 (ARES)"),
])
async def test_refused_by_the_register_stores_nothing(
    engine: AsyncEngine, ares: AresClient, simulator: Simulator, ico: str, reason: str
) -> None:
    before = await snapshot(engine)
    with pytest.raises(InvalidField) as caught:
        await create(engine, from_ares(ico), ares.lookup)
    assert (caught.value.field, caught.value.value, caught.value.reason) == ("ico", ico, reason)
    assert simulator.control.requested == [ico]
    assert await snapshot(engine) == before


async def test_ico_is_checked_before_ares_is_asked(engine: AsyncEngine, ares: AresClient,
                                                    simulator: Simulator) -> None:
    with pytest.raises(InvalidField) as caught:
        await create(engine, from_ares("28741138"), ares.lookup)
    assert (caught.value.field, caught.value.value) == ("ico", "28741138")
    with pytest.raises(InvalidField) as caught:
        await create(engine, from_ares(None), ares.lookup)
    assert (caught.value.field, caught.value.value) == ("ico", None)
    assert caught.value.reason == "is required with from_ares"
    assert simulator.control.requested == []


async def test_ares_is_asked_before_any_statement(engine: AsyncEngine, ares: AresClient) -> None:
    statements: list[str] = []
    statements_when_asked: list[list[str]] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    async def lookup(ico: str) -> Any:
        statements_when_asked.append(list(statements))
        return await ares.lookup(ico)

    sa.event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        await create(engine, from_ares(PRAHA_SRO), lookup)
    finally:
        sa.event.remove(engine.sync_engine, "before_cursor_execute", count)
    # SQLite's engine issues BEGIN IMMEDIATE itself (see complete_from_ares for why callers avoid that).
    assert [[s for s in asked if not s.startswith("BEGIN")] for asked in statements_when_asked] == [[]]
    assert any(statement.startswith("INSERT INTO md_customer") for statement in statements)


async def test_completed_before_the_transaction(engine: AsyncEngine, ares: AresClient) -> None:
    completed = await complete_from_ares(from_ares(PRAHA_SRO), ares.lookup, NOW)
    assert not completed.from_ares and completed.company_name == "Vltavská energie s.r.o."
    assert completed.addresses == [TypedAddress(kind="registered", address=VINOHRADSKA)]
    assert await complete_from_ares(completed, None, NOW) is completed  # nothing left to look up

    created = await create(engine, completed, None)
    assert (created.company_name, created.dic, created.legal_form) == (
        "Vltavská energie s.r.o.", "CZ28741137", "112"
    )


@pytest.mark.parametrize("fault", ["down", "timeout"])
async def test_ares_unavailable_is_a_retryable_failure(
    engine: AsyncEngine, ares: AresClient, simulator: Simulator, fault: str
) -> None:
    if fault == "down":
        simulator.control.fail_next(RETRY.attempts_max, status=503)
    else:
        simulator.control.delay_next(RETRY.attempts_max, delay_s=TIMEOUT_S * 4)
    before = await snapshot(engine)

    with pytest.raises(AresLookupFailed) as caught:
        await create(engine, from_ares(PRAHA_SRO), ares.lookup)

    assert caught.value.retryable and caught.value.ico == PRAHA_SRO
    assert "ARES is unavailable" in caught.value.message and "without from_ares" in caught.value.message
    assert len(simulator.control.requested) == RETRY.attempts_max
    assert await snapshot(engine) == before


async def test_ares_not_listening_is_a_retryable_failure(engine: AsyncEngine) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
        async with make_client(f"http://127.0.0.1:{sock.getsockname()[1]}") as client:
            with pytest.raises(AresLookupFailed) as caught:
                await create(engine, from_ares(PRAHA_SRO), client.lookup)
    assert caught.value.retryable


async def test_unreadable_answer_is_a_final_failure(engine: AsyncEngine, ares: AresClient,
                                                     simulator: Simulator) -> None:
    simulator.control.malformed_next(1)
    with pytest.raises(AresLookupFailed, match="ARES answered unexpectedly") as caught:
        await create(engine, from_ares(PRAHA_SRO), ares.lookup)
    assert not caught.value.retryable
    simulator.control.malformed_next(1, body=b'{"kod": "CHYBA_VSTUPU", "popis": "x"}', status=400)
    with pytest.raises(AresLookupFailed) as caught:
        await create(engine, from_ares(PRAHA_SRO), ares.lookup)
    assert not caught.value.retryable


async def test_ares_turned_off_says_so(engine: AsyncEngine) -> None:
    with pytest.raises(AresLookupFailed, match=r"turned off.*without from_ares") as caught:
        await create(engine, from_ares(PRAHA_SRO), None)
    assert not caught.value.retryable
    # Without from_ares, no ARES is needed.
    assert (await create(engine, company(), None)).ico == "25596641"


def subject(**overrides: Any) -> AresSubject:
    fields: dict[str, Any] = {
        "ico": PRAHA_SRO, "name": "X s.r.o.", "dic": None, "legal_form": "112",
        "address_lines": ("Vinohradská 1511/230", "100 00 Praha"), "postal_code": "10000",
        "country_code": "CZ", "founded_on": None, "dissolved_on": None,
    }
    fields.update(overrides)
    return AresSubject(**fields)


def test_seat_is_taken_only_when_it_fits_an_address() -> None:
    assert registered_address(subject()) == VINOHRADSKA
    village = subject(address_lines=("Lhota 12", "582 91 Lhota"), postal_code="58291")
    assert registered_address(village) == Address(street="Lhota", house_number="12", city="Lhota",
                                                  postal_code="58291")
    assert registered_address(subject(address_lines=("Vinohradská 1511/230, Praha 10",))) is None
    assert registered_address(subject(country_code="SK")) is None
    assert registered_address(subject(address_lines=("Vinohradská", "100 00 Praha"))) is None
    assert registered_address(subject(address_lines=("Vinohradská 1511/230", "110 00 Praha"))) is None


async def test_client_from_settings_looks_up(simulator: Simulator, engine: AsyncEngine) -> None:
    client = ares_client(Settings(ares_base_url=simulator.base_url, ares_timeout_s=1.0), ManualClock(NOW))
    assert client is not None
    async with client:
        created = await create(engine, from_ares(PRAHA_SRO), client.lookup)
        again = await client.lookup(PRAHA_SRO)  # cached: the simulator is not asked twice
    assert created.dic == "CZ28741137" and isinstance(again, Found)
    assert simulator.control.requested == [PRAHA_SRO]


def test_ares_settings() -> None:
    defaults = load_settings(environ={})
    assert defaults.ares_base_url == "https://ares.gov.cz"
    assert isinstance(ares_client(defaults, ManualClock(NOW)), AresClient)
    off = load_settings(environ={"PROUD_ARES_BASE_URL": "off", "PROUD_ARES_CACHE_TTL_S": "0"})
    assert off.ares_cache_ttl_s == 0
    assert ares_client(off, ManualClock(NOW)) is None
    assert ares_client(Settings(ares_base_url=None), ManualClock(NOW)) is None
    for key, value in [
        ("PROUD_ARES_BASE_URL", "ares.gov.cz"), ("PROUD_ARES_TIMEOUT_S", "0"), ("PROUD_ARES_TIMEOUT_S", "61"),
        ("PROUD_ARES_CACHE_TTL_S", "-1"), ("PROUD_ARES_CACHE_ENTRIES_MAX", "100001"),
    ]:
        with pytest.raises(ConfigError) as caught:
            load_settings(environ={key: value})
        assert caught.value.key == key

