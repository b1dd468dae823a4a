"""``rd_reading.register_values``: every register's values of a reading in one text
(``gateway.readings.register_text``), so that the billing timeline reads readings without joining
``rd_register``; filled here from the register rows (a duplicate: from the reading it repeats)

Revision ID: 0016_reading_register_values
Revises: 0015_contract_billed_until
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0016_reading_register_values'
down_revision = '0015_contract_billed_until'
branch_labels = None
depends_on = None

# register_text's layout: "register start end kwh m3", a missing value empty, registers joined by ";".
_PART = (
    "g.register || ' ' || COALESCE(CAST(g.start_state AS TEXT), '') || ' ' || "
    "COALESCE(CAST(g.end_state AS TEXT), '') || ' ' || COALESCE(CAST(g.consumption_kwh AS TEXT), '') || ' ' || "
    "COALESCE(CAST(g.volume_m3 AS TEXT), '')"
)


def upgrade() -> None:
    with op.batch_alter_table("rd_reading") as batch:
        batch.add_column(sa.Column("register_values", sa.Text(), nullable=True))
    aggregate = (
        f"string_agg({_PART}, ';' ORDER BY g.register)" if op.get_bind().dialect.name == "postgresql"
        else f"group_concat({_PART}, ';')"
    )
    op.execute(
        f"UPDATE rd_reading SET register_values = (SELECT {aggregate} FROM rd_register g "
        "WHERE g.reading_id = rd_reading.id)"
    )
    op.execute(
        "UPDATE rd_reading SET register_values = (SELECT o.register_values FROM rd_reading o "
        "WHERE o.id = rd_reading.duplicate_of) WHERE duplicate_of IS NOT NULL"
    )
    op.execute("UPDATE rd_reading SET register_values = '' WHERE register_values IS NULL")
    with op.batch_alter_table("rd_reading") as batch:
        batch.alter_column("register_values", existing_type=sa.Text(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("rd_reading") as batch:
        batch.drop_column("register_values")
