"""Fixtures of the HTTP tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.http.masterdata_support import MdApp, running


@pytest.fixture
async def app(sqlite_url: str, unique: str, tmp_path: Path) -> AsyncIterator[MdApp]:
    """A daemon on a fresh SQLite database, with an API key of each role, for the master-data API tests."""
    async with running({"PROUD_DATABASE_URL": sqlite_url}, unique, tmp_path) as started:
        yield started
