"""The reports sent (SQLAlchemy Core, on the backbone's ``metadata``): one row per OPM and month.

Written in the transaction that queues the report's ``ote.send`` in the outbox, so that a row exists exactly
when its message is on its way: a second run of the same month skips the OPM (idempotent per OPM and month),
and the outbox, not this table, carries the message until the bus has it.
"""

from __future__ import annotations

import sqlalchemy as sa

from gateway.store.tables import Timestamp, metadata

distributor_report = sa.Table(
    "distributor_report",
    metadata,
    # The OPM's code (EAN or EIC; md_opm.code) and the first day of the month reported.
    sa.Column("opm_code", sa.String(18), primary_key=True),
    sa.Column("period", sa.Date, primary_key=True),
    sa.Column("commodity", sa.String(12), nullable=False),
    # The OTE message's id attribute (for CS OTE's answer) and the bus message that carries it.
    sa.Column("ote_message_id", sa.String(35), nullable=False),
    sa.Column("message_id", sa.Uuid, nullable=False),
    sa.Column("reported_at", Timestamp, nullable=False),
)
