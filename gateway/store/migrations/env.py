"""Alembic environment: runs migrations on an async engine (SQLite or PostgreSQL)."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection

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
from gateway.store.tables import metadata

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds tables when a migration needs it.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _main() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url is not set"
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; run `proud migrate`")
asyncio.run(_main())
