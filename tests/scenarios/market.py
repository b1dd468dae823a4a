"""The whole switching stack for end-to-end scenarios: a real daemon (PostgreSQL, Kafka, the real machines of
``rules/machines``, the OTE sender and callback service) and the OTE simulator, talking over mTLS.

Both run on one ``ManualClock``: the daemon's timers fire (its ``TimerScheduler`` polls the clock) and the
simulator's steps fall due when a test moves the clock. The simulator runs in manual mode, so nothing it
posts reaches our callback before ``Stack.deliver`` runs its due steps: the order of what arrives is the
test's, not a race.

Kafka topics and consumer groups have fixed names and outlive tests, so every scenario uses fresh OPM codes
and reads only what is keyed by them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, TypeVar

import aiohttp
import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from connectors.ote.outbound import OTE_SENDER_GROUP
from connectors.ote.simulator import (
    OpmSpec,
    ParticipantSpec,
    SimulatorHandle,
    SimulatorSeed,
    callback_url,
    start_simulator,
)
from connectors.ote.simulator.core import LogEntry
from connectors.ote.simulator.runner import CEZ_DISTRIBUCE, DEMO_COMPETITOR_EAN, DEMO_LAST_RESORT_EAN
from gateway.clock import ManualClock
from gateway.config import load_settings
from gateway.http.api_keys import Role
from gateway.masterdata import tables as t
from gateway.masterdata.contracts import create_contract
from gateway.masterdata.opm import create_opm
from gateway.process.calendar import PRAGUE
from gateway.readings.consumer import READINGS_GROUP, readings_subscription
from gateway.readings.tables import reading as rd_reading
from gateway.store.tables import outbox
from gateway.subscriptions import builtin_subscriptions
from gateway.switching.config import DEMO_SUPPLIER_EAN, OTE_EAN
from schemas.envelope import Envelope, decode
from schemas.ote import Commodity
from tests.http.support import bearer, free_port, new_key
from tests.isolated_daemon import PROCESS_GROUPS, RULES_DIR, IsolatedDaemon, start_groups_at_end
from tests.masterdata.supply_helpers import add_account, add_customer, contract_in, electricity_in

T = TypeVar("T")

US: Final = DEMO_SUPPLIER_EAN
COMPETITOR: Final = DEMO_COMPETITOR_EAN
#: Longest wait for messages to cross the stack (Kafka consumer groups joining on 2 cores are slow).
WAIT_S_MAX: Final = 90.0
WAIT_POLL_S: Final = 0.1
#: The sender retries an unreachable CS OTE this many times, then dead-letters the message.
RETRY_ATTEMPTS_MAX: Final = 3
ACTOR: Final = "key:scenario"
#: Monday 30 November 2026, 09:00 in Prague: every scenario starts here.
START: Final = dt.datetime(2026, 11, 30, 9, 0, tzinfo=PRAGUE)


def prague(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=PRAGUE)


async def wait_for(probe: Callable[[], Awaitable[T | None]], what: str, wait_s: float = WAIT_S_MAX) -> T:
    """``probe``'s first result other than None; fails naming ``what`` after ``wait_s``."""
    deadline = time.monotonic() + wait_s
    while True:
        result = await probe()
        if result is not None:
            return result
        assert time.monotonic() < deadline, f"{what}: not seen within {wait_s} s"
        await asyncio.sleep(WAIT_POLL_S)


def seed(our_callback: str) -> SimulatorSeed:
    """The participants; OPMs are added by each scenario (fresh codes)."""
    return SimulatorSeed(
        operator_ean=OTE_EAN, last_resort_ean=DEMO_LAST_RESORT_EAN,
        participants=(
            ParticipantSpec(ean=US, name="proud (us)", callback_url=our_callback),
            ParticipantSpec(ean=COMPETITOR, name="Konkurent Energie a.s."),
            ParticipantSpec(ean=DEMO_LAST_RESORT_EAN, name="Dodavatel poslední instance a.s."),
            ParticipantSpec(ean=CEZ_DISTRIBUCE, name="ČEZ Distribuce"),
        ),
    )


async def start_market(
    pki_dir: Path, clock: ManualClock, callback_port: int, cds_port: int = 0
) -> SimulatorHandle:
    return await start_simulator(
        pki_dir, clock=clock, seed=seed(callback_url("127.0.0.1", callback_port)), port=cds_port,
        auto_interval_s=None,
    )


@dataclass
class Parties:
    customer: str
    account: str


