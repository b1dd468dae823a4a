"""Run the Alembic migration history programmatically (no alembic.ini needed): ``proud migrate``."""

from __future__ import annotations

import asyncio
import concurrent.futures
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.store.db import create_engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


def upgrade_sync(url: str, revision: str = "head") -> None:
    """Blocking. Alembic's env.py runs its own event loop, so the migration runs on a worker thread: that
    makes this safe to call from code that is itself inside a running loop (a test fixture, the daemon)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="migrate") as pool:
        pool.submit(command.upgrade, alembic_config(url), revision).result()


async def upgrade(url: str, revision: str = "head") -> None:
    await asyncio.to_thread(upgrade_sync, url, revision)


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())


async def ensure_current(url: str) -> None:
    """Refuse to run on a database that is not at the head revision: the operator runs ``proud migrate``."""
    engine = create_engine(url)
    try:
        revision = await current_revision(engine)
    finally:
        await engine.dispose()
    head = head_revision()
    if revision != head:
        from gateway.errors import ConfigError

        raise ConfigError(
            "database_url", url, f"schema is at {revision}, expected {head}: run `proud migrate`"
        )
