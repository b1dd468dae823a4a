"""The one Alembic history runs on SQLite and PostgreSQL, up and down, and matches the table definitions."""

from __future__ import annotations

import asyncio
import concurrent.futures
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

import connectors.ote.tables  # noqa: F401  (registers ``ote_archive`` on ``metadata``)
import gateway.billing.advances.tables  # registers the ``bl_advance_*`` tables on ``metadata``
import gateway.billing.invoices.tables  # registers ``invoice_series`` on ``metadata``
import gateway.billing.ledger_tables  # registers ``bl_invoice`` and ``bl_receivable`` on ``metadata``
import gateway.billing.run_tables  # registers ``bl_run``, ``bl_run_item``, ``bl_delivery`` on ``metadata``
import gateway.distributor.tables  # registers ``distributor_report`` on ``metadata``
import gateway.http.auth_tables  # registers ``api_key`` on ``metadata``
import gateway.masterdata.tables  # registers the master-data tables on ``metadata``
import gateway.process.tables  # registers the process tables on ``metadata``
import gateway.readings.tables  # noqa: F401  (registers the reading store on ``metadata``)
from gateway.store.db import create_engine
from gateway.store.migrate import alembic_config, head_revision, upgrade_sync
from gateway.store.tables import metadata


def _in_thread(fn, *args):  # type: ignore[no-untyped-def]
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn, *args).result()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'migrations.db'}"
        return
    admin_url = request.getfixturevalue("pg_url")
    name = f"proud_migrations_{uuid.uuid4().hex[:8]}"
    _in_thread(asyncio.run, _admin(admin_url, f'CREATE DATABASE "{name}"'))
    yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    _in_thread(asyncio.run, _admin(admin_url, f'DROP DATABASE "{name}" WITH (FORCE)'))


async def _admin(url: str, statement: str) -> None:
    engine = create_engine(url).execution_options(isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(sa.text(statement))
    await engine.dispose()


async def _diff_and_revision(url: str) -> tuple[list[object], str | None, set[str]]:
    engine = create_engine(url)
    async with engine.connect() as conn:
        def inspect(sync_conn: sa.Connection) -> tuple[list[object], str | None, set[str]]:
            context = MigrationContext.configure(sync_conn, opts={"compare_type": True})
            tables = set(sa.inspect(sync_conn).get_table_names())
            return compare_metadata(context, metadata), context.get_current_revision(), tables

        result = await conn.run_sync(inspect)
    await engine.dispose()
    return result


def test_upgrade_matches_tables_then_downgrade_and_upgrade_again(database_url: str) -> None:
    upgrade_sync(database_url)
    diff, revision, tables = _in_thread(asyncio.run, _diff_and_revision(database_url))
    assert revision == head_revision()
    assert diff == [], f"tables.py and the migrations disagree: {diff}"
    assert set(metadata.tables) <= tables

    _in_thread(command.downgrade, alembic_config(database_url), "base")
    _, revision, tables = _in_thread(asyncio.run, _diff_and_revision(database_url))
    assert revision is None and tables == {"alembic_version"}

    upgrade_sync(database_url)
    diff, revision, _ = _in_thread(asyncio.run, _diff_and_revision(database_url))
    assert (diff, revision) == ([], head_revision())
