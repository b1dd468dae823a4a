"""Billing: issued invoices (``bl_invoice``, one issued settlement per contract and period end) and the
contract-account sub-ledger (``bl_receivable``)

Revision ID: 0011_billing
Revises: 0010_reading_kinds
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011_billing'
down_revision = '0010_reading_kinds'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('bl_invoice',
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('uuid', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('contract', sa.String(length=40), nullable=False),
    sa.Column('account', sa.String(length=10), nullable=False),
    sa.Column('opm', sa.String(length=18), nullable=False),
    sa.Column('period_from', sa.Date(), nullable=False),
    sa.Column('period_to', sa.Date(), nullable=False),
    sa.Column('issue_date', sa.Date(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('total_base', sa.Numeric(precision=17, scale=2), nullable=False),
    sa.Column('total_vat', sa.Numeric(precision=17, scale=2), nullable=False),
    sa.Column('total', sa.Numeric(precision=17, scale=2), nullable=False),
    sa.Column('advances_paid', sa.Numeric(precision=17, scale=2), nullable=False),
    sa.Column('balance', sa.Numeric(precision=17, scale=2), nullable=False),
    sa.Column('corrects', sa.String(length=40), nullable=True),
    sa.Column('cancelled_by', sa.String(length=40), nullable=True),
    sa.Column('settlement', sa.Text(), nullable=False),
    sa.Column('documents', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(kind = 'credit_note') = (corrects IS NOT NULL)", name=op.f('ck_bl_invoice_corrects')),
    sa.CheckConstraint("kind IN ('settlement', 'credit_note')", name=op.f('ck_bl_invoice_kind')),
    sa.CheckConstraint("status IN ('issued', 'cancelled')", name=op.f('ck_bl_invoice_status')),
    sa.ForeignKeyConstraint(['corrects'], ['bl_invoice.number'], name=op.f('fk_bl_invoice_corrects_bl_invoice')),
    sa.PrimaryKeyConstraint('number', name=op.f('pk_bl_invoice')),
    sa.UniqueConstraint('uuid', name=op.f('uq_bl_invoice_uuid'))
    )
    with op.batch_alter_table('bl_invoice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bl_invoice_account'), ['account'], unique=False)
        batch_op.create_index('ix_bl_invoice_contract', ['contract', 'period_to'], unique=False)
        batch_op.create_index('uq_bl_invoice_issued_period', ['contract', 'period_to'], unique=True, postgresql_where=sa.text("kind = 'settlement' AND status = 'issued'"), sqlite_where=sa.text("kind = 'settlement' AND status = 'issued'"))

    op.create_table('bl_receivable',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('account', sa.String(length=10), nullable=False),
    sa.Column('document', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('amount', sa.Numeric(precision=17, scale=2), nullable=False),
    sa.Column('open_amount', sa.Numeric(precision=17, scale=2), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=True),
    sa.Column('posted_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('invoice', 'credit_note', 'advance_request')", name=op.f('ck_bl_receivable_kind')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bl_receivable')),
    sa.UniqueConstraint('document', name=op.f('uq_bl_receivable_document'))
    )
    with op.batch_alter_table('bl_receivable', schema=None) as batch_op:
        batch_op.create_index('ix_bl_receivable_account', ['account', 'kind', 'due_date'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('bl_receivable', schema=None) as batch_op:
        batch_op.drop_index('ix_bl_receivable_account')

    op.drop_table('bl_receivable')
    with op.batch_alter_table('bl_invoice', schema=None) as batch_op:
        batch_op.drop_index('uq_bl_invoice_issued_period', postgresql_where=sa.text("kind = 'settlement' AND status = 'issued'"), sqlite_where=sa.text("kind = 'settlement' AND status = 'issued'"))
        batch_op.drop_index('ix_bl_invoice_contract')
        batch_op.drop_index(batch_op.f('ix_bl_invoice_account'))

    op.drop_table('bl_invoice')
