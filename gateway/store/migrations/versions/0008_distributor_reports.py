"""Distributor reports: one row per OPM and month sent to CS OTE

Revision ID: 0008_distributor_reports
Revises: 0007_readings
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008_distributor_reports'
down_revision = '0007_readings'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('distributor_report',
    sa.Column('opm_code', sa.String(length=18), nullable=False),
    sa.Column('period', sa.Date(), nullable=False),
    sa.Column('commodity', sa.String(length=12), nullable=False),
    sa.Column('ote_message_id', sa.String(length=35), nullable=False),
    sa.Column('message_id', sa.Uuid(), nullable=False),
    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('opm_code', 'period', name=op.f('pk_distributor_report'))
    )


def downgrade() -> None:
    op.drop_table('distributor_report')
