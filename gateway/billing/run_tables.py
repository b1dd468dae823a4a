"""Mass billing runs and invoice delivery (SQLAlchemy Core, on the backbone's ``metadata``).

``bl_run``: one row per mass billing run, keyed by its id (``<period>`` or ``<period>/<dso>``), so that
starting the same run again resumes it instead of starting a second one.

``bl_run_item``: the billing orders a run queued, one row per contract. The order's state is its
``billing_order`` process instance (the one record of where an order stands); the item only says which
orders belong to the run, so progress and the summary are a join.

``bl_delivery``: one row per attempt to deliver an issued document to its customer (e-mail with the PDF,
e-mail with ISDOC, paper via the print shop): the audit trail of "when was it sent, where, how".
"""

from __future__ import annotations

import sqlalchemy as sa

from gateway.store.tables import BigId, Timestamp, metadata

_Number = sa.String(40)

run = sa.Table(
    "bl_run", metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("period", sa.String(7), nullable=False),  # YYYY-MM: the month whose end the run bills to
    sa.Column("dso", sa.String(40)),  # only OPMs of this DSO (master data's code); None: all
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("contracts_planned", sa.Integer, nullable=False),
    sa.Column("created_by", sa.String(100), nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("planned_at", Timestamp),
    sa.CheckConstraint("status IN ('planning', 'planned')", name="status"),
)

run_item = sa.Table(
    "bl_run_item", metadata,
    sa.Column("run", sa.String(40), sa.ForeignKey("bl_run.id"), primary_key=True),
    sa.Column("contract", sa.String(40), primary_key=True),
    sa.Column("order", sa.String(60), nullable=False, index=True),
    sa.Column("opm", sa.String(18), nullable=False),
    sa.Column("period_to", sa.Date, nullable=False),  # the order's: its bill is the contract's at this end
    sa.Column("queued_at", Timestamp, nullable=False),
)

delivery = sa.Table(
    "bl_delivery", metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("document", _Number, nullable=False, index=True),  # the invoice number
    sa.Column("order", sa.String(60)),
    sa.Column("channel", sa.String(20), nullable=False),
    sa.Column("recipient", sa.String(320), nullable=False),  # an e-mail address or a postal address line
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("message_id", sa.String(200)),
    sa.Column("detail", sa.Text),
    sa.Column("attempted_at", Timestamp, nullable=False),
    sa.CheckConstraint("status IN ('sent', 'failed')", name="status"),
    sa.CheckConstraint("channel IN ('email_pdf', 'isdoc', 'paper')", name="channel"),
)
