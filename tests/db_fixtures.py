"""The two-database fixtures: a test directory whose conftest imports them runs each test that takes
``engine`` on SQLite and on PostgreSQL (``db_url`` is the parametrised URL); and ``own_database`` for a test
whose daemons leave work behind (timers, outbox rows, messages) that must not reach the next test's."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.store.db import create_engine
from gateway.store.migrate import upgrade_sync


@pytest.fixture(params=["sqlite_url", pytest.param("pg_url", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(request.param)
    return url


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(db_url)
    yield engine
    await engine.dispose()


@contextlib.asynccontextmanager
async def own_database(pg_url: str, suffix: str) -> AsyncIterator[str]:
    """A fresh database next to the session's (``<name>_<suffix>``), migrated; dropped afterwards."""
    base, _, name = pg_url.rpartition("/")
    own = f"{name}_{suffix}"
    admin = create_engine(pg_url).execution_options(isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{own}" WITH (FORCE)'))
            await conn.execute(sa.text(f'CREATE DATABASE "{own}"'))
        url = f"{base}/{own}"
        await asyncio.to_thread(upgrade_sync, url)
        yield url
    finally:
        async with admin.connect() as conn:
            await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{own}" WITH (FORCE)'))
        await admin.dispose()
