"""``proud import masterdata``, ``proud demo-data`` and ``proud bench import`` as a user runs them: exit
codes, the summary and its last ``key=value`` line, the errors file, and idempotent demo data."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
import structlog
from typer.testing import CliRunner, Result

from gateway.cli.main import app
from gateway.masterdata import fake
from gateway.store.db import create_engine
from schemas.masterdata.opm import OpmIn
from tests.cli.test_cli import clean_environ
from tests.masterdata.import_support import DATABASES, fake_data, write_csv, write_jsonl


@pytest.fixture(autouse=True)
def _reset_logging() -> Iterator[None]:
    # Commands point structlog at the runner's stderr, which is closed after each invocation.
    yield
    structlog.reset_defaults()


@pytest.fixture(params=DATABASES)
def url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue(request.param))


def invoke(url: str, args: list[str]) -> Result:
    return CliRunner().invoke(app, args, env=clean_environ(database_url=url))


def _last_line(result: Result) -> dict[str, str]:
    return dict(part.split("=", 1) for part in result.stdout.strip().splitlines()[-1].split())


def _count(url: str, query: str) -> int:
    async def count() -> int:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                return int(await conn.scalar(sa.text(query)) or 0)
        finally:
            await engine.dispose()
    return asyncio.run(count())


def test_import_of_good_rows_exits_0_and_a_reimport_changes_nothing(url: str, tmp_path: Path) -> None:
    records = fake_data(51, 4)
    path = write_jsonl(tmp_path / "good.jsonl", records)
    first = invoke(url, ["import", "masterdata", str(path)])
    assert first.exit_code == 0, first.output
    assert _last_line(first)["created"] == str(len(records))
    second = invoke(url, ["import", "masterdata", str(path), "--batch", "2"])
    assert second.exit_code == 0, second.output
    figures = _last_line(second)
    assert (figures["unchanged"], figures["created"], figures["updated"]) == (str(len(records)), "0", "0")


def test_failed_rows_exit_1_and_every_error_goes_to_the_errors_file(url: str, tmp_path: Path) -> None:
    opms = [record for record in fake_data(52, 3) if isinstance(record, OpmIn)]
    broken = [b'{"kind":"opm","code":"859182400000000000"}\n'] * 60  # more errors than the screen shows
    path = write_jsonl(tmp_path / "bad.jsonl", [*opms, *broken, b"not json\n"])
    errors = tmp_path / "errors.jsonl"
    result = invoke(url, ["import", "masterdata", str(path), "--errors-out", str(errors)])
    assert result.exit_code == 1, result.output
    assert _last_line(result)["failed"] == "61" and _last_line(result)["created"] == str(len(opms))
    assert "errors (first 50 of 61):" in result.stdout
    assert f"line {len(opms) + 1}: opm 859182400000000000: dso: is required" in result.stdout
    written = [json.loads(line) for line in errors.read_text().splitlines()]
    assert len(written) == 61
    assert written[-1] == {
        "line": len(opms) + 61, "kind": None, "key": None, "field": "", "value": None,
        "reason": written[-1]["reason"],
    } and "not valid JSON" in written[-1]["reason"]


def test_csv_import_with_kind(url: str, tmp_path: Path) -> None:
    opms = [record for record in fake_data(53, 3) if isinstance(record, OpmIn)]
    path = write_csv(tmp_path / "opm.csv", opms)
    result = invoke(url, ["import", "masterdata", str(path), "--kind", "opm"])
    assert result.exit_code == 0, result.output
    assert _last_line(result)["created"] == str(len(opms))
    dry = invoke(url, ["import", "masterdata", str(path), "--kind", "opm", "--dry-run"])
    assert dry.exit_code == 0 and "dry run" in dry.stdout


def test_bad_usage_exits_2(sqlite_url: str, tmp_path: Path) -> None:
    path = tmp_path / "data.txt"
    path.write_text("{}\n")
    result = invoke(sqlite_url, ["import", "masterdata", str(path)])
    assert result.exit_code == 2 and "give --format" in result.output
    missing = invoke(sqlite_url, ["import", "masterdata", str(tmp_path / "none.jsonl")])
    assert missing.exit_code == 2
    too_big = invoke(sqlite_url, ["import", "masterdata", str(path), "--format", "jsonl", "--batch", "99999"])
    assert too_big.exit_code == 2


def test_demo_data_is_idempotent(url: str) -> None:
    first = invoke(url, ["demo-data", "--customers", "6", "--seed", "54"])
    assert first.exit_code == 0, first.output
    assert int(_last_line(first)["created"]) >= 6 * 4  # customer, account, an OPM and its contract each
    again = invoke(url, ["demo-data", "--customers", "6", "--seed", "54"])
    assert again.exit_code == 0, again.output
    assert _last_line(again)["unchanged"] == _last_line(first)["created"]
    assert _count(url, "SELECT count(*) FROM md_customer WHERE number LIKE '954%'") == 6


def test_bench_import_prints_opm_per_s(url: str) -> None:
    result = CliRunner().invoke(
        app, ["bench", "import", "--opm", "2000", "--database-url", url], env=clean_environ()
    )
    assert result.exit_code == 0, result.output
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("opm_per_s=") and float(last.split("=")[1]) > 0  # a figure, never a target
    seed = int(next(part for part in result.stdout.split() if part.startswith("seed=")).split("=")[1])
    prefix = f"{fake.EAN_PREFIX}{fake.key_block(seed):02d}"
    assert _count(url, f"SELECT count(*) FROM md_opm WHERE code LIKE '{prefix}%'") == 1600