@dataclass
class Stack:
    clock: ManualClock
    daemon: IsolatedDaemon
    sim: SimulatorHandle | None
    api_url: str
    http: aiohttp.ClientSession
    pki_dir: Path
    callback_port: int
    cds_port: int
    _opms: list[OpmSpec] = field(default_factory=list)

    @property
    def engine(self) -> AsyncEngine:
        return self.daemon.engine

    @property
    def simulator(self) -> SimulatorHandle:
        assert self.sim is not None, "the simulator is down"
        return self.sim

    # --- the simulator ---------------------------------------------------------------------------------

    async def control(self, method: str, path: str, body: object = None, status: int = 200) -> Any:
        """The simulator's control API (plain HTTP on loopback)."""
        data = None if body is None else msgspec.json.encode(body)
        async with aiohttp.ClientSession() as session, session.request(
            method, self.simulator.control_url + path, data=data,
            headers={"Content-Type": "application/json"},
        ) as response:
            found = await response.json()
            assert response.status == status, (path, response.status, found)
            return found

    async def add_sim_opm(self, opm: str, supplier: str | None, **changes: Any) -> None:
        spec = OpmSpec(
            opm=opm, commodity=Commodity.electricity, dso_ean=CEZ_DISTRIBUCE, supplier_ean=supplier,
            meter_id=f"M{opm[-8:]}", states={"VT": Decimal(1000), "NT": Decimal(2000)}, **changes,
        )
        self._opms.append(spec)
        if self.sim is not None:  # else added when the simulator starts
            await self.control("POST", "/opms", msgspec.to_builtins(spec), status=201)

    async def stop_simulator(self) -> None:
        sim, self.sim = self.sim, None
        if sim is not None:
            await sim.stop()

    async def restart_simulator(self) -> None:
        """The simulator again on the same CDS port, with the OPMs added before (its state is gone)."""
        assert self.sim is None
        self.sim = await start_market(self.pki_dir, self.clock, self.callback_port, self.cds_port)
        for spec in self._opms:
            await self.control("POST", "/opms", msgspec.to_builtins(spec), status=201)

    def received_from_us(self, opm: str) -> list[LogEntry]:
        """The switch requests of ours about ``opm`` that reached the simulator (its message log; master data
        has no single OPM there, see ``received``)."""
        return [
            entry for entry in self.simulator.simulator.log
            if entry.direction == "in" and entry.sender == US and entry.opm == opm
        ]

    def received(self, message_id: str) -> list[LogEntry]:
        """What reached the simulator from us as message ``message_id``."""
        return [
            entry for entry in self.simulator.simulator.log
            if entry.direction == "in" and entry.sender == US and entry.message_id == message_id
        ]

    async def deliver(self, at: dt.datetime | None = None) -> None:
        """Move the shared clock to ``at`` (if given) and let the simulator run what fell due and deliver it
        to our callback. Delivery must not fail: a refused or failed delivery stops the scenario here."""
        if at is not None:
            self.clock.set(at)
        summary = await self.simulator.simulator.process_due()
        assert summary.refused == 0 and summary.retrying == 0, summary

    def advance_to(self, at: dt.datetime) -> None:
        """Move the shared clock without running the simulator's steps."""
        self.clock.set(at)

    # --- our API ---------------------------------------------------------------------------------------

    async def api(self, method: str, path: str, body: object = None, status: int = 200) -> Any:
        data = None if body is None else msgspec.json.encode(body)
        async with self.http.request(
            method, self.api_url + path, data=data, headers={"Content-Type": "application/json"},
        ) as response:
            found = await response.json()
            assert response.status == status, (path, response.status, found)
            return found

    async def process(self, opm: str, machine: str) -> dict[str, Any] | None:
        view = await self.api("GET", f"/api/switching/{opm}")
        found = [p for p in view["processes"] if p["machine"] == machine]
        return found[0] if found else None

    async def reaches(self, opm: str, machine: str, state: str) -> dict[str, Any]:
        """The instance of ``machine`` for ``opm`` once in ``state``; fails naming the state it is in."""
        last: list[dict[str, Any] | None] = [None]

        async def probe() -> dict[str, Any] | None:
            last[0] = found = await self.process(opm, machine)
            return found if found is not None and found["state"] == state else None

        try:
            return await wait_for(probe, f"{machine} of {opm} in state {state}")
        except AssertionError as exc:
            seen = last[0]
            where = "no instance" if seen is None else f"state {seen['state']}, data {seen['data']}"
            raise AssertionError(f"{exc}; it has {where}") from None

    # --- master data -----------------------------------------------------------------------------------

    async def parties(self) -> Parties:
        async with self.engine.begin() as conn:
            customer_id, customer = await add_customer(conn)
            account = await add_account(conn, customer_id)
        return Parties(customer, account)

    async def opm(self, code: str) -> None:
        async with self.engine.begin() as conn:
            await create_opm(conn, ACTOR, self.clock.now(), electricity_in(code))

    async def contract(self, parties: Parties, opm: str, **changes: Any) -> str:
        """A contract signed now (our services, so ``masterdata.contracts`` announces it); its number."""
        self.daemon.relay.notify()
        async with self.engine.begin() as conn:
            created = await create_contract(
                conn, ACTOR, self.clock.now(), contract_in(parties.customer, parties.account, opm, **changes)
            )
        self.daemon.relay.notify()
        return created.number

    # --- what the stack wrote --------------------------------------------------------------------------

    async def events(self, topic: str, key: str) -> list[Envelope]:
        """Envelopes queued in the outbox for ``topic`` and ``key``, oldest first (sent ones are kept)."""
        query = (
            sa.select(outbox.c.value).where(outbox.c.topic == topic, outbox.c.key == key)
            .order_by(outbox.c.seq)
        )
        async with self.engine.connect() as conn:
            return [decode(row.value) for row in (await conn.execute(query)).all()]

    async def payloads(self, topic: str, key: str, kind: type[T]) -> list[T]:
        return [e.payload for e in await self.events(topic, key) if isinstance(e.payload, kind)]

    async def readings(self, opm: str) -> list[Any]:
        query = sa.select(rd_reading).where(rd_reading.c.opm == opm).order_by(rd_reading.c.id)
        async with self.engine.connect() as conn:
            return list((await conn.execute(query)).all())

    async def activities(self, entity: str, key: str) -> list[Any]:
        a = t.activity.c
        query = sa.select(t.activity).where(a.entity == entity, a.entity_key == key).order_by(a.created_at)
        async with self.engine.connect() as conn:
            return list((await conn.execute(query)).all())


