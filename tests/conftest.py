"""Shared fixtures: the real PostgreSQL and Kafka started by ``make services``, and throw-away SQLite files.

Tests never skip a missing service: ``make test`` starts them, and a run without them fails with a message
naming the service, so a green run always means the real parts were exercised.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.store.db import create_engine
from gateway.store.migrate import upgrade_sync

PG_URL = os.environ.get(
    "PROUD_TEST_DATABASE_URL", "postgresql+asyncpg://proud:proud@127.0.0.1:5432/proud_test"
)
KAFKA_BOOTSTRAP = os.environ.get("PROUD_TEST_KAFKA_BOOTSTRAP", "127.0.0.1:9092")


def _require_port(service: str, hostport: str) -> None:
    host, port = hostport.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=2):
            return
    except OSError as exc:
        pytest.fail(f"{service} is not answering on {hostport} ({exc}); start it with `make services`")


def _pg_hostport(url: str) -> str:
    after_at = url.split("@", 1)[1]
    return after_at.split("/", 1)[0]


@pytest.fixture(scope="session")
def pg_url() -> str:
    """The test database, reset to an empty schema and migrated to head once per session."""
    _require_port("PostgreSQL", _pg_hostport(PG_URL))

    async def reset() -> None:
        engine = create_engine(PG_URL)
        async with engine.begin() as conn:
            await conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            await conn.execute(sa.text("CREATE SCHEMA public"))
        await engine.dispose()

    # A thread of its own: this fixture may be set up from inside a running event loop.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, reset()).result()
    upgrade_sync(PG_URL)
    return PG_URL


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    _require_port("Kafka", KAFKA_BOOTSTRAP)
    return KAFKA_BOOTSTRAP


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh, migrated SQLite file for one test."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'proud.db'}"
    upgrade_sync(url)
    return url


@pytest.fixture
async def pg_engine(pg_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(pg_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def sqlite_engine(sqlite_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(sqlite_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def unique() -> Iterator[str]:
    """A short unique suffix for topic and group names: Kafka topics outlive a test."""
    yield uuid.uuid4().hex[:10]



def clear_unsent_outbox(url: str) -> None:
    """On the shared PostgreSQL database, drop unsent and parked outbox rows left by earlier tests.

    A relay publishes every unsent row in order; a row an earlier test queued for a topic that this test's
    bus does not have would hold this test's rows back (by design: the outbox never skips a row). Parked
    rows would show in this test's listing of them.
    """

    async def clean() -> None:
        engine = create_engine(url)
        async with engine.begin() as conn:
            await conn.execute(sa.text("DELETE FROM outbox WHERE sent_at IS NULL"))
            await conn.execute(sa.text("DELETE FROM outbox_parked"))
        await engine.dispose()

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, clean()).result()


@pytest.fixture(autouse=True)
def _no_foreign_outbox_rows(request: pytest.FixtureRequest) -> None:
    # Also for a test on PostgreSQL through a fixture parametrised with "pg_url" (``db_url``, a pipeline),
    # which asks for ``pg_url`` only when it is set up, after this fixture.
    callspec = getattr(request.node, "callspec", None)
    through_param = callspec is not None and "pg_url" in callspec.params.values()
    if "pg_url" in request.fixturenames or through_param:
        clear_unsent_outbox(request.getfixturevalue("pg_url"))
