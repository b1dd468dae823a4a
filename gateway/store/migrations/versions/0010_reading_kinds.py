"""Readings: the kind ``customer`` (a self-reading entered by the customer or the back office)

Revision ID: 0010_reading_kinds
Revises: 0009_invoice_series
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0010_reading_kinds"
down_revision = "0009_invoice_series"
branch_labels = None
depends_on = None

_KINDS = "kind IN ('actual', 'estimated', 'customer')"
_KINDS_BEFORE = "kind IN ('actual', 'estimated')"


def upgrade() -> None:
    # SQLite cannot alter a constraint: the batch copies the table (rows and the in-force index kept).
    with op.batch_alter_table("rd_reading") as batch:
        batch.drop_constraint(op.f("ck_rd_reading_kind"), type_="check")
        batch.create_check_constraint(op.f("ck_rd_reading_kind"), _KINDS)


def downgrade() -> None:
    # Customer readings become actual ones: the kind the store had for them before (OTE's self-reading code).
    op.execute("UPDATE rd_reading SET kind = 'actual' WHERE kind = 'customer'")
    with op.batch_alter_table("rd_reading") as batch:
        batch.drop_constraint(op.f("ck_rd_reading_kind"), type_="check")
        batch.create_check_constraint(op.f("ck_rd_reading_kind"), _KINDS_BEFORE)
