"""Individual billing over HTTP on a real daemon (PostgreSQL): bill (201 / 200 outsorted / 200 repeated),
rebill, an invoice, an account's ledger, roles and the OpenAPI document; and ``proud billing bill``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog
from typer.testing import CliRunner

from gateway.cli.main import app as cli
from gateway.http.api_keys import Role
from gateway.store.db import create_engine
from tests.billing.bill.support import Supplied, read, supplied
from tests.billing.quote.support import REPO_ROOT
from tests.http.masterdata_support import MdApp, running

pytestmark = pytest.mark.postgres


@pytest.fixture(autouse=True)
def _reset_logging() -> Iterator[None]:
    # The command points structlog at the runner's stderr, which is closed after each invocation.
    yield
    structlog.reset_defaults()


@pytest.fixture
async def api(pg_url: str, unique: str, tmp_path: Path) -> AsyncIterator[MdApp]:
    environ = {"PROUD_DATABASE_URL": pg_url, "PROUD_RULES_DIR": str(REPO_ROOT / "rules")}
    async with running(environ, unique, tmp_path) as started:
        yield started


async def _read_contract(api: MdApp, end_state: str = "2500") -> Supplied:
    parties = await supplied(api.daemon.engine)
    await read(api.daemon.engine, parties.opm, "2025-12-31", "1000")
    await read(api.daemon.engine, parties.opm, "2026-06-30", end_state)
    return parties


def _bill_in(parties: Supplied) -> dict[str, Any]:
    return {"contract": parties.contract, "period_from": "2026-01-01", "period_to": "2026-06-30"}


async def test_an_operator_bills_reads_and_rebills(api: MdApp) -> None:
    parties = await _read_contract(api)

    billed = await api.call("POST", "/api/billing/bill", 201, json=_bill_in(parties))
    again = await api.call("POST", "/api/billing/bill", 200, json=_bill_in(parties))

    assert billed["type"] == "billed" and billed["repeated"] is False
    invoice = billed["invoice"]
    assert invoice["number"].startswith("FV202600") and len(invoice["documents"]) == 2
    assert (invoice["total"], invoice["balance"]) == (invoice["settlement"]["total"], invoice["total"])
    assert again["repeated"] is True and again["invoice"] == invoice
    shown = await api.call("GET", f"/api/billing/invoices/{invoice['number']}", 200, role=Role.READER)
    assert shown == invoice
    ledger = await api.call("GET", f"/api/accounts/{parties.account}/ledger", 200, role=Role.READER)
    assert [(item["document"], item["open_amount"]) for item in ledger["receivables"]] == [
        (invoice["number"], invoice["balance"])
    ]

    await read(api.daemon.engine, parties.opm, "2026-06-30", "2300")
    rebilled = await api.call("POST", f"/api/billing/invoices/{invoice['number']}/rebill", 201, json={})

    assert rebilled["credit_note"]["corrects"] == invoice["number"]
    assert rebilled["credit_note"]["total"] == "-" + invoice["total"]
    new = rebilled["outcome"]["invoice"]
    ledger = await api.call("GET", f"/api/accounts/{parties.account}/ledger", 200, role=Role.READER)
    assert ledger["open_total"] == new["balance"]
    await api.call("POST", f"/api/billing/invoices/{invoice['number']}/rebill", 409)


async def test_an_outsorted_bill_is_an_answer_not_an_error(api: MdApp) -> None:
    parties = await _read_contract(api, end_state="1000")

    answer = await api.call("POST", "/api/billing/bill", 200, json=_bill_in(parties))

    assert answer["type"] == "outsorted" and answer["stage"] == "post"
    assert [finding["code"] for finding in answer["findings"]] == ["ZERO_CONSUMPTION"]


async def test_refusals_and_roles(api: MdApp) -> None:
    parties = await _read_contract(api)
    await api.call("POST", "/api/billing/bill", 403, role=Role.READER, json=_bill_in(parties))
    await api.call("POST", "/api/billing/bill", 401, role=None, json=_bill_in(parties))
    refused = await api.call("POST", "/api/billing/bill", 422, json={**_bill_in(parties),
                                                                       "period_to": "2025-12-01"})
    assert refused["field"] == "period_to"
    await api.call("POST", "/api/billing/bill", 404, json={**_bill_in(parties), "contract": "NOPE"})
    await api.call("GET", "/api/billing/invoices/FV209999000001", 404, role=Role.READER)


async def test_the_routes_are_in_the_openapi_document(api: MdApp) -> None:
    paths = (await api.get("/api/openapi.json"))["paths"]
    assert paths["/api/billing/bill"]["post"]["x-proud-role"] == "operator"
    assert paths["/api/billing/invoices/{number}/rebill"]["post"]["x-proud-role"] == "operator"
    assert paths["/api/billing/invoices/{number}"]["get"]["x-proud-role"] == "reader"
    assert paths["/api/accounts/{vs}/ledger"]["get"]["x-proud-role"] == "reader"


def test_cli_bills_a_contract(pg_url: str, tmp_path: Path) -> None:
    async def prepare() -> Supplied:
        engine = create_engine(pg_url)
        try:
            parties = await supplied(engine)
            await read(engine, parties.opm, "2025-12-31", "1000")
            await read(engine, parties.opm, "2026-06-30", "2500")
            return parties
        finally:
            await engine.dispose()

    parties = asyncio.run(prepare())  # a test without a running loop: the command runs its own
    environ = {"PROUD_DATABASE_URL": pg_url, "PROUD_RULES_DIR": str(REPO_ROOT / "rules"),
               "PROUD_DOCUMENTS_DIR": str(tmp_path / "cli-documents")}
    arguments = [
        "billing", "bill", "--contract", parties.contract, "--from", "2026-01-01", "--to", "2026-06-30",
    ]

    result = CliRunner().invoke(cli, arguments, env=environ)
    again = CliRunner().invoke(cli, arguments, env=environ)

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("invoice FV202600") and "balance" in result.stdout
    assert again.exit_code == 0 and "(issued before)" in again.stdout
    bad = CliRunner().invoke(cli, [*arguments[:-1], "2026-03-31"], env=environ)
    assert bad.exit_code == 1 and "READING_MISSING" in bad.stdout
