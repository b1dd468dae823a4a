"""``proud readings import``: a CSV batch of hand-entered readings, each row stored or refused on its own,
on SQLite and PostgreSQL; and the command itself (its output and exit codes) on SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from gateway.billing.readings.csv_import import import_readings
from gateway.cli.main import app
from gateway.clock import ManualClock
from gateway.errors import InvalidField
from tests.billing.readings.support import NOW, new_opm, reading_events
from tests.cli.test_cli import clean_environ


@pytest.fixture(autouse=True)
def _reset_logging() -> Iterator[None]:
    yield  # commands point structlog at the runner's stderr, closed after each invocation
    structlog.reset_defaults()


async def test_good_rows_stored_bad_rows_named(engine: AsyncEngine) -> None:
    opm = await new_opm(engine)
    text = "\n".join([
        "opm,date,meter,kind,reason,vt,nt,single",
        f"{opm.code},2025-06-30,,,,,,1000",
        f"{opm.code},2025-12-31,M1,actual,periodic,,,2500.5",
        f"{opm.code},2025-12-31,M1,actual,periodic,,,2500.50",  # the same again: a duplicate
        f"{opm.code},2026-13-01,,,,,,2600",  # no such day
        f"{opm.code},2026-01-31,,,,,,abc",  # not a number
        f"{opm.code},2026-01-31,,guess,,,,2600",  # a kind one may not enter
        f"{opm.code},2026-01-31,,,,5,5,",  # registers the meter does not have
        "859182400000000001,2026-01-31,,,,,,1",  # no such OPM
        f"{opm.code},2026-01-31,M7,,,,,1",  # no such meter
        f"{opm.code},2026-01-31,,,,,,",  # no state
    ]) + "\n"

    summary = await import_readings(engine, ManualClock(NOW), text)

    assert (summary.rows, summary.new, summary.duplicates, summary.failed) == (10, 2, 1, 7)
    assert [(e.line, e.field, e.value) for e in summary.errors] == [
        (5, "date", "2026-13-01"), (6, "single", "abc"), (7, "kind", "guess"), (8, "registers", "nt, vt"),
        (9, "opm", "859182400000000001"), (10, "meter", "M7"), (11, "single", None),
    ]
    assert len(await reading_events(engine, opm.code)) == 3


async def test_semicolons_and_decimal_commas(engine: AsyncEngine) -> None:
    opm = await new_opm(engine)
    text = f"\ufeffopm;date;single\n{opm.code};2025-06-30;1000,5\n"

    summary = await import_readings(engine, ManualClock(NOW), text)

    assert (summary.new, summary.failed) == (1, 0)
    [event] = await reading_events(engine, opm.code)
    assert str(event.registers[0].end_state) == "1000.5"


async def test_a_header_without_required_or_with_unknown_columns(engine: AsyncEngine) -> None:
    for header, value in (("opm,single", "opm,single"), ("opm,date,single,note", "opm,date,single,note")):
        with pytest.raises(InvalidField) as caught:
            await import_readings(engine, ManualClock(NOW), header + "\n")
        assert (caught.value.field, caught.value.value) == ("header", value)


def test_the_command(tmp_path: Path, sqlite_url: str) -> None:
    env = clean_environ(database_url=sqlite_url, data_dir=str(tmp_path / "data"))
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_text("opm,date,single\n", encoding="utf-8")
    bad.write_text("opm,date,single\n859182400000000001,2026-01-31,1\n", encoding="utf-8")

    empty = CliRunner().invoke(app, ["readings", "import", str(good)], env=env)
    refused = CliRunner().invoke(app, ["readings", "import", str(bad)], env=env)
    unreadable = CliRunner().invoke(app, ["readings", "import", str(tmp_path / "nope.csv")], env=env)

    assert empty.exit_code == 0, empty.output
    assert empty.stdout.splitlines()[-1].startswith("rows=0 new=0")
    assert refused.exit_code == 1
    assert "line 2: opm '859182400000000001'" in refused.stdout
    assert refused.stdout.splitlines()[-1].endswith("failed=1")
    assert unreadable.exit_code == 2
