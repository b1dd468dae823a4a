"""Billing orders from the order to the customer's mailbox, in a real daemon: PostgreSQL, the SQL-log bus in
it, the repository's rules, the billing worker, the document renderer, the sender, the attention consumer and
a real SMTP server (aiosmtpd), on a manual clock.

An order is billed, its documents filed, and it is e-mailed (``sent``). Another account's address is refused
by the server (550): the order is ``send_failed``, the back office has a task, the clerk fixes the address
and resends, and it is ``sent``. Each step is awaited through the API, since the relay, the consumers and
the scheduler run their own loops.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import aiohttp
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from gateway.billing.documents import document_subscriptions
from gateway.billing.documents_clerk import resend
from gateway.billing.run_tables import delivery as bl_delivery
from gateway.billing.worker import billing_subscriptions
from gateway.cli.main import app as cli_app
from gateway.clock import ManualClock
from gateway.config import load_settings
from gateway.daemon import Daemon
from gateway.errors import Conflict
from gateway.http.api_keys import Role
from gateway.masterdata import tables as md
from gateway.masterdata.filestore import LocalFileStore
from gateway.switching.attention import SwitchAttention
from tests.billing.bill.support import NOW, PERIOD_TO, read, supplied
from tests.billing.documents.support import set_delivery
from tests.cli.test_cli import clean_environ
from tests.connectors.einvoice.smtp_server import SmtpServer, attachments, smtp_server
from tests.http.support import bearer, free_port, new_key, wait_for
from tests.process.rules_support import REPO_RULES

__all__ = ["smtp_server"]

PERIOD_TO_TEXT: Final = PERIOD_TO.isoformat()


@dataclass
class App:
    daemon: Daemon
    url: str
    key: str
    http: aiohttp.ClientSession
    pg_url: str

    async def call(self, method: str, path: str, status: int, **body: Any) -> Any:
        async with self.http.request(method, self.url + path, headers=bearer(self.key), **body) as response:
            answer = await response.json()
            assert response.status == status, answer
            return answer

    async def process(self, order: str, state: str) -> dict[str, Any]:
        """The order's process instance once it is in ``state``."""

        async def probe() -> dict[str, Any] | None:
            async with self.http.get(f"{self.url}/api/ops/processes/billing_order/{order}",
                                     headers=bearer(self.key)) as response:
                if response.status != 200:
                    return None
                found: dict[str, Any] = await response.json()
                return found if found["state"] == state else None

        return await wait_for(probe, f"billing order {order} in state {state}")

    async def order(self, contract: str) -> str:
        body = {"contract": contract, "period_to": PERIOD_TO_TEXT}
        await self.call("POST", "/api/billing/orders", 202, json=body)
        return f"{contract}@{PERIOD_TO_TEXT}"


