"""master data: customers, contract accounts, OPM, contracts, supply, activities, documents, audit

Revision ID: 0004_masterdata
Revises: 0003_api_keys
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004_masterdata'
down_revision = '0003_api_keys'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('md_activity',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('assignee', sa.String(length=200), nullable=True),
    sa.Column('entity', sa.String(length=20), nullable=False),
    sa.Column('entity_key', sa.String(length=40), nullable=False),
    sa.Column('note', sa.String(length=4000), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_md_activity'))
    )
    with op.batch_alter_table('md_activity', schema=None) as batch_op:
        batch_op.create_index('ix_md_activity_about', ['entity', 'entity_key'], unique=False)

    op.create_table('md_change',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('entity', sa.String(length=20), nullable=False),
    sa.Column('entity_id', sa.Uuid(), nullable=False),
    sa.Column('entity_key', sa.String(length=40), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('before', sa.Text(), nullable=True),
    sa.Column('after', sa.Text(), nullable=True),
    sa.Column('message_id', sa.Uuid(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_md_change'))
    )
    with op.batch_alter_table('md_change', schema=None) as batch_op:
        batch_op.create_index('ix_md_change_key', ['entity', 'entity_key', 'id'], unique=False)

    op.create_table('md_customer',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('segment', sa.String(length=20), nullable=False),
    sa.Column('first_name', sa.String(length=200), nullable=True),
    sa.Column('last_name', sa.String(length=200), nullable=True),
    sa.Column('birth_date', sa.Date(), nullable=True),
    sa.Column('birth_number', sa.String(length=11), nullable=True),
    sa.Column('company_name', sa.String(length=200), nullable=True),
    sa.Column('ico', sa.String(length=8), nullable=True),
    sa.Column('dic', sa.String(length=12), nullable=True),
    sa.Column('legal_form', sa.String(length=200), nullable=True),
    sa.Column('search_name', sa.String(length=401), nullable=False),
    sa.Column('consent_einvoice', sa.Boolean(), nullable=False),
    sa.Column('consent_marketing', sa.Boolean(), nullable=False),
    sa.Column('contacts', sa.JSON(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_md_customer')),
    sa.UniqueConstraint('number', name=op.f('uq_md_customer_number'))
    )
    with op.batch_alter_table('md_customer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_md_customer_ico'), ['ico'], unique=False)
        batch_op.create_index(batch_op.f('ix_md_customer_search_name'), ['search_name'], unique=False)

    op.create_table('md_document',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_md_document'))
    )
    op.create_table('md_opm',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('code', sa.String(length=18), nullable=False),
    sa.Column('commodity', sa.String(length=12), nullable=False),
    sa.Column('dso', sa.String(length=200), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_md_opm')),
    sa.UniqueConstraint('code', name=op.f('uq_md_opm_code'))
    )
    op.create_table('md_sequence',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('next_value', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_md_sequence'))
    )
    op.create_table('md_account',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('variable_symbol', sa.String(length=10), nullable=False),
    sa.Column('payment_method', sa.String(length=20), nullable=False),
    sa.Column('iban', sa.String(length=34), nullable=True),
    sa.Column('sipo_number', sa.String(length=10), nullable=True),
    sa.Column('billing_cycle', sa.String(length=20), nullable=False),
    sa.Column('advance_frequency', sa.String(length=20), nullable=False),
    sa.Column('dunning_procedure', sa.String(length=20), nullable=False),
    sa.Column('delivery_channel', sa.String(length=20), nullable=False),
    sa.Column('delivery_email', sa.String(length=254), nullable=True),
    sa.Column('billing_address', sa.JSON(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['md_customer.id'], name=op.f('fk_md_account_customer_id_md_customer')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_md_account')),
    sa.UniqueConstraint('variable_symbol', name=op.f('uq_md_account_variable_symbol'))
    )
    with op.batch_alter_table('md_account', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_md_account_customer_id'), ['customer_id'], unique=False)

    op.create_table('md_address',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('customer_id', sa.Uuid(), nullable=True),
    sa.Column('opm_id', sa.Uuid(), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('street', sa.String(length=200), nullable=True),
    sa.Column('house_number', sa.String(length=20), nullable=False),
    sa.Column('city', sa.String(length=200), nullable=False),
    sa.Column('city_part', sa.String(length=200), nullable=True),
    sa.Column('postal_code', sa.String(length=10), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('search_text', sa.String(length=800), nullable=False),
    sa.CheckConstraint('(customer_id IS NULL) <> (opm_id IS NULL)', name=op.f('ck_md_address_one_owner')),
    sa.ForeignKeyConstraint(['customer_id'], ['md_customer.id'], name=op.f('fk_md_address_customer_id_md_customer')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_md_address'))
    )
    with op.batch_alter_table('md_address', schema=None) as batch_op:
        for owner in ("customer_id", "opm_id"):
            batch_op.create_index(
                f"ix_md_address_{owner}", [owner], unique=False,
                postgresql_where=sa.text(f"{owner} IS NOT NULL"), sqlite_where=sa.text(f"{owner} IS NOT NULL"),
            )

    op.create_table('md_contract',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('opm_id', sa.Uuid(), nullable=False),
    sa.Column('commodity', sa.String(length=12), nullable=False),
    sa.Column('signed_on', sa.Date(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('negotiation', sa.String(length=20), nullable=False),
    sa.Column('withdrawal_until', sa.Date(), nullable=True),
    sa.Column('ended_on', sa.Date(), nullable=True),
    sa.Column('end_kind', sa.String(length=20), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['md_customer.id'], name=op.f('fk_md_contract_customer_id_md_customer')),
    sa.ForeignKeyConstraint(['opm_id'], ['md_opm.id'], name=op.f('fk_md_contract_opm_id_md_opm')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_md_contract')),
    sa.UniqueConstraint('number', name=op.f('uq_md_contract_number'))
    )
    with op.batch_alter_table('md_contract', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_md_contract_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_md_contract_opm_id'), ['opm_id'], unique=False)

    op.create_table('md_document_link',
    sa.Column('document_id', sa.Uuid(), nullable=False),
    sa.Column('entity', sa.String(length=20), nullable=False),
    sa.Column('entity_key', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['md_document.id'], name=op.f('fk_md_document_link_document_id_md_document')),
    sa.PrimaryKeyConstraint('document_id', 'entity', 'entity_key', name=op.f('pk_md_document_link'))
    )
    with op.batch_alter_table('md_document_link', schema=None) as batch_op:
        batch_op.create_index('ix_md_document_link_about', ['entity', 'entity_key'], unique=False)

    op.create_table('md_document_version',
    sa.Column('document_id', sa.Uuid(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('media_type', sa.String(length=100), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['md_document.id'], name=op.f('fk_md_document_version_document_id_md_document')),
    sa.PrimaryKeyConstraint('document_id', 'version', name=op.f('pk_md_document_version'))
    )
    with op.batch_alter_table('md_document_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_md_document_version_sha256'), ['sha256'], unique=False)

    op.create_table('md_meter',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('opm_id', sa.Uuid(), nullable=False),
    sa.Column('serial', sa.String(length=200), nullable=False),
    sa.Column('installed_on', sa.Date(), nullable=False),
    sa.Column('removed_on', sa.Date(), nullable=True),
    sa.Column('registers', sa.JSON(), nullable=False),
    sa.Column('final_readings', sa.JSON(), nullable=True),
    sa.Column('initial_readings', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_md_meter')),
    sa.UniqueConstraint('opm_id', 'serial', 'installed_on', name=op.f('uq_md_meter_opm_id_serial_installed_on'))
    )
    op.create_table('md_opm_technical',
    sa.Column('opm_id', sa.Uuid(), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('distribution_rate', sa.String(length=8), nullable=True),
    sa.Column('breaker_phases', sa.SmallInteger(), nullable=True),
    sa.Column('breaker_amps', sa.Integer(), nullable=True),
    sa.Column('gas_band', sa.String(length=12), nullable=True),
    sa.Column('tdd_class', sa.String(length=8), nullable=True),
    sa.Column('annual_consumption_kwh', sa.Numeric(precision=17, scale=3), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('opm_id', 'effective_from', name=op.f('pk_md_opm_technical'))
    )
    op.create_table('md_contract_terms',
    sa.Column('contract_id', sa.Uuid(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('product', sa.String(length=200), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('notice_period_days', sa.Integer(), nullable=False),
    sa.Column('note', sa.String(length=4000), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['md_account.id'], name=op.f('fk_md_contract_terms_account_id_md_account')),
    sa.ForeignKeyConstraint(['contract_id'], ['md_contract.id'], name=op.f('fk_md_contract_terms_contract_id_md_contract')),
    sa.PrimaryKeyConstraint('contract_id', 'version', name=op.f('pk_md_contract_terms')),
    sa.UniqueConstraint('contract_id', 'effective_from', name=op.f('uq_md_contract_terms_contract_id_effective_from'))
    )
    with op.batch_alter_table('md_contract_terms', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_md_contract_terms_account_id'), ['account_id'], unique=False)

    op.create_table('md_supply',
    sa.Column('contract_id', sa.Uuid(), nullable=False),
    sa.Column('opm_id', sa.Uuid(), nullable=False),
    sa.Column('start', sa.Date(), nullable=False),
    sa.Column('end', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['contract_id'], ['md_contract.id'], name=op.f('fk_md_supply_contract_id_md_contract')),
    sa.ForeignKeyConstraint(['opm_id'], ['md_opm.id'], name=op.f('fk_md_supply_opm_id_md_opm')),
    sa.PrimaryKeyConstraint('contract_id', name=op.f('pk_md_supply'))
    )
    with op.batch_alter_table('md_supply', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_md_supply_opm_id'), ['opm_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('md_supply', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_md_supply_opm_id'))

    op.drop_table('md_supply')
    with op.batch_alter_table('md_contract_terms', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_md_contract_terms_account_id'))

    op.drop_table('md_contract_terms')
    op.drop_table('md_opm_technical')
    op.drop_table('md_meter')
    with op.batch_alter_table('md_document_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_md_document_version_sha256'))

    op.drop_table('md_document_version')
    with op.batch_alter_table('md_document_link', schema=None) as batch_op:
        batch_op.drop_index('ix_md_document_link_about')

    op.drop_table('md_document_link')
    with op.batch_alter_table('md_contract', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_md_contract_opm_id'))
        batch_op.drop_index(batch_op.f('ix_md_contract_customer_id'))

    op.drop_table('md_contract')
    with op.batch_alter_table('md_address', schema=None) as batch_op:
        batch_op.drop_index("ix_md_address_opm_id")
        batch_op.drop_index("ix_md_address_customer_id")

    op.drop_table('md_address')
    with op.batch_alter_table('md_account', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_md_account_customer_id'))

    op.drop_table('md_account')
    op.drop_table('md_sequence')
    op.drop_table('md_opm')
    op.drop_table('md_document')
    with op.batch_alter_table('md_customer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_md_customer_search_name'))
        batch_op.drop_index(batch_op.f('ix_md_customer_ico'))

    op.drop_table('md_customer')
    with op.batch_alter_table('md_change', schema=None) as batch_op:
        batch_op.drop_index('ix_md_change_key')

    op.drop_table('md_change')
    with op.batch_alter_table('md_activity', schema=None) as batch_op:
        batch_op.drop_index('ix_md_activity_about')

    op.drop_table('md_activity')
