"""Invoice number series: one row per (prefix, year) series and billing worker, holding the next number

Revision ID: 0009_invoice_series
Revises: 0008_distributor_reports
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009_invoice_series'
down_revision = '0008_distributor_reports'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('invoice_series',
    sa.Column('prefix', sa.String(length=8), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('worker', sa.Integer(), nullable=False),
    sa.Column('next_number', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('prefix', 'year', 'worker', name=op.f('pk_invoice_series'))
    )


def downgrade() -> None:
    op.drop_table('invoice_series')
