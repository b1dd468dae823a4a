"""``md_contract.billed_until``: a contract of a book taken over from another billing system, billed by it up
to this day; proud's first bill starts the day after

Revision ID: 0015_contract_billed_until
Revises: 0014_invoice_lz4
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0015_contract_billed_until'
down_revision = '0014_invoice_lz4'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("md_contract") as batch:
        batch.add_column(sa.Column("billed_until", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("md_contract") as batch:
        batch.drop_column("billed_until")
