"""``outbox_parked``: outbox rows over the configured ``message_bytes_max``, moved out of the relay's line
with their reason until an operator releases them (``gateway.bus.outbox_parked``)

Revision ID: 0017_outbox_parked
Revises: 0016_reading_register_values
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0017_outbox_parked'
down_revision = '0016_reading_register_values'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox_parked",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("message_id", sa.Uuid(), nullable=False),
        sa.Column("topic", sa.String(249), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("value", sa.LargeBinary(), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("parked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_outbox_parked"),
    )


def downgrade() -> None:
    op.drop_table("outbox_parked")
