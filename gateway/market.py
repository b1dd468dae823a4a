"""CS OTE inside the daemon: the connector (callback service, outbound transport) and the sender consumer.

The sender (``connectors.ote.outbound``) needs the connector instance, so it is built here rather than with
the other consumers (``gateway.subscriptions``). It runs only while the connector does: it starts after the
connector and stops before it, so no message is handed to a transport that is not open.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncEngine

from connectors.ote.config import ote_config
from connectors.ote.connector import OteConnector
from connectors.ote.outbound import SEND_BATCH_MAX, OteOutbound
from gateway.bus.handler import Subscription
from gateway.bus.runner import ConsumerRunner
from gateway.clock import Clock
from gateway.config import Settings

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
