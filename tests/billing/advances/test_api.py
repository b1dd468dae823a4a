"""``/api/accounts/{vs}/advances`` on a real daemon (PostgreSQL) and ``proud billing advances`` (SQLite)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import structlog
from typer.testing import CliRunner

from gateway.cli.main import app as cli
from gateway.http.api_keys import Role
from gateway.store.db import create_engine
from tests.billing.advances.support import Supplied, supplied
from tests.billing.quote.support import PRICES, REPO_ROOT
from tests.http.masterdata_support import MdApp, running


@pytest.fixture
async def api(pg_url: str, unique: str, tmp_path: Path) -> AsyncIterator[MdApp]:
    environ = {"PROUD_DATABASE_URL": pg_url, "PROUD_RULES_DIR": str(REPO_ROOT / "rules")}
    async with running(environ, unique, tmp_path) as started:
        yield started


@pytest.mark.postgres
async def test_an_operator_regenerates_and_a_reader_reads(api: MdApp) -> None:
    parties = await supplied(api.daemon.engine)
    path = f"/api/accounts/{parties.account}/advances"
    await api.call("POST", f"{path}/regenerate", 403, role=Role.READER, json={})
    summary = await api.call("POST", f"{path}/regenerate", 200, json={})
    assert (summary["contracts"], summary["created"], summary["skipped"]) == (1, 1, 0)
    again = await api.call("POST", f"{path}/regenerate", 200, json={"reason": "price_change"})
    assert (again["created"], again["unchanged"]) == (0, 1)
    answer = await api.get(path)
    assert answer["variable_symbol"] == parties.account
    [schedule] = answer["schedules"]
    # The daemon's clock says 10 March 2026: the schedule runs April 2026 … March 2027.
    assert (schedule["contract"], schedule["state"], schedule["annual_total"]) == (
        parties.contract, "active", "18944.00")
    assert (schedule["instalment_amount"], schedule["starts_on"]) == ("1579", "2026-04-01")
    assert schedule["instalments"][0]["due_date"] == "2026-04-15"
    assert len(schedule["instalments"]) == 12


@pytest.mark.postgres
async def test_refusals_and_the_openapi_document(api: MdApp) -> None:
    parties = await supplied(api.daemon.engine)
    path = f"/api/accounts/{parties.account}/advances"
    refused = await api.call("POST", f"{path}/regenerate", 422, json={"price_list": "no-such-list"})
    assert (refused["field"], refused["value"]) == ("price_list", "no-such-list")
    refused = await api.call("POST", f"{path}/regenerate", 422, json={"frequency": "weekly"})
    assert "frequency" in refused["error"]
    await api.call("GET", "/api/accounts/0000000000/advances", 404, role=Role.READER)
    await api.call("GET", path, 401, role=None)
    document = await api.get("/api/openapi.json")
    assert document["paths"][path.replace(parties.account, "{vs}")]["get"]["x-proud-role"] == "reader"
    operation = document["paths"]["/api/accounts/{vs}/advances/regenerate"]["post"]
    assert operation["x-proud-role"] == "operator"


async def _supplied(url: str) -> Supplied:
    engine = create_engine(url)
    try:
        return await supplied(engine)
    finally:
        await engine.dispose()


@pytest.fixture
def _reset_logging() -> Iterator[None]:
    # The commands point structlog at the runner's stderr, which is closed after each invocation.
    yield
    structlog.reset_defaults()


@pytest.mark.usefixtures("_reset_logging")
def test_cli_regenerates_and_issues(sqlite_url: str) -> None:
    parties = asyncio.run(_supplied(sqlite_url))  # a test without a running loop: the command runs its own
    runner, env = CliRunner(), {"PROUD_DATABASE_URL": sqlite_url}
    command = ["billing", "advances", "regenerate", "--account", parties.account, "--prices", str(PRICES)]
    result = runner.invoke(cli, command, env=env)
    assert result.exit_code == 0, result.output
    assert "contracts=1 created=1 unchanged=0 skipped=0" in result.stdout.splitlines()[-1]
    result = runner.invoke(cli, command, env=env)
    assert "contracts=1 created=0 unchanged=1" in result.stdout.splitlines()[-1]
    result = runner.invoke(cli, ["billing", "advances", "issue", "--due-before", "2000-01-01"], env=env)
    assert (result.exit_code, result.stdout.splitlines()[-1]) == (0, "issued=0 total=0"), result.output
    result = runner.invoke(cli, ["billing", "advances", "issue", "--due-before", "tomorrow"], env=env)
    assert result.exit_code == 2 and "--due-before" in result.stderr
