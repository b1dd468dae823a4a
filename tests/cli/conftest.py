"""Fixtures of the command-line tests: a data directory, migrated or not, and structlog reset after each."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from tests.cli.test_cli import clean_environ, invoke


@pytest.fixture(autouse=True)
def _reset_logging() -> Iterator[None]:
    # Commands point structlog at the runner's stderr, which is closed after each invocation.
    yield
    structlog.reset_defaults()


@pytest.fixture
def data_env(tmp_path: Path) -> dict[str, str | None]:
    return clean_environ(data_dir=str(tmp_path / "data"))


@pytest.fixture
def migrated_env(data_env: dict[str, str | None]) -> dict[str, str | None]:
    result = invoke(["migrate"], data_env)
    assert result.exit_code == 0, result.output
    structlog.reset_defaults()  # the command's stderr is closed: the test's own code may log
    return data_env
