"""``md_opm_technical``: a gas OPM's conversion factor and calorific-value area (billing converts its m³
with them; both optional: 1 and the DSO's default values without them)

Revision ID: 0018_gas_conversion
Revises: 0017_outbox_parked
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0018_gas_conversion'
down_revision = '0017_outbox_parked'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("md_opm_technical") as batch:
        batch.add_column(sa.Column("gas_conversion_factor", sa.Numeric(7, 6), nullable=True))
        batch.add_column(sa.Column("gas_area", sa.String(12), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("md_opm_technical") as batch:
        batch.drop_column("gas_area")
        batch.drop_column("gas_conversion_factor")
