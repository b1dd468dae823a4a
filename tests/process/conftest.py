"""Fixtures of the process runtime's database tests: an emptied database of either kind, and decisions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.process.expressions import Decisions
from gateway.process.tables import process_history, process_instance, process_machine_version, process_timer
from gateway.store.db import create_engine
from gateway.store.tables import dead_letter, inbox, outbox
from tests.process.test_expressions import write_decisions

TABLES = (
    process_history,
    process_timer,
    process_instance,
    process_machine_version,
    dead_letter,
    outbox,
    inbox,
)


@pytest.fixture(params=["sqlite", "postgres"])
async def engine(request: pytest.FixtureRequest) -> AsyncIterator[AsyncEngine]:
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    engine = create_engine(url)
    async with engine.begin() as conn:
        for table in TABLES:
            await conn.execute(table.delete())
    yield engine
    await engine.dispose()


@pytest.fixture
def decisions(tmp_path: Path) -> Decisions:
    return Decisions(write_decisions(tmp_path / "decisions"))
