"""The OTE sender end to end: ``ote.send`` in the outbox → relay → the SQL-log bus on PostgreSQL → the
sender's consumer → the real ``OteConnector`` with its mTLS transport → a small CS OTE stand-in over HTTPS.

Covers a positive RESPONSE, a negative one and a SOAP fault (both ``switch.send_failed``), CS OTE down
(retried, then dead-lettered with the reason; once it is back, a replay of the dead letter sends the
message) and a message we must not send (dead-lettered naming the field).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
import pytest
import sqlalchemy as sa
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from connectors.ote import codec, soap
from connectors.ote.config import OteConfig, OutboundConfig
from connectors.ote.connector import OteConnector
from connectors.ote.inbound import REASON_ACCEPTED, REASON_TYPE_REJECTED
from connectors.ote.outbound import SEND_BATCH_MAX, OteOutbound
from connectors.ote.tables import ote_archive
from connectors.ote.topics import OTE_OUTBOUND
from connectors.ote.transport import server_ssl_context
from gateway import limits
from gateway.bus import dlq, outbox
from gateway.bus.outbox import OutboxRelay
from gateway.bus.retry import RetryPolicy
from gateway.bus.runner import ConsumerRunner
from gateway.bus.sqllog import SqlLogBus
from gateway.bus.topics import TopicSpec
from gateway.clock import SystemClock
from gateway.config import load_settings
from gateway.daemon import Daemon
from gateway.store.db import create_engine
from gateway.store.tables import outbox as outbox_table
from gateway.switching.topics import SWITCH_EVENTS
from schemas.envelope import Envelope, decode, new_envelope
from schemas.ote import Envelope as OteEnvelope
from schemas.ote import Reason, Response, SwitchRequest
from schemas.ote.events import OteSend
from schemas.switching import SendFailed
from tests.connectors.ote.conftest import GOLDEN
from tests.connectors.ote.pki import Pki
from tests.http.support import free_port
from tests.masterdata.supply_helpers import new_ean

WAIT_S_MAX = 30.0
ATTEMPTS_MAX = 3
REFUSAL = Reason(code="E17", type=REASON_TYPE_REJECTED, text="Neznámé OPM")
TEMPLATE = codec.decode_as((GOLDEN / "switch-request-electricity.xml").read_bytes(), SwitchRequest)


@dataclass
class CsOte:
    """CS OTE as far as the sender sees it: an mTLS SOAP endpoint answering each message as ``mode`` says."""

    pki: Pki
    port: int
    mode: str = "accept"  # accept | refuse | fault
    received: list[SwitchRequest] = field(default_factory=list)
    runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}/cds"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/cds", self._answer)
        self.runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self.runner.setup()
        context = server_ssl_context(
            cert_path=str(self.pki.server.cert_path), key_path=str(self.pki.server.key_path),
            client_ca_path=str(self.pki.ca.cert_path),
        )
        await web.TCPSite(self.runner, "127.0.0.1", self.port, ssl_context=context).start()

    async def stop(self) -> None:
        runner, self.runner = self.runner, None
        if runner is not None:
            await runner.cleanup()

    async def _answer(self, request: web.Request) -> web.Response:
        message = soap.unwrap(await request.read())
        assert message is not None
        sent = codec.decode_as(message, SwitchRequest)
        self.received.append(sent)
        if self.mode == "fault":
            return web.Response(body=soap.fault("Client", "schema violation at line 3"), status=500)
        reason = REASON_ACCEPTED if self.mode == "accept" else REFUSAL
        envelope = OteEnvelope(
            id=f"R{sent.envelope.id}"[:35], message_code="812", date_time=dt.datetime(2026, 11, 30, 10),
            sender=sent.envelope.receiver, receiver=sent.envelope.sender,
        )
        reply = Response(
            envelope=envelope, commodity=sent.commodity, reference_id=sent.envelope.id, reasons=(reason,)
        )
        return web.Response(body=soap.wrap(codec.encode(reply)), content_type="text/xml")


@dataclass
class Sender:
    engine: AsyncEngine
    relay: OutboxRelay
    topic: str
    group: str
    ote: CsOte


async def wait_until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = time.monotonic() + WAIT_S_MAX
    while not await check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


@pytest.fixture
async def sender(pki: Pki, pg_url: str, unique: str) -> AsyncIterator[Sender]:
    """The sender consuming its own ``ote.outbound`` twin; CS OTE is not started (tests start it)."""
    engine = create_engine(pg_url)
    clock = SystemClock()
    bus = SqlLogBus(engine, clock=clock)
    await bus.start()
    spec = TopicSpec(f"ote.outbound.{unique}", "OPM code")
    await bus.ensure_topics([spec, spec.dlq, SWITCH_EVENTS, SWITCH_EVENTS.dlq], 3)
    relay = OutboxRelay(engine, bus, clock=clock, batch_max=500, poll_interval_s=0.02, sent_retention_s=60)
    ote = CsOte(pki, free_port())
    config = OteConfig(
        outbound=OutboundConfig(
            url=ote.url, client_cert_path=str(pki.client.cert_path), client_key_path=str(pki.client.key_path),
            ca_bundle_path=str(pki.ca.cert_path), timeout_s=2.0,
        ),
        callback=None,
    )
    connector = OteConnector(config, engine=engine, clock=clock)
    group = f"ote-sender-{unique}"
    runner = ConsumerRunner(
        engine=engine, bus=bus, subscription=OteOutbound(connector).subscription(spec.name, group),
        clock=clock, retry=RetryPolicy(attempts_max=ATTEMPTS_MAX, delay_s_initial=0.01, delay_s_max=0.05),
        batch_max=SEND_BATCH_MAX, poll_timeout_s=0.1, message_bytes_max=limits.MESSAGE_BYTES_MAX, relay=relay,
    )
    await connector.start()
    await relay.start()
    await runner.start()
    try:
        yield Sender(engine, relay, spec.name, group, ote)
    finally:
        await runner.stop()
        await relay.stop()
        await connector.stop()
        await ote.stop()
        await bus.stop()
        await engine.dispose()


def switch_request(opm: str, message_id: str) -> SwitchRequest:
    envelope = msgspec.structs.replace(TEMPLATE.envelope, id=message_id)
    return msgspec.structs.replace(TEMPLATE, envelope=envelope, opm=opm)


async def queue_on(engine: AsyncEngine, topic: str, opm: str, message: dict[str, object]) -> Envelope:
    """``ote.send`` of ``message`` keyed by ``opm`` into the outbox, as a switching machine would."""
    envelope = new_envelope(OteSend(message=message, process="switch_gain"), key=opm, now=SystemClock().now())
    async with engine.begin() as conn:
        await outbox.add(conn, [outbox.envelope_record(topic, envelope)], envelope.occurred_at)
    return envelope


async def queue(s: Sender, opm: str, message: dict[str, object]) -> Envelope:
    envelope = await queue_on(s.engine, s.topic, opm, message)
    s.relay.notify()
    return envelope


async def send_failures(engine: AsyncEngine, opm: str) -> list[Envelope]:
    query = sa.select(outbox_table.c.value).where(
        outbox_table.c.topic == SWITCH_EVENTS.name, outbox_table.c.key == opm
    ).order_by(outbox_table.c.seq)
    async with engine.connect() as conn:
        return [decode(row.value) for row in (await conn.execute(query)).all()]


async def archived(engine: AsyncEngine, message_id: str) -> list[str]:
    query = sa.select(ote_archive.c.direction).where(ote_archive.c.message_id == message_id)
    async with engine.connect() as conn:
        return sorted(row.direction for row in (await conn.execute(query.order_by(ote_archive.c.id))).all())


async def letters(s: Sender) -> list[dlq.DeadLetter]:
    return await dlq.list_letters(s.engine, group_id=s.group, status=None)


async def test_a_positive_response_is_the_end_of_it(sender: Sender, unique: str) -> None:
    await sender.ote.start()
    opm, message_id = new_ean(), f"PRD-{unique}"
    await queue(sender, opm, msgspec.to_builtins(switch_request(opm, message_id)))

    async def delivered() -> bool:
        return len(sender.ote.received) == 1

    await wait_until(delivered, "the message at CS OTE")
    assert sender.ote.received[0] == switch_request(opm, message_id)
    await asyncio.sleep(0.3)  # time for anything the sender would emit or dead-letter
    assert await send_failures(sender.engine, opm) == []
    assert await letters(sender) == []
    # Sent and the reply (the RESPONSE's own id differs; the archive keeps both by their ids).
    assert await archived(sender.engine, message_id) == ["out"]
    assert await archived(sender.engine, f"R{message_id}") == ["in"]


@pytest.mark.parametrize(("mode", "reason_code", "reason"), [
    ("refuse", "E17", "negative RESPONSE R{id}: E17: Neznámé OPM"),
    ("fault", None, "SOAP Fault soap:Client: schema violation at line 3"),
])
async def test_a_refusal_is_a_send_failed_fact_for_the_opm(
    sender: Sender, unique: str, mode: str, reason_code: str | None, reason: str
) -> None:
    sender.ote.mode = mode
    await sender.ote.start()
    opm, message_id = new_ean(), f"PRD-{unique}"
    cause = await queue(sender, opm, msgspec.to_builtins(switch_request(opm, message_id)))

    async def failed() -> bool:
        return bool(await send_failures(sender.engine, opm))

    await wait_until(failed, "switch.send_failed in the outbox")
    [envelope] = await send_failures(sender.engine, opm)
    body = envelope.payload
    assert isinstance(body, SendFailed)
    assert (body.opm, body.ote_message_id, body.message_code, body.reason_code) == (
        opm, message_id, "150", reason_code
    )
    assert reason.format(id=message_id) in body.reason
    assert envelope.key == opm and envelope.causation_id == cause.id
    assert len(sender.ote.received) == 1  # a refusal is final: not sent again
    assert await letters(sender) == []


async def test_ote_down_is_retried_then_dead_lettered_and_a_replay_sends_it(
    sender: Sender, unique: str
) -> None:
    opm, message_id = new_ean(), f"PRD-{unique}"
    await queue(sender, opm, msgspec.to_builtins(switch_request(opm, message_id)))

    async def dead_lettered() -> bool:
        return len(await letters(sender)) == 1

    await wait_until(dead_lettered, "the dead letter of the unsendable message")
    [letter] = await letters(sender)
    assert letter.error_type == "OteUnavailable" and letter.attempts == ATTEMPTS_MAX
    assert f"retries exhausted after {ATTEMPTS_MAX} attempts: OteUnavailable" in letter.reason
    assert sender.ote.url in letter.reason
    # The archive holds what CS OTE received: an attempt that never got there rolls back with its
    # transaction (the log and the dead letter tell of it).
    assert await archived(sender.engine, message_id) == []
    assert await send_failures(sender.engine, opm) == []  # unreachable is not refused

    await sender.ote.start()
    await dlq.replay(sender.engine, letter.id, SystemClock())
    sender.relay.notify()

    async def delivered() -> bool:
        return len(sender.ote.received) == 1

    await wait_until(delivered, "the replayed message at CS OTE")
    assert sender.ote.received[0].envelope.id == message_id
    await asyncio.sleep(0.3)
    assert [letter.status for letter in await letters(sender)] == [dlq.STATUS_REPLAYED]
    assert await send_failures(sender.engine, opm) == []
    assert await archived(sender.engine, message_id) == ["out"]  # the reply is archived under its own id


@pytest.mark.parametrize(("change", "named"), [
    ({"opm": "123"}, "`message.opm`"),
    ({"envelope": {"id": 5}}, "`message.envelope"),
    ({"type": "no-such-message"}, "`message.type`"),
    # Passes the struct's types but not the codec's read-back: the EAN's check digit is wrong.
    ({"opm": "859182400306885079"}, "SwitchRequest/@opm"),
])
async def test_a_message_we_must_not_send_is_dead_lettered_naming_the_field(
    sender: Sender, unique: str, change: dict[str, object], named: str
) -> None:
    await sender.ote.start()
    opm = new_ean()
    message = {**msgspec.to_builtins(switch_request(opm, f"PRD-{unique}")), **change}
    await queue(sender, opm, message)

    async def dead_lettered() -> bool:
        return len(await letters(sender)) == 1

    await wait_until(dead_lettered, "the dead letter of the invalid message")
    [letter] = await letters(sender)
    assert letter.error_type == "HandlerRejected" and letter.attempts == 1
    assert named in letter.reason, letter.reason
    assert sender.ote.received == []


@pytest.mark.parametrize("database", ["pg_url", "sqlite_url"])
async def test_a_daemon_with_ote_url_runs_the_sender(
    pki: Pki, database: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """On SQLite too: the sender archives in its consumer transaction, which holds the one write lock."""
    url = request.getfixturevalue(database)
    ote = CsOte(pki, free_port())
    await ote.start()
    settings = load_settings(environ={
        "PROUD_DATABASE_URL": url, "PROUD_HTTP_PORT": str(free_port()), "PROUD_ARES_BASE_URL": "off",
        "PROUD_RULES_DIR": str(tmp_path / "no-rules"), "PROUD_DOCUMENTS_DIR": str(tmp_path / "documents"),
        "PROUD_OTE_URL": ote.url, "PROUD_OTE_CLIENT_CERT": str(pki.client.cert_path),
        "PROUD_OTE_CLIENT_KEY": str(pki.client.key_path), "PROUD_OTE_CA_BUNDLE": str(pki.ca.cert_path),
    })
    daemon = Daemon(settings)
    assert daemon.market.sender is not None and daemon.ote is daemon.market.connector
    await daemon.start()
    try:
        opm = new_ean()
        message = switch_request(opm, f"PRD-{opm[-10:]}")
        await queue_on(daemon.engine, OTE_OUTBOUND.name, opm, msgspec.to_builtins(message))
        daemon.relay.notify()

        async def delivered() -> bool:
            return ote.received == [message]

        await wait_until(delivered, "the message sent by the daemon's sender")
    finally:
        await daemon.stop()
        await ote.stop()
