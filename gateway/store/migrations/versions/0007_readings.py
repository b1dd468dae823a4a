"""Readings: meter readings received (rd_reading) and their register values (rd_register)

Revision ID: 0007_readings
Revises: 0006_contract_start_reason
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007_readings'
down_revision = '0006_contract_start_reason'
branch_labels = None
depends_on = None

# Exact decimals: numeric without typmod on PostgreSQL, text on SQLite (gateway.readings.tables.ExactDecimal).
_Exact = sa.Numeric().with_variant(sa.String(length=60), 'sqlite')
_IN_FORCE = "superseded_by IS NULL AND status <> 'duplicate'"


def upgrade() -> None:
    op.create_table('rd_reading',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('opm', sa.String(length=18), nullable=False),
    sa.Column('commodity', sa.String(length=11), nullable=False),
    sa.Column('meter_id', sa.String(length=32), nullable=False),
    sa.Column('date_from', sa.Date(), nullable=False),
    sa.Column('date_to', sa.Date(), nullable=False),
    sa.Column('reason', sa.String(length=8), nullable=False),
    sa.Column('kind', sa.String(length=9), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('corrects', sa.BigInteger(), nullable=True),
    sa.Column('duplicate_of', sa.BigInteger(), nullable=True),
    sa.Column('superseded_by', sa.BigInteger(), nullable=True),
    sa.Column('fingerprint', sa.LargeBinary(length=16), nullable=False),
    sa.Column('source', sa.String(length=6), nullable=False),
    sa.Column('ote_message_id', sa.String(length=35), nullable=True),
    sa.Column('archive_id', sa.BigInteger(), nullable=True),
    sa.Column('document_id', sa.String(length=35), nullable=True),
    sa.Column('document_version', sa.Integer(), nullable=True),
    sa.Column('document_segment', sa.String(length=3), nullable=True),
    sa.Column('correction_reason', sa.String(length=2), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("commodity IN ('electricity', 'gas')", name=op.f('ck_rd_reading_commodity')),
    sa.CheckConstraint("reason IN ('periodic', 'switch', 'final', 'move', 'control')", name=op.f('ck_rd_reading_reason')),
    sa.CheckConstraint("kind IN ('actual', 'estimated')", name=op.f('ck_rd_reading_kind')),
    sa.CheckConstraint("status IN ('new', 'duplicate', 'correction')", name=op.f('ck_rd_reading_status')),
    sa.CheckConstraint("source IN ('ote', 'edc', 'manual')", name=op.f('ck_rd_reading_source')),
    sa.CheckConstraint('date_from <= date_to', name=op.f('ck_rd_reading_period')),
    sa.CheckConstraint("(status = 'correction') = (corrects IS NOT NULL)", name=op.f('ck_rd_reading_corrects')),
    sa.CheckConstraint("(status = 'duplicate') = (duplicate_of IS NOT NULL)", name=op.f('ck_rd_reading_duplicate_of')),
    sa.CheckConstraint("status <> 'duplicate' OR superseded_by IS NULL", name=op.f('ck_rd_reading_superseded')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rd_reading'))
    )
    with op.batch_alter_table('rd_reading', schema=None) as batch_op:
        batch_op.create_index(
            'ux_rd_reading_in_force', ['opm', 'meter_id', 'date_from', 'date_to'], unique=True,
            postgresql_where=sa.text(_IN_FORCE), sqlite_where=sa.text(_IN_FORCE),
        )

    op.create_table('rd_register',
    sa.Column('reading_id', sa.BigInteger(), nullable=False),
    sa.Column('register', sa.String(length=6), nullable=False),
    sa.Column('start_state', _Exact, nullable=True),
    sa.Column('end_state', _Exact, nullable=True),
    sa.Column('consumption_kwh', _Exact, nullable=False),
    sa.Column('volume_m3', _Exact, nullable=True),
    sa.Column('conversion_factor', _Exact, nullable=True),
    sa.Column('calorific_value_kwh_per_m3', _Exact, nullable=True),
    sa.Column('dso_energy_kwh', _Exact, nullable=True),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.CheckConstraint("register IN ('vt', 'nt', 'single')", name=op.f('ck_rd_register_register')),
    sa.PrimaryKeyConstraint('reading_id', 'register', name=op.f('pk_rd_register'))
    )


def downgrade() -> None:
    op.drop_table('rd_register')
    with op.batch_alter_table('rd_reading', schema=None) as batch_op:
        batch_op.drop_index(
            'ux_rd_reading_in_force', postgresql_where=sa.text(_IN_FORCE), sqlite_where=sa.text(_IN_FORCE),
        )
    op.drop_table('rd_reading')
