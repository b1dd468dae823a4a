"""The simulated market of the simulator tests: the simulator on loopback ports in manual mode, our real
``OteTransport`` (mTLS) as the supplier's outbound side and our real ``CallbackServer`` (PostgreSQL) as its
callback, all on one ``ManualClock``.

``Market`` bundles them: ``send`` a message as our supplier, ``due`` to move the clock and run what fell
due, ``received`` to read what the callback published on ``ote.inbound`` (so signed, verified and decoded).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from connectors.ote import codec
from connectors.ote.callback import CallbackServer
from connectors.ote.pki import TEST_VALID_DAYS, SimulatorPki, make_simulator_pki
from connectors.ote.simulator import (
    DueSummary,
    OpmSpec,
    ParticipantSpec,
    SimulatorHandle,
    SimulatorSeed,
    callback_url,
    start_simulator,
)
from connectors.ote.simulator.runner import CEZ_DISTRIBUCE, DEMO_COMPETITOR_EAN, DEMO_LAST_RESORT_EAN
from connectors.ote.tables import ote_archive
from connectors.ote.transport import OteTransport, client_ssl_context, server_ssl_context
from gateway.clock import ManualClock
from gateway.masterdata.energy import ean_check_digit, eic_check_char
from gateway.process.calendar import PRAGUE
from gateway.store.db import create_engine
from gateway.store.tables import dead_letter, outbox
from gateway.switching.config import DEMO_SUPPLIER_EAN, OTE_EAN
from schemas.envelope import decode
from schemas.ote import Commodity, Response
from schemas.ote.common import OteMessage
from schemas.ote.events import OteReceived
from tests.http.support import free_port

US = DEMO_SUPPLIER_EAN
COMPETITOR = DEMO_COMPETITOR_EAN
LAST_RESORT = DEMO_LAST_RESORT_EAN
#: Monday 30 November 2026, 09:00 in Prague.
START = dt.datetime(2026, 11, 30, 9, 0, tzinfo=PRAGUE)


def ean(body: str) -> str:
    return body + ean_check_digit(body)


#: OPMs of the seed: the competitor's, ours, one without supplier, a gas one of the competitor's.
THEIRS = ean("85918240090000001")
OURS = ean("85918240090000003")
VACANT = ean("85918240090000005")
GAS_THEIRS = "27ZG900Z0000001" + eic_check_char("27ZG900Z0000001")


def prague(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=PRAGUE)


def seed(our_callback: str | None) -> SimulatorSeed:
    return SimulatorSeed(
        operator_ean=OTE_EAN, last_resort_ean=LAST_RESORT,
        participants=(
            ParticipantSpec(ean=US, name="us", callback_url=our_callback),
            ParticipantSpec(ean=COMPETITOR, name="competitor"),
            ParticipantSpec(ean=LAST_RESORT, name="last resort"),
            ParticipantSpec(ean=CEZ_DISTRIBUCE, name="ČEZ Distribuce"),
        ),
        opms=(
            OpmSpec(
                opm=THEIRS, commodity=Commodity.electricity, dso_ean=CEZ_DISTRIBUCE, supplier_ean=COMPETITOR,
                meter_id="M-THEIRS", states={"VT": Decimal(1000), "NT": Decimal(2000)},
            ),
            OpmSpec(opm=OURS, commodity=Commodity.electricity, dso_ean=CEZ_DISTRIBUCE, supplier_ean=US),
            OpmSpec(opm=VACANT, commodity=Commodity.electricity, dso_ean=CEZ_DISTRIBUCE),
            OpmSpec(opm=GAS_THEIRS, commodity=Commodity.gas, dso_ean=CEZ_DISTRIBUCE, supplier_ean=COMPETITOR),
        ),
    )


@pytest.fixture(scope="session")
def sim_pki(tmp_path_factory: pytest.TempPathFactory) -> SimulatorPki:
    return make_simulator_pki(tmp_path_factory.mktemp("sim-pki"), valid_days=TEST_VALID_DAYS)


@dataclass
class Market:
    clock: ManualClock
    handle: SimulatorHandle
    transport: OteTransport
    engine: AsyncEngine
    pki: SimulatorPki
    callback_port: int
    callback: CallbackServer | None = None
    _seen: int = field(default=0)

    async def start_callback(self) -> None:
        assert self.callback is None
        context = server_ssl_context(
            cert_path=str(self.pki.proud_callback.cert_path), key_path=str(self.pki.proud_callback.key_path),
            client_ca_path=str(self.pki.tls_ca.cert_path),
        )
        self.callback = CallbackServer(
            engine=self.engine, clock=self.clock, host="127.0.0.1", port=self.callback_port,
            ssl_context=context, trust_store_path=str(self.pki.signing_ca.cert_path),
            participant_ean=US, operator_ean=OTE_EAN,
        )
        await self.callback.start()

    async def stop_callback(self) -> None:
        if self.callback is not None:
            await self.callback.stop()
            self.callback = None

    async def send(self, message: OteMessage) -> Response:
        """``message`` (encoded by our codec) over our real transport; the simulator's RESPONSE."""
        reply = await self.transport.send(codec.encode(message))
        return codec.decode_as(reply, Response)

    async def due(self, at: dt.datetime | None = None) -> DueSummary:
        if at is not None:
            self.clock.set(at)
        return await self.handle.simulator.process_due()

    async def received(self) -> list[dict[str, Any]]:
        """Messages published by our callback since the last call, decoded (``OteReceived.message``)."""
        async with self.engine.connect() as conn:
            query = sa.select(outbox.c.value).where(outbox.c.topic == "ote.inbound").order_by(outbox.c.seq)
            rows = (await conn.execute(query)).all()
        fresh, self._seen = rows[self._seen:], len(rows)
        messages = []
        for row in fresh:
            payload = decode(row.value).payload
            assert isinstance(payload, OteReceived) and payload.message is not None
            messages.append(payload.message)
        return messages

    async def dead_letters(self) -> int:
        async with self.engine.connect() as conn:
            count: int = await conn.scalar(sa.select(sa.func.count()).select_from(dead_letter)) or 0
            return count

    def kept(self, receiver: str) -> list[OteMessage]:
        """What the simulator wrote to a participant it plays itself (no callback), decoded."""
        entries = self.handle.simulator.outbox.entries()
        return [codec.decode(entry.xml) for entry in entries if entry.receiver_ean == receiver and entry.xml]


