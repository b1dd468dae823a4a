"""Issued invoices and the contract-account sub-ledger (SQLAlchemy Core, on the backbone's ``metadata``).

``bl_invoice``: one row per issued settlement or credit note; its settlement as JSON text (the document is
rebuilt from it, never edited). At most one *issued* settlement per contract and period end: the partial
unique index is what makes billing idempotent even for two workers racing on one order.

``bl_receivable``: one row per document that moves money on an account (an issued invoice's balance, a
credit note's reversal, an advance request), signed: positive is owed by the customer, negative owed to them.
"""

from __future__ import annotations

import sqlalchemy as sa

from gateway.masterdata.tables import JsonText
from gateway.store.tables import BigId, Timestamp, metadata

#: Money on an invoice: 15 digits before the point, 2 after (CZK and haléře).
Money = sa.Numeric(17, 2)
_Number = sa.String(40)

invoice = sa.Table(
    "bl_invoice", metadata,
    sa.Column("number", _Number, primary_key=True),
    sa.Column("uuid", sa.Uuid, nullable=False, unique=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("contract", sa.String(40), nullable=False),
    sa.Column("account", sa.String(10), nullable=False, index=True),
    sa.Column("opm", sa.String(18), nullable=False),
    sa.Column("period_from", sa.Date, nullable=False),
    sa.Column("period_to", sa.Date, nullable=False),
    sa.Column("issue_date", sa.Date, nullable=False),  # also the tax point (DUZP)
    sa.Column("due_date", sa.Date, nullable=False),
    sa.Column("total_base", Money, nullable=False),
    sa.Column("total_vat", Money, nullable=False),
    sa.Column("total", Money, nullable=False),
    sa.Column("advances_paid", Money, nullable=False),
    sa.Column("balance", Money, nullable=False),
    sa.Column("corrects", _Number, sa.ForeignKey("bl_invoice.number")),
    sa.Column("cancelled_by", _Number),
    sa.Column("settlement", sa.Text, nullable=False),
    sa.Column("documents", JsonText, nullable=False),
    # The advances the settlement deducted (``schemas.billing.invoice.Deposit`` as JSON): the document is
    # rendered after the bill's transaction (a mass run), so what it prints must be kept with the invoice.
    sa.Column("deposits", sa.Text, nullable=False, server_default="[]"),
    # The meter readings it billed (``BilledReadings`` as JSON; NULL: a credit note, or issued before 0019).
    sa.Column("readings", sa.Text),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.CheckConstraint("kind IN ('settlement', 'credit_note')", name="kind"),
    sa.CheckConstraint("status IN ('issued', 'cancelled')", name="status"),
    sa.CheckConstraint("(kind = 'credit_note') = (corrects IS NOT NULL)", name="corrects"),
)
sa.Index("ix_bl_invoice_contract", invoice.c.contract, invoice.c.period_to)
_ISSUED_SETTLEMENT = sa.text("kind = 'settlement' AND status = 'issued'")
sa.Index(
    "uq_bl_invoice_issued_period", invoice.c.contract, invoice.c.period_to, unique=True,
    postgresql_where=_ISSUED_SETTLEMENT, sqlite_where=_ISSUED_SETTLEMENT,
)

receivable = sa.Table(
    "bl_receivable", metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("account", sa.String(10), nullable=False),
    sa.Column("document", _Number, nullable=False, unique=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("amount", Money, nullable=False),
    sa.Column("open_amount", Money, nullable=False),
    sa.Column("due_date", sa.Date, nullable=False),
    sa.Column("paid_on", sa.Date),
    sa.Column("posted_at", Timestamp, nullable=False),
    sa.CheckConstraint("kind IN ('invoice', 'credit_note', 'advance_request')", name="kind"),
)
# The ledger of an account and the advances paid in a period are both read by account, kind and due date.
sa.Index("ix_bl_receivable_account", receivable.c.account, receivable.c.kind, receivable.c.due_date)
