"""Advance schedules, their instalments and the advance documents (SQLAlchemy Core, on the backbone's
``metadata``; migration ``0012_advances``).

A schedule belongs to a contract (one OPM) and is versioned: ``bl_advance_schedule.version`` counts per
contract, and at most one schedule of a contract is ``active`` (``ux_bl_advance_schedule_active``, a partial
unique index, so two regenerations racing on one contract cannot both win). Regenerating marks the old
schedule ``superseded`` and its instalments that were still only ``planned`` ``superseded`` too; requested
and paid instalments stay what they are: a requested one is a receivable the customer was told about.

``bl_advance_document`` keeps every advance document issued (advance requests ``ZF…`` and tax documents
for received payments ``DZ…``) as the encoded ``InvoiceDocument``: its PDF and ISDOC are pure functions of
it (gateway/billing/invoices), so the stored struct reproduces them byte for byte.

Money is an exact decimal (``ExactDecimal``: numeric on PostgreSQL, text on SQLite, which would store a
float).
"""

from __future__ import annotations

import sqlalchemy as sa

from gateway.masterdata.tables import JsonText
from gateway.readings.tables import ExactDecimal
from gateway.store.tables import Timestamp, metadata

advance_schedule = sa.Table(
    "bl_advance_schedule", metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("contract_id", sa.Uuid, sa.ForeignKey("md_contract.id"), nullable=False),
    sa.Column("account_id", sa.Uuid, sa.ForeignKey("md_account.id"), nullable=False, index=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("state", sa.String(12), nullable=False),
    sa.Column("reason", sa.String(20), nullable=False),
    sa.Column("frequency", sa.String(12), nullable=False),
    sa.Column("starts_on", sa.Date, nullable=False),
    sa.Column("ends_on", sa.Date, nullable=False),
    sa.Column("price_list", sa.String(40), nullable=False),
    sa.Column("priced_from", sa.Date, nullable=False),
    sa.Column("priced_to", sa.Date, nullable=False),
    sa.Column("consumption_source", sa.String(12), nullable=False),
    # {"vt": "2.100", "nt": "0.400"} or {"single": "3.500"}: MWh per register, as quoted.
    sa.Column("consumption", JsonText, nullable=False),
    sa.Column("annual_total", ExactDecimal, nullable=False),
    sa.Column("instalment_amount", ExactDecimal, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("superseded_at", Timestamp),
    sa.UniqueConstraint("contract_id", "version"),
    sa.CheckConstraint("state IN ('active', 'superseded')", name="state"),
)
sa.Index(
    "ux_bl_advance_schedule_active", advance_schedule.c.contract_id, unique=True,
    postgresql_where=advance_schedule.c.state == "active", sqlite_where=advance_schedule.c.state == "active",
)

advance_instalment = sa.Table(
    "bl_advance_instalment", metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("schedule_id", sa.Uuid, sa.ForeignKey("bl_advance_schedule.id"), nullable=False, index=True),
    sa.Column("account_id", sa.Uuid, nullable=False, index=True),
    sa.Column("sequence", sa.SmallInteger, nullable=False),
    sa.Column("period_from", sa.Date, nullable=False),
    sa.Column("period_to", sa.Date, nullable=False),
    sa.Column("due_date", sa.Date, nullable=False),
    sa.Column("amount", ExactDecimal, nullable=False),
    sa.Column("state", sa.String(12), nullable=False),
    sa.Column("request_number", sa.String(40), unique=True),
    sa.Column("requested_on", sa.Date),
    sa.Column("paid_amount", ExactDecimal, nullable=False),
    sa.Column("paid_on", sa.Date),
    sa.UniqueConstraint("schedule_id", "sequence"),
    sa.CheckConstraint("state IN ('planned', 'requested', 'paid', 'superseded')", name="state"),
    # ``proud billing advances issue --due-before`` looks for planned instalments by due date.
    sa.Index("ix_bl_advance_instalment_due", "state", "due_date"),
)

advance_document = sa.Table(
    "bl_advance_document", metadata,
    sa.Column("number", sa.String(40), primary_key=True),
    sa.Column("kind", sa.String(30), nullable=False),
    sa.Column("instalment_id", sa.Uuid, sa.ForeignKey("bl_advance_instalment.id"), nullable=False,
              index=True),
    sa.Column("uuid", sa.Uuid, nullable=False, unique=True),
    sa.Column("issue_date", sa.Date, nullable=False),
    sa.Column("tax_point", sa.Date),
    sa.Column("amount", ExactDecimal, nullable=False),
    sa.Column("base", ExactDecimal),
    sa.Column("vat", ExactDecimal),
    # The encoded ``schemas.billing.invoice.InvoiceDocument``.
    sa.Column("document", sa.Text, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.CheckConstraint("kind IN ('advance_request', 'advance_tax_document')", name="kind"),
)