@pytest.fixture
async def pg(pg_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(pg_url)
    async with engine.begin() as conn:
        # The PostgreSQL database is shared by the session: start from empty tables.
        for table in (ote_archive, dead_letter, outbox):
            await conn.execute(table.delete())
    yield engine
    await engine.dispose()


@pytest.fixture
async def market(pg: AsyncEngine, sim_pki: SimulatorPki, tmp_path: Path) -> AsyncIterator[Market]:
    """The market at ``START``, our callback running (``market.stop_callback`` to take it down)."""
    clock = ManualClock(START)
    port = free_port()
    handle = await start_simulator(
        sim_pki.tls_ca.cert_path.parent, clock=clock, seed=seed(callback_url("127.0.0.1", port)),
        auto_interval_s=None,
    )
    transport = OteTransport(
        handle.cds_url, connect_timeout_s=5, read_timeout_s=10,
        ssl_context=client_ssl_context(
            cert_path=str(sim_pki.proud_client.cert_path), key_path=str(sim_pki.proud_client.key_path),
            ca_bundle_path=str(sim_pki.tls_ca.cert_path),
        ),
    )
    await transport.start()
    market = Market(clock, handle, transport, pg, sim_pki, port)
    await market.start_callback()
    try:
        yield market
    finally:
        await market.stop_callback()
        await transport.stop()
        await handle.stop()
