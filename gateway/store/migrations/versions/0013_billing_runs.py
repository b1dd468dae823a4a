"""Mass billing runs (``bl_run``, ``bl_run_item``), invoice delivery (``bl_delivery``) and the deducted
advances kept with an invoice (``bl_invoice.deposits``), so its documents can be rendered after the bill

Revision ID: 0013_billing_runs
Revises: 0012_advances
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013_billing_runs'
down_revision = '0012_advances'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('bl_invoice', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deposits', sa.Text(), server_default='[]', nullable=False))
    op.create_table('bl_run',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('dso', sa.String(length=40), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('contracts_planned', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('planned_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('planning', 'planned')", name=op.f('ck_bl_run_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bl_run'))
    )
    op.create_table('bl_run_item',
    sa.Column('run', sa.String(length=40), nullable=False),
    sa.Column('contract', sa.String(length=40), nullable=False),
    sa.Column('order', sa.String(length=60), nullable=False),
    sa.Column('opm', sa.String(length=18), nullable=False),
    sa.Column('period_to', sa.Date(), nullable=False),
    sa.Column('queued_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['run'], ['bl_run.id'], name=op.f('fk_bl_run_item_run_bl_run')),
    sa.PrimaryKeyConstraint('run', 'contract', name=op.f('pk_bl_run_item'))
    )
    with op.batch_alter_table('bl_run_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bl_run_item_order'), ['order'], unique=False)
    op.create_table('bl_delivery',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('document', sa.String(length=40), nullable=False),
    sa.Column('order', sa.String(length=60), nullable=True),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('recipient', sa.String(length=320), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('message_id', sa.String(length=200), nullable=True),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('attempted_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("channel IN ('email_pdf', 'isdoc', 'paper')", name=op.f('ck_bl_delivery_channel')),
    sa.CheckConstraint("status IN ('sent', 'failed')", name=op.f('ck_bl_delivery_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bl_delivery'))
    )
    with op.batch_alter_table('bl_delivery', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bl_delivery_document'), ['document'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('bl_delivery', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bl_delivery_document'))
    op.drop_table('bl_delivery')
    with op.batch_alter_table('bl_run_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bl_run_item_order'))
    op.drop_table('bl_run_item')
    op.drop_table('bl_run')
    with op.batch_alter_table('bl_invoice', schema=None) as batch_op:
        batch_op.drop_column('deposits')
