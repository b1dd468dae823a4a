"""Invoice number series (SQLAlchemy Core, on the backbone's ``metadata``): one row per series and worker.

A series is a document prefix and a year (``FV`` 2026); each billing worker draws from a row of its own, so
workers never wait for each other (no global lock) and each row's numbers have no gaps
(``gateway.billing.invoices.numbering``).
"""

from __future__ import annotations

import sqlalchemy as sa

from gateway.store.tables import metadata

invoice_series = sa.Table(
    "invoice_series",
    metadata,
    sa.Column("prefix", sa.String(8), primary_key=True),
    sa.Column("year", sa.Integer, primary_key=True),
    sa.Column("worker", sa.Integer, primary_key=True),
    # The number the next draw hands out: 1 for a row that does not exist yet.
    sa.Column("next_number", sa.BigInteger, nullable=False),
)
