"""Billing orders end to end in a real daemon: PostgreSQL, the SQL-log bus in it, the repository's rules
(the ``billing_order`` machine and the check tables), the billing worker, the attention consumer, the
clerk's API and CLI, on a manual clock.

An order is placed over the API, the worker outsorts it for the missing closing reading, the clerk sees it
(API and ``proud billing outsorted``), the reading is entered, the clerk releases the order, and it is
billed. The worker renders no documents (the document renderer does, after the bill), so the order stays
``billed`` here: no renderer runs in this daemon. Each step is awaited through the API, since the relay,
consumers and scheduler run their own loops.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import aiohttp
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner, Result

from gateway.billing.worker import billing_subscriptions
from gateway.cli.main import app as cli_app
from gateway.clock import ManualClock
from gateway.config import load_settings
from gateway.daemon import Daemon
from gateway.http.api_keys import Role
from gateway.switching.attention import SwitchAttention
from tests.billing.bill.support import NOW, PERIOD_FROM, PERIOD_TO, read, supplied
from tests.cli.test_cli import clean_environ
from tests.http.support import bearer, free_port, new_key, wait_for
from tests.process.rules_support import REPO_RULES

#: How the order key of the tests' period looks: <contract>@2026-06-30.
PERIOD_TO_TEXT: Final = PERIOD_TO.isoformat()


@dataclass
class App:
    daemon: Daemon
    url: str
    keys: dict[Role, str]
    http: aiohttp.ClientSession
    pg_url: str

    async def call(self, method: str, path: str, status: int, role: Role = Role.OPERATOR, **body: Any) -> Any:
        headers = bearer(self.keys[role])
        async with self.http.request(method, self.url + path, headers=headers, **body) as response:
            answer = await response.json()
            assert response.status == status, answer
            return answer

    async def order_in(self, order: str, state: str) -> dict[str, Any]:
        """The order once it is in ``state`` (from the clerk's listing)."""

        async def probe() -> dict[str, Any] | None:
            listed = await self.call("GET", f"/api/billing/orders?state={state}&limit=1000", 200, Role.READER)
            return next((item for item in listed["orders"] if item["order"] == order), None)

        return await wait_for(probe, f"billing order {order} in state {state}")

    async def cli(self, *args: str) -> Result:
        """``proud billing ...`` as a user runs it (in a thread: the command runs its own event loop)."""
        env = clean_environ(database_url=self.pg_url)
        return await asyncio.to_thread(CliRunner().invoke, cli_app, ["billing", *args], env=env)


@pytest.fixture
async def app(pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[App]:
    # A command points structlog at its runner's stderr, closed when it returns, while the daemon in this
    # process goes on logging: the commands here leave the logging as it is.
    monkeypatch.setattr("gateway.cli.configure", lambda *_args: None)
    port = free_port()
    settings = load_settings(environ={
        "PROUD_DATABASE_URL": pg_url, "PROUD_HTTP_PORT": str(port), "PROUD_RULES_DIR": str(REPO_RULES),
        "PROUD_DATA_DIR": str(tmp_path / "data"), "PROUD_DOCUMENTS_DIR": str(tmp_path / "documents"),
        "PROUD_TIMER_POLL_INTERVAL_S": "0.05", "PROUD_CONSUMER_POLL_TIMEOUT_S": "0.1",
        "PROUD_ARES_BASE_URL": "off",
    })
    subscriptions = [*billing_subscriptions(settings), SwitchAttention().subscription()]
    daemon = Daemon(settings, clock=ManualClock(NOW), subscriptions=subscriptions)
    await daemon.start()
    try:
        unique = uuid.uuid4().hex[:10]
        keys = {role: await new_key(daemon.engine, role, f"orders-{unique}") for role in Role}
        async with aiohttp.ClientSession() as http:
            yield App(daemon, f"http://127.0.0.1:{port}", keys, http, pg_url)
    finally:
        await daemon.stop()


async def test_an_order_is_outsorted_for_a_missing_reading_released_and_billed(app: App) -> None:
    engine: AsyncEngine = app.daemon.engine
    parties = await supplied(engine)
    await read(engine, parties.opm, "2025-12-31", "1000")  # the opening state; the closing one is missing

    queued = await app.call("POST", "/api/billing/orders", 202, json={
        "contract": parties.contract, "period_to": PERIOD_TO_TEXT,
    })

    order = f"{parties.contract}@{PERIOD_TO_TEXT}"
    assert (queued["order"], queued["period_from"], queued["period_to"]) == (
        order, PERIOD_FROM.isoformat(), PERIOD_TO_TEXT
    )
    # 30 November is months after the period: no more waiting for the distributor, the clerk must look.
    outsorted = await app.order_in(order, "outsorted")
    assert (outsorted["stage"], outsorted["opm"], outsorted["reason"]) == ("pre", parties.opm, "manual")
    assert [finding["code"] for finding in outsorted["findings"]] == ["READING_MISSING"]
    listed = await app.cli("outsorted", "--json")
    assert listed.exit_code == 0, listed.output
    assert order in listed.stdout and "READING_MISSING" in listed.stdout
    refused = await app.call("POST", f"/api/billing/orders/{order}/release", 403, Role.READER, json={})
    assert refused["role_needed"] == "operator"

    await read(engine, parties.opm, "2026-06-30", "2500")
    released = await app.cli("release", order, "--note", "closing reading entered")
    assert released.exit_code == 0, released.output

    billed = await app.order_in(order, "billed")
    assert billed["invoice"].startswith("FV2026") and billed["findings"] == []
    detail = await app.call("GET", f"/api/ops/processes/billing_order/{order}", 200, Role.READER)
    assert [entry["to"] for entry in detail["history"]] == [
        "due", "ready", "outsorted", "ready", "billed",
    ]
    assert not detail["data"].get("documents")  # the worker files none: the renderer does, after the bill
    assert detail["data"]["released_by"].startswith("cli:")
    # A billed order is neither released nor cancelled: a bill is corrected by a credit note.
    await app.call("POST", f"/api/billing/orders/{order}/release", 409, json={"codes": ["READING_MISSING"]})
    await app.call("POST", f"/api/billing/orders/{order}/cancel", 409)


async def test_a_clerk_cancels_an_outsorted_order(app: App) -> None:
    parties = await supplied(app.daemon.engine)  # no readings at all
    ordered = await app.cli("order", "--contract", parties.contract, "--period-to", PERIOD_TO_TEXT)
    assert ordered.exit_code == 0, ordered.output
    order = f"{parties.contract}@{PERIOD_TO_TEXT}"
    assert ordered.stdout.startswith(f"ordered {order}: 2026-01-01 to 2026-06-30")
    await app.order_in(order, "outsorted")

    await app.call("POST", f"/api/billing/orders/{order}/cancel", 202, json={"note": "billed by hand"})

    cancelled = await app.order_in(order, "cancelled")
    assert cancelled["findings"][0]["code"] == "READING_MISSING"  # kept: why it never got billed


async def test_the_clerk_api_refuses_what_it_cannot_do(app: App) -> None:
    missing = await app.call("POST", "/api/billing/orders", 404, json={
        "contract": "NO-SUCH-CONTRACT", "period_to": PERIOD_TO_TEXT,
    })
    assert "NO-SUCH-CONTRACT" in missing["error"]
    await app.call("POST", "/api/billing/orders/NO-SUCH@2026-06-30/release", 404, json={})
    bad = await app.call("POST", "/api/billing/orders/no-date/cancel", 422, json={})
    assert (bad["field"], bad["value"]) == ("order", "no-date")
    code = await app.call("POST", "/api/billing/orders/X@2026-06-30/release", 422, json={"codes": ["bad"]})
    assert code["field"].startswith("codes")
    state = await app.call("GET", "/api/billing/orders?state=Bad!", 400, Role.READER)
    assert state["parameter"] == "state"
    unknown = await app.cli("release", "NO-SUCH@2026-06-30", "--code", "READING_MISSING")
    assert unknown.exit_code == 1 and "no billing order 'NO-SUCH@2026-06-30'" in unknown.output


async def test_a_recent_period_waits_for_its_reading_and_asks_again_3_working_days_later(app: App) -> None:
    engine: AsyncEngine = app.daemon.engine
    parties = await supplied(engine)
    await read(engine, parties.opm, "2025-12-31", "1000")
    period_to = "2026-11-20"  # ten days before the clock: the distributor's reading may still come

    body = {"contract": parties.contract, "period_to": period_to}
    await app.call("POST", "/api/billing/orders", 202, json=body)

    order = f"{parties.contract}@{period_to}"
    waiting = await app.order_in(order, "waiting_for_reading")
    assert "waiting for the distributor's reading" in waiting["waiting_for"] and waiting["findings"] == []
    await read(engine, parties.opm, period_to, "3000")
    clock = app.daemon.clock
    assert isinstance(clock, ManualClock)
    clock.advance(dt.timedelta(days=3, minutes=1))  # Monday 09:00 → Thursday: 3 working days

    billed = await app.order_in(order, "billed")
    detail = await app.call("GET", f"/api/ops/processes/billing_order/{order}", 200, Role.READER)
    assert [entry["to"] for entry in detail["history"]] == [
        "due", "ready", "waiting_for_reading", "ready", "billed",
    ]
    assert detail["data"]["bill_requests"] == 2 and billed["invoice"].startswith("FV2026")
    assert billed["waiting_for"] is None
