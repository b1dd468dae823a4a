"""Advances: schedules (versioned per contract), their instalments and the advance documents

Revision ID: 0012_advances
Revises: 0011_billing
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_advances"
down_revision = "0011_billing"
branch_labels = None
depends_on = None

# Exact decimals: numeric on PostgreSQL, text on SQLite (gateway.readings.tables.ExactDecimal).
_Money = sa.Numeric().with_variant(sa.String(length=60), "sqlite")


def upgrade() -> None:
    op.create_table(
        "bl_advance_schedule",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("frequency", sa.String(length=12), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("price_list", sa.String(length=40), nullable=False),
        sa.Column("priced_from", sa.Date(), nullable=False),
        sa.Column("priced_to", sa.Date(), nullable=False),
        sa.Column("consumption_source", sa.String(length=12), nullable=False),
        sa.Column("consumption", sa.Text(), nullable=False),
        sa.Column("annual_total", _Money, nullable=False),
        sa.Column("instalment_amount", _Money, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("state IN ('active', 'superseded')", name=op.f("ck_bl_advance_schedule_state")),
        sa.ForeignKeyConstraint(["account_id"], ["md_account.id"],
                                name=op.f("fk_bl_advance_schedule_account_id_md_account")),
        sa.ForeignKeyConstraint(["contract_id"], ["md_contract.id"],
                                name=op.f("fk_bl_advance_schedule_contract_id_md_contract")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bl_advance_schedule")),
        sa.UniqueConstraint("contract_id", "version", name=op.f("uq_bl_advance_schedule_contract_id_version")),
    )
    op.create_index(op.f("ix_bl_advance_schedule_account_id"), "bl_advance_schedule", ["account_id"])
    op.create_index(
        "ux_bl_advance_schedule_active", "bl_advance_schedule", ["contract_id"], unique=True,
        postgresql_where=sa.text("state = 'active'"), sqlite_where=sa.text("state = 'active'"),
    )
    op.create_table(
        "bl_advance_instalment",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("schedule_id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("sequence", sa.SmallInteger(), nullable=False),
        sa.Column("period_from", sa.Date(), nullable=False),
        sa.Column("period_to", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("amount", _Money, nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("request_number", sa.String(length=40), nullable=True),
        sa.Column("requested_on", sa.Date(), nullable=True),
        sa.Column("paid_amount", _Money, nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=True),
        sa.CheckConstraint("state IN ('planned', 'requested', 'paid', 'superseded')",
                           name=op.f("ck_bl_advance_instalment_state")),
        sa.ForeignKeyConstraint(["schedule_id"], ["bl_advance_schedule.id"],
                                name=op.f("fk_bl_advance_instalment_schedule_id_bl_advance_schedule")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bl_advance_instalment")),
        sa.UniqueConstraint("request_number", name=op.f("uq_bl_advance_instalment_request_number")),
        sa.UniqueConstraint("schedule_id", "sequence",
                            name=op.f("uq_bl_advance_instalment_schedule_id_sequence")),
    )
    op.create_index(op.f("ix_bl_advance_instalment_schedule_id"), "bl_advance_instalment", ["schedule_id"])
    op.create_index(op.f("ix_bl_advance_instalment_account_id"), "bl_advance_instalment", ["account_id"])
    op.create_index("ix_bl_advance_instalment_due", "bl_advance_instalment", ["state", "due_date"])
    op.create_table(
        "bl_advance_document",
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("instalment_id", sa.Uuid(), nullable=False),
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("issue_date", sa.Date(), nullable=False),
        sa.Column("tax_point", sa.Date(), nullable=True),
        sa.Column("amount", _Money, nullable=False),
        sa.Column("base", _Money, nullable=True),
        sa.Column("vat", _Money, nullable=True),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('advance_request', 'advance_tax_document')",
                           name=op.f("ck_bl_advance_document_kind")),
        sa.ForeignKeyConstraint(["instalment_id"], ["bl_advance_instalment.id"],
                                name=op.f("fk_bl_advance_document_instalment_id_bl_advance_instalment")),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_bl_advance_document")),
        sa.UniqueConstraint("uuid", name=op.f("uq_bl_advance_document_uuid")),
    )
    op.create_index(op.f("ix_bl_advance_document_instalment_id"), "bl_advance_document", ["instalment_id"])


def downgrade() -> None:
    op.drop_table("bl_advance_document")
    op.drop_table("bl_advance_instalment")
    op.drop_table("bl_advance_schedule")
