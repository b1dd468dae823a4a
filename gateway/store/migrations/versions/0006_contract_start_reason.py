"""Contracts: why supply starts (switch, change of customer, move-in, from last resort)

Revision ID: 0006_contract_start_reason
Revises: 0005_ote_archive
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_contract_start_reason"
down_revision = "0005_ote_archive"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Every contract stored so far was entered as a switch (the only kind before this column).
    with op.batch_alter_table("md_contract") as batch:
        batch.add_column(
            sa.Column("start_reason", sa.String(length=20), server_default="switch", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("md_contract") as batch:
        batch.drop_column("start_reason")
