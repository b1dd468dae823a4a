"""The simulated CDS web service (``CDSService`` / ``CDSGasService``, ote-market.md §2): SOAP 1.1 over HTTPS,
client certificates required (a client without one signed by the configured CA is refused in the handshake).

    body ─ not a SOAP envelope / empty / a Fault ─→ HTTP 500 soap:Client Fault (nothing to refer to)
         ─ examine (signature when a trust store is set, codec) ─┬─ Refused ─→ negative RESPONSE (HTTP 200)
                                                                 └─ Accepted ─→ simulator.handle ─→ RESPONSE
         ─ the simulator is full or broken ─→ HTTP 503 soap:Server Fault (send again later)

Why a Fault for the first case and a RESPONSE for the second: a RESPONSE refers to a message by its id, and
a body without an envelope has no message; once there is one, the sender's process learns the reason code
the way it learns every other refusal.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from typing import Final

import structlog
from aiohttp import web

from connectors.ote import soap
from connectors.ote.callback import peer_subject
from connectors.ote.codec.common import OteMalformed
from connectors.ote.inbound import Accepted, Refused, examine
from connectors.ote.simulator.core import OteSimulator
from connectors.ote.transport import BODY_BYTES_MAX
from gateway.errors import TransientError

log = structlog.get_logger(__name__)

#: [I] Paths of the simulated services; OTE's real endpoints are in its WSDL ("WSDL šablony").
CDS_PATHS: Final = ("/CDSService", "/CDSGasService")
SHUTDOWN_TIMEOUT_S: Final = 5.0
_SENDER: Final = re.compile(rb"<(?:[\w.-]+:)?SenderIdentification\b[^>]*\bid=\"([0-9]{13})\"")
#: Bytes searched for the sender of a message that could not be decoded.
SENDER_SEARCH_BYTES_MAX: Final = 4_096


def _xml(body: bytes, *, status: int) -> web.Response:
    return web.Response(body=body, status=status, content_type="text/xml", charset="utf-8")


def _sender_hint(raw: bytes) -> str | None:
    """The sender's EAN of a message we refuse, to address the negative RESPONSE; None if not found."""
    found = _SENDER.search(raw[:SENDER_SEARCH_BYTES_MAX])
    return None if found is None else found.group(1).decode()


class CdsService:
    """An aiohttp site on ``host:port`` (0: any free port) serving ``CDS_PATHS`` for ``simulator``."""

    def __init__(
        self, simulator: OteSimulator, *, host: str, port: int, ssl_context: ssl.SSLContext,
        trust_store_path: str | None,
    ) -> None:
        assert ssl_context.verify_mode == ssl.CERT_REQUIRED, "CS OTE requires client certificates"
        self._simulator = simulator
        self._host, self._port, self._ssl_context = host, port, ssl_context
        self._trust_store_path = trust_store_path
        self._runner: web.AppRunner | None = None

    @property
    def port(self) -> int:
        assert self._runner is not None, "CdsService.port before start"
        port: int = self._runner.addresses[0][1]
        return port

    async def start(self) -> None:
        assert self._runner is None, "CdsService started twice"
        app = web.Application(client_max_size=BODY_BYTES_MAX)
        for path in CDS_PATHS:
            app.router.add_post(path, self._handle)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT_S)
        await runner.setup()
        try:
            await web.TCPSite(runner, self._host, self._port, ssl_context=self._ssl_context).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        peer = peer_subject(request)
        try:
            if soap.unwrap(raw) is None:
                raise OteMalformed("/Envelope/Body", None, "is empty; expected one OTE message")
        except (OteMalformed, soap.SoapFault) as exc:
            log.warning("ote.simulator.fault", peer=peer, error=str(exc))
            return _xml(soap.fault("Client", f"not a SOAP 1.1 request with a message: {exc}"), status=500)
        # Signature checks and decoding take CPU time: off the event loop.
        outcome: Accepted | Refused = await asyncio.to_thread(
            examine, raw, trust_store_path=self._trust_store_path
        )
        try:
            reply = self._simulator.handle(outcome, sender_hint=_sender_hint(raw), peer=peer)
        except TransientError as exc:
            log.warning("ote.simulator.busy", error=str(exc))
            return _xml(soap.fault("Server", f"temporarily unavailable, send again later: {exc}"), status=503)
        return _xml(soap.wrap(reply), status=200)
