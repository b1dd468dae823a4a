"""``bl_invoice.readings``: the meter readings a settlement billed, as its documents print them (JSON of
``schemas.billing.billed_readings.BilledReadings``; NULL for credit notes and for invoices issued before)

Revision ID: 0019_invoice_readings
Revises: 0018_gas_conversion
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0019_invoice_readings'
down_revision = '0018_gas_conversion'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bl_invoice") as batch:
        batch.add_column(sa.Column("readings", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("bl_invoice") as batch:
        batch.drop_column("readings")