def daemon_environ(
    sim: SimulatorHandle, *, callback_port: int, pg_url: str, kafka_bootstrap: str, tmp_path: Path,
    http_port: int,
) -> dict[str, str]:
    return {
        **sim.daemon_environment(callback_port=callback_port),
        "PROUD_DATABASE_URL": pg_url, "PROUD_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "PROUD_RULES_DIR": str(RULES_DIR), "PROUD_HTTP_PORT": str(http_port),
        "PROUD_DATA_DIR": str(tmp_path / "data"), "PROUD_DOCUMENTS_DIR": str(tmp_path / "documents"),
        "PROUD_ARES_BASE_URL": "off", "PROUD_OTE_TIMEOUT_S": "5",
        "PROUD_RETRY_ATTEMPTS_MAX": str(RETRY_ATTEMPTS_MAX), "PROUD_RETRY_DELAY_S_INITIAL": "0.05",
        "PROUD_RETRY_DELAY_S_MAX": "0.2", "PROUD_TIMER_POLL_INTERVAL_S": "0.1",
        # The longest allowed: the relay purges sent rows by the (manual) clock, so a scenario reads the
        # outbox only for what was emitted since it last moved the clock.
        "PROUD_OUTBOX_SENT_RETENTION_S": "3600",
    }


@asynccontextmanager
async def running_stack(
    pki_dir: Path, *, pg_url: str, kafka_bootstrap: str, tmp_path: Path, group_suffix: str,
    simulator_up: bool = True,
) -> AsyncIterator[Stack]:
    """The daemon and the simulator on one manual clock at ``START``; the daemon's consumer groups end in
    ``.<group_suffix>``. ``simulator_up`` False: the daemon is set up to talk to the simulator's port, but
    nothing listens there until ``restart_simulator``."""
    clock = ManualClock(START)
    callback_port, http_port, cds_port = free_port(), free_port(), free_port()
    sim: SimulatorHandle | None = await start_market(pki_dir, clock, callback_port, cds_port)
    assert sim is not None
    environ = daemon_environ(
        sim, callback_port=callback_port, pg_url=pg_url, kafka_bootstrap=kafka_bootstrap, tmp_path=tmp_path,
        http_port=http_port,
    )
    if not simulator_up:
        await sim.stop()
        sim = None
    settings = load_settings(environ=environ)
    subscriptions = builtin_subscriptions(settings)
    if READINGS_GROUP not in {s.group_id for s in subscriptions}:
        subscriptions.append(readings_subscription(settings))
    groups = [*(s.group_id for s in subscriptions), OTE_SENDER_GROUP, *PROCESS_GROUPS]
    await start_groups_at_end(kafka_bootstrap, groups, group_suffix)
    daemon = IsolatedDaemon(settings, clock=clock, subscriptions=subscriptions, group_suffix=group_suffix)
    stack: Stack | None = None
    try:
        await daemon.start()
        secret = await new_key(daemon.engine, Role.ADMIN, uuid.uuid4().hex[:10])
        async with aiohttp.ClientSession(headers=bearer(secret)) as http:
            stack = Stack(
                clock, daemon, sim, f"http://127.0.0.1:{http_port}", http, pki_dir, callback_port, cds_port
            )
            yield stack
    finally:
        await daemon.stop()
        if stack is not None:
            await stack.stop_simulator()
        elif sim is not None:
            await sim.stop()
