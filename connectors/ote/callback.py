"""The callback service CS OTE calls (server–server mode, ote-market.md §2): SOAP over HTTPS with mTLS.

Its own port and TLS context: a client without a certificate signed by the configured CA is refused during
the handshake, before any HTTP. ``POST /ote/callback`` answers every readable request with a SOAP envelope
holding a RESPONSE, positive or negative (see ``connectors.ote.inbound``); only a database outage answers
503 with a SOAP Fault, so that CS OTE sends the message again.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Final

import structlog
from aiohttp import web
from cryptography import x509
from sqlalchemy.ext.asyncio import AsyncEngine

from connectors.ote import soap
from connectors.ote.archive import record_inbound
from connectors.ote.codec.common import OteMalformed
from connectors.ote.inbound import REASON_INTERNAL, Accepted, Peek, Refused, answer, examine
from connectors.ote.transport import BODY_BYTES_MAX
from gateway.clock import Clock
from gateway.errors import TransientError

log = structlog.get_logger(__name__)

CALLBACK_PATH: Final = "/ote/callback"
#: How long ``stop`` lets a request in progress finish (archiving is one short transaction).
SHUTDOWN_TIMEOUT_S: Final = 10.0


def peer_subject(request: web.Request) -> str | None:
    """RFC 4514 subject of the client certificate; None without TLS (never in production: mTLS is on)."""
    transport = request.transport
    ssl_object = None if transport is None else transport.get_extra_info("ssl_object")
    if not isinstance(ssl_object, ssl.SSLObject):
        return None
    der = ssl_object.getpeercert(binary_form=True)
    if der is None:
        return None
    subject: str = x509.load_der_x509_certificate(der).subject.rfc4514_string()
    return subject


class CallbackServer:
    """An aiohttp site on ``host:port`` (port 0: any free port, see ``port``) serving ``CALLBACK_PATH``."""

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        clock: Clock,
        host: str,
        port: int,
        ssl_context: ssl.SSLContext,
        trust_store_path: str | None,
        participant_ean: str,
        operator_ean: str,
    ) -> None:
        assert ssl_context.verify_mode == ssl.CERT_REQUIRED, "the callback requires client certificates"
        assert 0 <= port <= 65535, port
        self._engine, self._clock = engine, clock
        self._host, self._port = host, port
        self._ssl_context = ssl_context
        self._trust_store_path = trust_store_path
        self._participant_ean, self._operator_ean = participant_ean, operator_ean
        self._runner: web.AppRunner | None = None

    @property
    def port(self) -> int:
        """The bound port, once started."""
        assert self._runner is not None, "CallbackServer.port before start"
        address = self._runner.addresses[0]
        port: int = address[1]
        return port

    async def start(self) -> None:
        assert self._runner is None, "CallbackServer started twice"
        # client_max_size makes aiohttp answer 413 to a larger body without reading it.
        app = web.Application(client_max_size=BODY_BYTES_MAX)
        app.router.add_post(CALLBACK_PATH, self._handle)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT_S)
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._port, ssl_context=self._ssl_context)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        log.info("ote.callback.started", host=self._host, port=self.port, path=CALLBACK_PATH)

    async def stop(self) -> None:
        """Idempotent."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        subject = peer_subject(request)
        # Signature checks and decoding of a message of several MB take CPU time: off the event loop.
        outcome = await asyncio.to_thread(self._examine, raw)
        now = self._clock.now()
        try:
            archive_id = await record_inbound(self._engine, raw, outcome, now=now, peer_subject=subject)
        except TransientError as exc:
            log.warning("ote.callback.store_unavailable", error=str(exc))
            return _xml(soap.fault("Server", "temporarily unavailable, send again later"), status=503)
        reply = answer(
            outcome, now=now, participant_ean=self._participant_ean, operator_ean=self._operator_ean
        )
        if isinstance(outcome, Accepted):
            log.info("ote.callback.accepted", archive_id=archive_id, family=outcome.family, peer=subject)
        else:
            log.warning(
                "ote.callback.refused", archive_id=archive_id, reason=outcome.reason_code,
                error=outcome.error.message, peer=subject,
            )
        return _xml(soap.wrap(reply), status=200)

    def _examine(self, raw: bytes) -> Accepted | Refused:
        try:
            return examine(raw, trust_store_path=self._trust_store_path)
        except Exception as exc:
            # A bug in our own reading must not lose the message: it is dead-lettered like a refused one
            # and can be replayed once fixed.
            log.exception("ote.callback.examine_failed")
            error = OteMalformed("/", None, f"could not be examined: {type(exc).__name__}: {exc}")
            return Refused(REASON_INTERNAL, error, Peek())


def _xml(body: bytes, *, status: int) -> web.Response:
    return web.Response(body=body, status=status, content_type="text/xml", charset="utf-8")
