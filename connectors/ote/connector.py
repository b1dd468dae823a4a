"""``OteConnector``: owns the outbound transport and the callback server; every message is archived.

The daemon builds it from ``ote_config(settings)`` and calls ``start``/``stop``; parts that are not
configured are not started.
"""

from __future__ import annotations

import contextlib
import ssl
from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from connectors.ote.archive import archive, record_outbound
from connectors.ote.callback import CallbackServer
from connectors.ote.config import CallbackConfig, OteConfig, OutboundConfig
from connectors.ote.inbound import peek
from connectors.ote.tables import DIRECTION_IN, DIRECTION_OUT
from connectors.ote.transport import (
    OteTransport,
    OteTransportProtocol,
    client_ssl_context,
    server_ssl_context,
)
from gateway.clock import Clock
from gateway.errors import ConfigError
from gateway.store.db import translate_errors


class OteConnector:
    """Sends messages to CS OTE and receives its callbacks.

    Arguments:
        config: from ``connectors.ote.config.ote_config``.
        engine: the database of the archive, the outbox and the dead letters.
        transport: replaces the HTTPS transport (a fake in tests); None builds one from ``config.outbound``.
    """

    def __init__(
        self,
        config: OteConfig,
        *,
        engine: AsyncEngine,
        clock: Clock,
        transport: OteTransportProtocol | None = None,
    ) -> None:
        self._config, self._engine, self._clock = config, engine, clock
        self._transport = transport
        self._callback: CallbackServer | None = None
        self._started = False

    async def start(self) -> None:
        assert not self._started, "OteConnector started twice"
        outbound, callback = self._config.outbound, self._config.callback
        if self._transport is None and outbound is not None:
            context = _client_context(outbound)
            self._transport = OteTransport(
                outbound.url, ssl_context=context,
                connect_timeout_s=outbound.timeout_s, read_timeout_s=outbound.timeout_s,
            )
        self._started = True
        try:
            if self._transport is not None:
                await self._transport.start()
            if callback is not None:
                self._callback = CallbackServer(
                    engine=self._engine, clock=self._clock, host=callback.host, port=callback.port,
                    ssl_context=_server_context(callback), trust_store_path=callback.trust_store_path,
                    participant_ean=callback.participant_ean, operator_ean=callback.operator_ean,
                )
                await self._callback.start()
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Idempotent: stops the callback first, so that no request is cut off by a closed transport."""
        if not self._started:
            return
        self._started = False
        callback, self._callback = self._callback, None
        if callback is not None:
            await callback.stop()
        if self._transport is not None:
            await self._transport.stop()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    @property
    def callback_port(self) -> int | None:
        return None if self._callback is None else self._callback.port

    async def send(self, xml: bytes, *, conn: AsyncConnection | None = None) -> bytes:
        """Archive ``xml`` (direction out), deliver it, archive the reply (direction in); the reply.

        ``conn``: archive in the caller's transaction (the sender's, which also records what the reply
        means), so that the archive and its consequence commit together; and on SQLite, whose one write
        lock that transaction holds, a transaction of our own would wait for it in vain. Without ``conn``
        each row is committed on its own.

        Raises OteUnavailable (retryable), OteRejected, OteMalformed (``xml`` is not XML), StoreUnavailable.
        """
        assert self._started and self._transport is not None, "OteConnector.send without outbound transport"
        sent = peek(xml)
        if conn is None:
            await record_outbound(
                self._engine, xml, now=self._clock.now(),
                message_id=sent.message_id, message_code=sent.message_code,
            )
        else:
            await archive(
                conn, direction=DIRECTION_OUT, raw=xml, now=self._clock.now(),
                message_id=sent.message_id, message_code=sent.message_code, peer_subject=None,
            )
        reply = await self._transport.send(xml)
        if reply:
            await self._archive_reply(reply, conn)
        return reply

    async def _archive_reply(self, reply: bytes, conn: AsyncConnection | None) -> None:
        received = peek(reply)
        with translate_errors("OTE archive (reply)"):
            async with contextlib.AsyncExitStack() as stack:
                target = conn if conn is not None else await stack.enter_async_context(self._engine.begin())
                await archive(
                    target, direction=DIRECTION_IN, raw=reply, now=self._clock.now(),
                    message_id=received.message_id, message_code=received.message_code, peer_subject=None,
                )


def _client_context(outbound: OutboundConfig) -> ssl.SSLContext:
    try:
        return client_ssl_context(
            cert_path=outbound.client_cert_path, key_path=outbound.client_key_path,
            ca_bundle_path=outbound.ca_bundle_path,
        )
    except (ssl.SSLError, OSError) as exc:
        # Files exist (checked by ote_config) but are not PEM, or the key does not match the certificate.
        reason = f"unusable with its key: {exc}"
        raise ConfigError("ote_client_cert", outbound.client_cert_path, reason) from exc


def _server_context(callback: CallbackConfig) -> ssl.SSLContext:
    try:
        return server_ssl_context(
            cert_path=callback.cert_path, key_path=callback.key_path, client_ca_path=callback.client_ca_path
        )
    except (ssl.SSLError, OSError) as exc:
        raise ConfigError("ote_callback_cert", callback.cert_path, f"unusable with its key: {exc}") from exc
