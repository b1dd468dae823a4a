"""The callback service over real mTLS on 127.0.0.1, on SQLite and PostgreSQL.

Each test starts an ``OteConnector`` with only the callback on (port 0), calls it with aiohttp as CS OTE
would, and reads back the archive, the outbox and the dead letters.
"""

from __future__ import annotations

import datetime as dt
import ssl
from collections.abc import AsyncIterator

import aiohttp
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from connectors.ote import codec, soap
from connectors.ote.config import CallbackConfig, OteConfig
from connectors.ote.connector import OteConnector
from connectors.ote.inbound import REASON_MALFORMED, REASON_SIGNATURE
from connectors.ote.tables import ote_archive
from connectors.ote.transport import client_ssl_context
from gateway.clock import ManualClock
from gateway.store.db import create_engine
from gateway.store.tables import dead_letter, outbox
from schemas.envelope import decode
from schemas.ote import Response
from schemas.ote.events import OteReceived
from tests.connectors.ote.conftest import GOLDEN, sign
from tests.connectors.ote.pki import Pki

OUR_EAN = "8591824556207"
OTE_EAN = "8591824000007"
NOW = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(params=["sqlite_url", "pg_url"])
async def engine(request: pytest.FixtureRequest) -> AsyncIterator[AsyncEngine]:
    url = request.getfixturevalue(request.param)
    engine = create_engine(url)
    async with engine.begin() as conn:
        # The PostgreSQL database is shared by the session: start from empty tables.
        for table in (ote_archive, dead_letter, outbox):
            await conn.execute(table.delete())
    yield engine
    await engine.dispose()


@pytest.fixture
async def connector(engine: AsyncEngine, pki: Pki) -> AsyncIterator[OteConnector]:
    config = OteConfig(outbound=None, callback=CallbackConfig(
        host="127.0.0.1", port=0, cert_path=str(pki.server.cert_path), key_path=str(pki.server.key_path),
        client_ca_path=str(pki.ca.cert_path), trust_store_path=str(pki.signing_ca.cert_path),
        participant_ean=OUR_EAN, operator_ean=OTE_EAN,
    ))
    async with OteConnector(config, engine=engine, clock=ManualClock(NOW)) as started:
        yield started


def _client_context(pki: Pki, *, client: str | None) -> ssl.SSLContext:
    if client is None:
        return ssl.create_default_context(cafile=str(pki.ca.cert_path))
    issued = getattr(pki, client)
    return client_ssl_context(
        cert_path=str(issued.cert_path), key_path=str(issued.key_path), ca_bundle_path=str(pki.ca.cert_path)
    )


async def _post(connector: OteConnector, pki: Pki, body: bytes, *, client: str | None = "client") -> bytes:
    url = f"https://127.0.0.1:{connector.callback_port}/ote/callback"
    connector_tls = aiohttp.TCPConnector(ssl=_client_context(pki, client=client))
    headers = {"Content-Type": soap.CONTENT_TYPE}
    async with (
        aiohttp.ClientSession(connector=connector_tls) as session,
        session.post(url, data=body, headers=headers) as response,
    ):
        assert response.status == 200, await response.text()
        return await response.read()


def _response(body: bytes) -> Response:
    message = soap.unwrap(body)
    assert message is not None
    return codec.decode_as(message, Response)


async def _rows(engine: AsyncEngine, table: sa.Table) -> list[sa.Row[object]]:
    async with engine.connect() as conn:
        return list(await conn.execute(sa.select(table)))


async def test_signed_message_is_archived_published_and_acknowledged(
    connector: OteConnector, engine: AsyncEngine, pki: Pki
) -> None:
    message = sign((GOLDEN / "switch-answer-electricity.xml").read_bytes(), pki.signer)
    body = soap.wrap(message)

    response = _response(await _post(connector, pki, body))

    decoded = codec.decode(message)
    assert response.reference_id == decoded.envelope.id
    assert [reason.code for reason in response.reasons] == ["0"]
    assert response.envelope.sender.ean == OUR_EAN and response.envelope.receiver.ean == OTE_EAN
    (archived,) = await _rows(engine, ote_archive)
    assert archived.raw == body and archived.direction == "in" and archived.size_bytes == len(body)
    sent = decoded.envelope
    assert (archived.message_id, archived.message_code) == (sent.id, sent.message_code)
    assert archived.peer_subject == "CN=client,O=proud tests"
    (row,) = await _rows(engine, outbox)
    assert row.topic == "ote.inbound"
    envelope = decode(row.value)
    assert isinstance(envelope.payload, OteReceived)
    assert envelope.key == getattr(decoded, "opm")  # noqa: B009  (the OPM is the key)
    assert envelope.payload.archive_id == archived.id and envelope.payload.family == "switch-answer"
    assert envelope.payload.message is not None and envelope.payload.message["type"] == "switch-answer"
    assert await _rows(engine, dead_letter) == []


@pytest.mark.parametrize("client", [None, "stranger"])
async def test_client_without_our_ca_is_refused_during_tls(
    connector: OteConnector, engine: AsyncEngine, pki: Pki, client: str | None
) -> None:
    body = soap.wrap(sign((GOLDEN / "response-electricity.xml").read_bytes(), pki.signer))
    with pytest.raises((aiohttp.ClientError, ssl.SSLError, ConnectionError)):
        await _post(connector, pki, body, client=client)
    assert await _rows(engine, ote_archive) == []


async def _assert_refused(engine: AsyncEngine, body: bytes, reply: bytes, reason_code: str) -> None:
    response = _response(reply)
    (reason,) = response.reasons
    assert (reason.code, reason.type) == (reason_code, "A02"), reason
    (archived,) = await _rows(engine, ote_archive)
    assert archived.raw == body
    (letter,) = await _rows(engine, dead_letter)
    assert letter.topic == "ote.inbound" and letter.value == body and letter.offset == archived.id
    assert letter.reason.startswith(reason_code)
    topics = [row.topic for row in await _rows(engine, outbox)]
    assert topics == ["ote.inbound.dlq"], "nothing published on ote.inbound"


@pytest.mark.parametrize("signer", ["rogue_signer", "tampered"])
async def test_bad_signature_is_refused_and_dead_lettered(
    connector: OteConnector, engine: AsyncEngine, pki: Pki, signer: str
) -> None:
    golden = (GOLDEN / "switch-answer-electricity.xml").read_bytes()
    if signer == "tampered":
        message = sign(golden, pki.signer).replace(b"8591824000007", b"8591824000014", 1)
    else:
        message = sign(golden, getattr(pki, signer))
    body = soap.wrap(message)
    reply = await _post(connector, pki, body)
    await _assert_refused(engine, body, reply, REASON_SIGNATURE)
    assert _response(reply).reference_id == codec.decode(golden).envelope.id


@pytest.mark.parametrize("body", [b"<not-xml", b"<soap:Envelope xmlns:soap='x'/>", b""])
async def test_malformed_request_is_refused_and_dead_lettered(
    connector: OteConnector, engine: AsyncEngine, pki: Pki, body: bytes
) -> None:
    reply = await _post(connector, pki, body)
    await _assert_refused(engine, body, reply, REASON_MALFORMED)
    assert _response(reply).reference_id == "UNKNOWN"

