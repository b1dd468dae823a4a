"""CS OTE inside the daemon: the connector (callback service, outbound transport) and the sender consumer.

The sender (``connectors.ote.outbound``) needs the connector instance, so it is built here rather than with
the other consumers (``gateway.subscriptions``). It runs only while the connector does: it starts after the
connector and stops before it, so no message is handed to a transport that is not open.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from typing import Final

import msgspec
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from connectors.ote.config import ote_config
from connectors.ote.connector import OteConnector
from connectors.ote.outbound import SEND_BATCH_MAX, OteOutbound
from connectors.ote.simulator import SimulatorHandle, callback_url, demo_seed, start_simulator
from gateway.bus.handler import Subscription
from gateway.bus.runner import ConsumerRunner
from gateway.clock import Clock
from gateway.config import Settings
from gateway.switching.config import DEMO_SUPPLIER_EAN

log = structlog.get_logger(__name__)

#: The demo's simulator PKI, under ``data_dir``: made once, reused on the next start.
DEMO_SIMULATOR_DIR: Final = "ote-simulator"
LOOPBACK: Final = "127.0.0.1"

#: Builds a consumer runner for a subscription with at most that many messages per batch.
RunnerFactory = Callable[[Subscription, int], ConsumerRunner]


class MarketLink:
    """The OTE connector when configured (``ote_url``, ``ote_callback_port``); the sender with ``ote_url``.

    The sender archives what it sends in its own consumer transaction (``OteConnector.send(conn=…)``), so
    it works on SQLite too, whose one write lock that transaction holds.
    """

    def __init__(
        self, settings: Settings, *, engine: AsyncEngine, clock: Clock, runner: RunnerFactory
    ) -> None:
        config = ote_config(settings)
        self.connector: OteConnector | None = None
        if config.outbound is not None or config.callback is not None:
            self.connector = OteConnector(config, engine=engine, clock=clock)
        self.sender: ConsumerRunner | None = None
        if config.outbound is not None:
            assert self.connector is not None
            self.sender = runner(OteOutbound(self.connector).subscription(), SEND_BATCH_MAX)

    async def start(self) -> None:
        if self.connector is not None:
            await self.connector.start()
        if self.sender is not None:
            await self.sender.start()

    async def stop(self) -> None:
        """Idempotent; the sender finishes the message in hand before the connector closes."""
        if self.sender is not None:
            await self.sender.stop()
        if self.connector is not None:
            await self.connector.stop()


async def start_demo_simulator(settings: Settings) -> tuple[SimulatorHandle, Settings]:
    """For a demo without CS OTE configured: the OTE simulator on loopback ports (auto mode, a throw-away
    PKI in ``<data_dir>/ote-simulator``) and the settings of a daemon that talks to it. The simulator's
    demo OPMs include the demo's sale of the day, so its switch request is answered within seconds."""
    port = free_loopback_port()
    ours = settings.ote_participant_ean or DEMO_SUPPLIER_EAN
    seed = demo_seed(callback_url(LOOPBACK, port), our_ean=ours)
    # Prompt answers: a demo cannot wait weeks for the objection deadline before the answer comes.
    handle = await start_simulator(
        Path(settings.data_dir) / DEMO_SIMULATOR_DIR, seed=seed, prompt_answers=True
    )
    environment = handle.daemon_environment(callback_port=port, participant_ean=ours)
    fields = {name.removeprefix("PROUD_").lower(): value for name, value in environment.items()}
    changed = msgspec.convert({**msgspec.to_builtins(settings), **fields}, Settings, strict=False)
    log.info("demo OTE simulator", cds=handle.cds_url, control=handle.control_url, callback_port=port)
    return handle, changed


def free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        port: int = probe.getsockname()[1]
    return port
