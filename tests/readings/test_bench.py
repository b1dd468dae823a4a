"""``proud bench readings`` as a user runs it: progress, the figures, and ``readings_per_s=<n>`` last.

A figure is checked to be a positive number, never against a target: timings belong to docs/readings.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import structlog
from typer.testing import CliRunner

from gateway.cli.main import app
from tests.cli.test_cli import clean_environ


@pytest.fixture(autouse=True)
def _reset_logging() -> Iterator[None]:
    # The command points structlog at the runner's stderr, which is closed after the invocation.
    yield
    structlog.reset_defaults()


def test_bench_readings_prints_readings_per_s_last(db_url: str) -> None:
    result = CliRunner().invoke(
        app, ["bench", "readings", "--readings", "3000", "--database-url", db_url], env=clean_environ()
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    figures = dict(part.split("=", 1) for part in lines[-2].split())
    assert int(figures["register_readings"]) >= 3000 and figures["duplicates"] == "0"
    assert re.fullmatch(r"readings_per_s=\d+", lines[-1]), lines[-1]
    assert int(lines[-1].split("=")[1]) > 0