@pytest.fixture
async def app(
    pg_url: str, tmp_path: Path, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[App]:
    # A command points structlog at its runner's stderr, closed when it returns, while the daemon in this
    # process goes on logging: the commands here leave the logging as it is.
    monkeypatch.setattr("gateway.cli.configure", lambda *_args: None)
    port = free_port()
    settings = load_settings(environ={
        "PROUD_DATABASE_URL": pg_url, "PROUD_HTTP_PORT": str(port), "PROUD_RULES_DIR": str(REPO_RULES),
        "PROUD_DATA_DIR": str(tmp_path / "data"), "PROUD_DOCUMENTS_DIR": str(tmp_path / "documents"),
        "PROUD_TIMER_POLL_INTERVAL_S": "0.05", "PROUD_CONSUMER_POLL_TIMEOUT_S": "0.1",
        "PROUD_ARES_BASE_URL": "off", "PROUD_SMTP_URL": smtp_server.url, "PROUD_SMTP_TIMEOUT_S": "5",
    })
    files = LocalFileStore(settings.effective_documents_dir)
    subscriptions = [
        *billing_subscriptions(settings), *document_subscriptions(settings, files),
        SwitchAttention().subscription(),
    ]
    daemon = Daemon(settings, clock=ManualClock(NOW), subscriptions=subscriptions)
    await daemon.start()
    try:
        key = await new_key(daemon.engine, Role.OPERATOR, f"sending-{uuid.uuid4().hex[:10]}")
        async with aiohttp.ClientSession() as http:
            yield App(daemon, f"http://127.0.0.1:{port}", key, http, pg_url)
    finally:
        await daemon.stop()


async def test_an_order_is_billed_filed_and_e_mailed(app: App, smtp_server: SmtpServer) -> None:
    engine = app.daemon.engine
    parties = await supplied(engine)
    await read(engine, parties.opm, "2025-12-31", "1000")
    await read(engine, parties.opm, "2026-06-30", "2500")
    await set_delivery(engine, parties.account, "email_pdf", "jana.nova@example.cz")

    order = await app.order(parties.contract)

    sent = await app.process(order, "sent")
    assert [entry["to"] for entry in sent["history"]] == ["due", "ready", "billed", "invoiced", "sent"]
    invoice = sent["data"]["invoice"]
    assert sent["data"]["channel"] == "email_pdf" and len(sent["data"]["documents"]) == 2
    [received] = smtp_server.received
    assert received.recipients == ["jana.nova@example.cz"] and invoice in received.message["Subject"]
    assert list(attachments(received.message)) == [f"{invoice}.pdf"]


async def test_a_refused_address_waits_for_the_clerk_and_is_resent(app: App, smtp_server: SmtpServer) -> None:
    engine = app.daemon.engine
    parties = await supplied(engine)
    await read(engine, parties.opm, "2025-12-31", "1000")
    await read(engine, parties.opm, "2026-06-30", "2500")
    await set_delivery(engine, parties.account, "email_pdf", "refused.old@example.cz")

    order = await app.order(parties.contract)

    failed = await app.process(order, "send_failed")
    assert "550" in failed["data"]["send_failure"] and failed["data"]["failed_channel"] == "email_pdf"
    task = await _attention_task(app, parties.contract)
    assert "BILLING_SEND_FAILED" in task and "refused.old@example.cz" in task
    assert smtp_server.received == []

    await set_delivery(engine, parties.account, "email_pdf", "jana.nova@example.cz")  # the clerk fixes it
    queued = await app.call("POST", f"/api/billing/orders/{order}/resend", 202, json={"note": "fixed"})
    assert queued["order"] == order

    sent = await app.process(order, "sent")
    assert [entry["to"] for entry in sent["history"]][-4:] == ["invoiced", "send_failed", "invoiced", "sent"]
    [received] = smtp_server.received
    assert received.recipients == ["jana.nova@example.cz"]
    async with engine.connect() as conn:
        rows = (await conn.execute(sa.select(bl_delivery.c.recipient, bl_delivery.c.status).where(
            bl_delivery.c.order == order).order_by(bl_delivery.c.id))).all()
    assert [tuple(row) for row in rows] == [
        ("refused.old@example.cz", "failed"), ("jana.nova@example.cz", "sent"),
    ]
    refused = await app.call("POST", f"/api/billing/orders/{order}/resend", 409)
    assert "only a send_failed order" in refused["error"]
    await app.call("POST", f"/api/billing/orders/NO-SUCH@{PERIOD_TO_TEXT}/mark-sent", 404)
    async with engine.begin() as conn:
        with pytest.raises(Conflict, match="only a send_failed order"):
            await resend(conn, order, actor="key:clerk", note="again", now=NOW)


async def test_an_account_without_an_address_is_delivered_by_hand(app: App, smtp_server: SmtpServer) -> None:
    engine = app.daemon.engine
    parties = await supplied(engine)
    await read(engine, parties.opm, "2025-12-31", "1000")
    await read(engine, parties.opm, "2026-06-30", "2500")
    await set_delivery(engine, parties.account, "email_pdf", None)  # and the customer has no e-mail contact

    order = await app.order(parties.contract)

    failed = await app.process(order, "send_failed")
    assert "no e-mail address" in failed["data"]["send_failure"]
    # The clerk handed it over at the counter and says so on the command line.
    env = clean_environ(database_url=app.pg_url)
    marked = await asyncio.to_thread(CliRunner().invoke, cli_app, ["billing", "mark-sent", order], env=env)
    assert marked.exit_code == 0, marked.output
    assert f"marked {order} sent by hand" in marked.stdout
    sent = await app.process(order, "sent")
    assert sent["data"]["channel"] == "manual" and smtp_server.received == []


async def _attention_task(app: App, contract: str) -> str:
    """The text of the back-office task filed on ``contract`` (reason code and text)."""

    async def probe() -> str | None:
        async with app.daemon.engine.connect() as conn:
            rows = (await conn.execute(sa.select(md.activity).where(
                md.activity.c.kind == "task", md.activity.c.entity == "contract",
                md.activity.c.entity_key == contract,
            ))).all()
        texts = [f"{row.subject} {row.note}" for row in rows]
        return next((text for text in texts if "BILLING_SEND_FAILED" in text), None)

    return await wait_for(probe, f"the send-failed task of contract {contract}")
