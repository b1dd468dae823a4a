"""``proud distributor report`` on a migrated SQLite file: summary, second run, dry run, exit codes."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator

import pytest
import structlog
from typer.testing import CliRunner, Result

from gateway.cli.main import app
from gateway.store.db import create_engine
from tests.distributor.support import new_dso_ean, opm_with_meter_change, queued_sends


@pytest.fixture(autouse=True)
def _reset_logging() -> Iterator[None]:
    # Commands point structlog at the runner's stderr, which is closed after each invocation.
    yield
    structlog.reset_defaults()


def _invoke(args: list[str], **settings: str) -> Result:
    env: dict[str, str | None] = {
        key: None for key in os.environ if key.startswith("PROUD_") and not key.startswith("PROUD_TEST_")
    }
    env.update({f"PROUD_{name.upper()}": value for name, value in settings.items()})
    return CliRunner().invoke(app, ["distributor", "report", *args], env=env)


async def _our_opm(url: str, dso: str) -> str:
    engine = create_engine(url)
    try:
        return await opm_with_meter_change(engine, dso)
    finally:
        await engine.dispose()


async def _queued(url: str, code: str) -> int:
    engine = create_engine(url)
    try:
        return len(await queued_sends(engine, code))
    finally:
        await engine.dispose()


def test_report_dry_run_then_run_then_run_again(sqlite_url: str) -> None:
    dso = new_dso_ean()
    code = asyncio.run(_our_opm(sqlite_url, dso))
    args = ["--month", "2026-10", "--database-url", sqlite_url]

    dry = _invoke([*args, "--dry-run"], distributor_ean=dso)
    assert dry.exit_code == 0, dry.output
    assert "period=2026-10 opms=1 messages=1 skipped=0 invalid=0 dry_run=true" in dry.stdout
    assert asyncio.run(_queued(sqlite_url, code)) == 0

    first = _invoke(args, distributor_ean=dso)
    assert first.exit_code == 0, first.output
    assert "messages=1 skipped=0" in first.stdout and asyncio.run(_queued(sqlite_url, code)) == 1

    second = _invoke(args, distributor_ean=dso)
    assert second.exit_code == 0, second.output
    assert "messages=0 skipped=1" in second.stdout and "already_reported" in second.stdout
    assert asyncio.run(_queued(sqlite_url, code)) == 1


@pytest.mark.parametrize(("month", "settings", "expected"), [
    ("2026-10", {}, "distributor_ean"),
    ("2026-13", {"distributor_ean": "8591824071502"}, "--month 2026-13: is not a month YYYY-MM"),
    ("2099-01", {"distributor_ean": "8591824071502"}, "--month 2099-01: has not ended yet"),
    ("2026-10", {"distributor_ean": "8591824071502", "market_source_readings": "edc"},
     "market_source_readings"),
])
def test_bad_usage_exits_2_naming_the_problem(
    sqlite_url: str, month: str, settings: dict[str, str], expected: str
) -> None:
    result = _invoke(["--month", month, "--database-url", sqlite_url], **settings)
    assert result.exit_code == 2, result.output
    assert expected in result.stderr
