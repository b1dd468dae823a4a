"""Outbound ``OteTransport`` against a local aiohttp server with mTLS: answers, faults, 503, timeouts."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import sqlalchemy as sa
from aiohttp import web

from connectors.ote import soap
from connectors.ote.config import OteConfig, OutboundConfig
from connectors.ote.connector import OteConnector
from connectors.ote.tables import ote_archive
from connectors.ote.transport import (
    OteRejected,
    OteTransport,
    OteUnavailable,
    client_ssl_context,
    server_ssl_context,
)
from gateway.clock import ManualClock
from gateway.store.db import create_engine
from tests.connectors.ote.conftest import GOLDEN
from tests.connectors.ote.pki import Pki

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
REPLY = (GOLDEN / "response-electricity.xml").read_bytes()
MESSAGE = (GOLDEN / "switch-request-electricity.xml").read_bytes()
TIMEOUT_S = 0.3


async def _answer(request: web.Request) -> web.Response:
    received = soap.unwrap(await request.read())
    assert received is not None and b"SwitchRequest" in received
    assert request.headers["SOAPAction"] == soap.SOAP_ACTION
    return web.Response(body=soap.wrap(REPLY), content_type="text/xml")


async def _fault(request: web.Request) -> web.Response:
    return web.Response(body=soap.fault("Client", "schema violation at line 3"), status=500)


async def _busy(request: web.Request) -> web.Response:
    return web.Response(text="maintenance", status=503)


async def _slow(request: web.Request) -> web.Response:
    await asyncio.sleep(TIMEOUT_S * 10)
    return web.Response(body=soap.wrap(REPLY))


@pytest.fixture
async def server(pki: Pki) -> AsyncIterator[str]:
    """An mTLS server trusting our CA; its base URL."""
    app = web.Application()
    for path, handler in (("/ok", _answer), ("/fault", _fault), ("/busy", _busy), ("/slow", _slow)):
        app.router.add_post(path, handler)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    context = server_ssl_context(
        cert_path=str(pki.server.cert_path), key_path=str(pki.server.key_path),
        client_ca_path=str(pki.ca.cert_path),
    )
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    yield f"https://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


def _transport(pki: Pki, url: str) -> OteTransport:
    context = client_ssl_context(
        cert_path=str(pki.client.cert_path), key_path=str(pki.client.key_path),
        ca_bundle_path=str(pki.ca.cert_path),
    )
    return OteTransport(url, ssl_context=context, connect_timeout_s=TIMEOUT_S, read_timeout_s=TIMEOUT_S)


async def _send(pki: Pki, url: str) -> bytes:
    transport = _transport(pki, url)
    await transport.start()
    try:
        return await transport.send(MESSAGE)
    finally:
        await transport.stop()


async def test_send_returns_the_unwrapped_reply(pki: Pki, server: str) -> None:
    assert await _send(pki, server + "/ok") == soap.unwrap(soap.wrap(REPLY))


async def test_soap_fault_is_rejected_with_its_text(pki: Pki, server: str) -> None:
    with pytest.raises(OteRejected, match="schema violation at line 3") as caught:
        await _send(pki, server + "/fault")
    assert not caught.value.retryable


async def test_503_is_unavailable(pki: Pki, server: str) -> None:
    with pytest.raises(OteUnavailable, match="HTTP 503") as caught:
        await _send(pki, server + "/busy")
    assert caught.value.retryable


async def test_read_timeout_is_unavailable(pki: Pki, server: str) -> None:
    with pytest.raises(OteUnavailable, match="timed out"):
        await _send(pki, server + "/slow")


async def test_refused_connection_is_unavailable(pki: Pki) -> None:
    # Port 1 on loopback: nothing listens there.
    with pytest.raises(OteUnavailable, match="failed"):
        await _send(pki, "https://127.0.0.1:1/ok")


async def test_server_outside_our_ca_is_unavailable(pki: Pki, server: str) -> None:
    context = client_ssl_context(
        cert_path=str(pki.client.cert_path), key_path=str(pki.client.key_path),
        ca_bundle_path=str(pki.stranger.cert_path),
    )
    transport = OteTransport(server + "/ok", ssl_context=context, connect_timeout_s=1, read_timeout_s=1)
    await transport.start()
    try:
        with pytest.raises(OteUnavailable, match="CERTIFICATE_VERIFY_FAILED"):
            await transport.send(MESSAGE)
    finally:
        await transport.stop()


async def test_connector_archives_the_message_and_the_reply(pki: Pki, server: str, sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    config = OteConfig(
        outbound=OutboundConfig(
            url=server + "/ok", client_cert_path=str(pki.client.cert_path),
            client_key_path=str(pki.client.key_path), ca_bundle_path=str(pki.ca.cert_path), timeout_s=1.0,
        ),
        callback=None,
    )
    clock = ManualClock(dt.datetime(2026, 11, 30, 9, tzinfo=dt.UTC))
    async with OteConnector(config, engine=engine, clock=clock) as connector:
        reply = await connector.send(MESSAGE)
    async with engine.connect() as conn:
        rows = list(await conn.execute(sa.select(ote_archive).order_by(ote_archive.c.id)))
    await engine.dispose()
    assert [(row.direction, row.raw) for row in rows] == [("out", MESSAGE), ("in", reply)]
    assert rows[1].message_code == "812" and rows[0].message_id is not None

