"""The outbox tests' database: each test on SQLite and on PostgreSQL, both outbox tables emptied first."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.store.db import create_engine
from gateway.store.tables import outbox, outbox_parked


@pytest.fixture(params=["sqlite", "postgres"])
async def engine(request: pytest.FixtureRequest) -> AsyncIterator[AsyncEngine]:
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(outbox.delete())
        await conn.execute(outbox_parked.delete())
    yield engine
    await engine.dispose()
