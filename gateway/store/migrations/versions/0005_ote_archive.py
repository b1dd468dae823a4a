"""OTE archive: every message exchanged with CS OTE, raw, both directions

Revision ID: 0005_ote_archive
Revises: 0004_masterdata
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005_ote_archive'
down_revision = '0004_masterdata'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ote_archive',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('direction', sa.String(length=3), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('message_code', sa.String(length=4), nullable=True),
    sa.Column('message_id', sa.String(length=35), nullable=True),
    sa.Column('peer_subject', sa.String(length=1000), nullable=True),
    sa.Column('raw', sa.LargeBinary(), nullable=False),
    sa.CheckConstraint("direction IN ('in', 'out')", name=op.f('ck_ote_archive_direction')),
    sa.CheckConstraint('size_bytes <= 16781312', name=op.f('ck_ote_archive_size')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ote_archive'))
    )
    with op.batch_alter_table('ote_archive', schema=None) as batch_op:
        batch_op.create_index('ix_ote_archive_message_id', ['message_id'], unique=False)
        batch_op.create_index('ix_ote_archive_received_at', ['received_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('ote_archive', schema=None) as batch_op:
        batch_op.drop_index('ix_ote_archive_received_at')
        batch_op.drop_index('ix_ote_archive_message_id')

    op.drop_table('ote_archive')
