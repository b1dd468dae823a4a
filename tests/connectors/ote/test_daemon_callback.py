"""The daemon runs the OTE callback service when it is configured, and what OTE sends reaches the bus."""

from __future__ import annotations

import ssl
from pathlib import Path

import aiohttp
import sqlalchemy as sa

from connectors.ote import codec, soap
from connectors.ote.tables import ote_archive
from connectors.ote.transport import client_ssl_context
from gateway.config import load_settings
from gateway.daemon import Daemon
from gateway.store.migrate import upgrade_sync
from gateway.store.tables import bus_log
from schemas.envelope import decode
from schemas.ote.events import OteReceived
from schemas.ote.response import Response
from tests.connectors.ote.conftest import GOLDEN, sign
from tests.connectors.ote.pki import Pki
from tests.connectors.ote.test_transport_callback import OTE_EAN, OUR_EAN
from tests.http.support import free_port, wait_for


async def test_a_configured_daemon_accepts_a_callback_and_publishes_it(tmp_path: Path, pki: Pki) -> None:
    port = free_port()
    settings = load_settings(environ={
        "PROUD_DATA_DIR": str(tmp_path), "PROUD_HTTP_PORT": str(free_port()), "PROUD_ARES_BASE_URL": "off",
        "PROUD_OTE_CALLBACK_PORT": str(port), "PROUD_OTE_CALLBACK_CERT": str(pki.server.cert_path),
        "PROUD_OTE_CALLBACK_KEY": str(pki.server.key_path), "PROUD_OTE_CA_BUNDLE": str(pki.ca.cert_path),
        "PROUD_OTE_TRUST_STORE": str(pki.signing_ca.cert_path), "PROUD_OTE_PARTICIPANT_EAN": OUR_EAN,
        "PROUD_OTE_OPERATOR_EAN": OTE_EAN,
    })
    upgrade_sync(settings.effective_database_url)
    daemon = Daemon(settings)
    await daemon.start()
    try:
        message = sign((GOLDEN / "switch-answer-electricity.xml").read_bytes(), pki.signer)
        context: ssl.SSLContext = client_ssl_context(
            cert_path=str(pki.client.cert_path), key_path=str(pki.client.key_path),
            ca_bundle_path=str(pki.ca.cert_path),
        )
        async with (
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context)) as session,
            session.post(f"https://127.0.0.1:{port}/ote/callback", data=soap.wrap(message),
                         headers={"Content-Type": soap.CONTENT_TYPE}) as response,
        ):
            assert response.status == 200
            reply = soap.unwrap(await response.read())
        assert reply is not None
        assert [reason.code for reason in codec.decode_as(reply, Response).reasons] == ["0"]

        async def published() -> list[bytes] | None:
            async with daemon.engine.connect() as conn:
                query = sa.select(bus_log.c.value).where(bus_log.c.topic == "ote.inbound")
                rows = (await conn.execute(query)).all()
            return [row.value for row in rows] or None

        (value,) = await wait_for(published, "the callback's message on the ote.inbound topic")
        body = decode(value).payload
        assert isinstance(body, OteReceived) and body.family == "switch-answer"
        async with daemon.engine.connect() as conn:
            assert await conn.scalar(sa.select(sa.func.count()).select_from(ote_archive)) == 1
    finally:
        await daemon.stop()
