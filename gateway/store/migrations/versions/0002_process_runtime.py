"""process runtime: instances, history, timers, machine versions

Revision ID: 0002_process
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_process"
down_revision = "0001"
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "process_instance",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("machine", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=100), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("entered_seq", sa.BigInteger(), nullable=False),
        sa.Column("transitions", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_process_instance")),
        sa.UniqueConstraint("machine", "key", name=op.f("uq_process_instance_machine_key")),
    )
    op.create_table(
        "process_machine_version",
        sa.Column("machine", sa.String(length=100), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("machine", "version", name=op.f("pk_process_machine_version")),
    )
    op.create_table(
        "process_history",
        sa.Column("instance_id", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("from_state", sa.String(length=100), nullable=True),
        sa.Column("to_state", sa.String(length=100), nullable=False),
        sa.Column("transition_at", sa.String(length=300), nullable=True),
        sa.Column("message_id", sa.Uuid(), nullable=False),
        sa.Column("message_type", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disposition", sa.String(length=30), nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_id"], ["process_instance.id"], name=op.f("fk_process_history_instance_id_process_instance")
        ),
        sa.PrimaryKeyConstraint("instance_id", "seq", name=op.f("pk_process_history")),
    )
    op.create_table(
        "process_timer",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("instance_id", sa.BigInteger(), nullable=False),
        sa.Column("machine", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state_entry", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("fired_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["instance_id"], ["process_instance.id"], name=op.f("fk_process_timer_instance_id_process_instance")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_process_timer")),
    )
    with op.batch_alter_table("process_timer", schema=None) as batch_op:
        batch_op.create_index("ix_process_timer_status_due_at", ["status", "due_at"], unique=False)
        batch_op.create_index("ix_process_timer_instance_id_status", ["instance_id", "status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("process_timer", schema=None) as batch_op:
        batch_op.drop_index("ix_process_timer_instance_id_status")
        batch_op.drop_index("ix_process_timer_status_due_at")

    op.drop_table("process_timer")
    op.drop_table("process_history")
    op.drop_table("process_machine_version")
    op.drop_table("process_instance")
