"""Protected sources in exports: whose sources an export may carry, frozen when it is asked for
(`sources`, JSON: the exporter's sources permission then, archive-wide and by case; null: the
sources are left out), and what the exporter could see (`visible`, JSON: the cases; null:
archive-wide), so the bag names no link, copy or incident outside it. The bag is built later by a
job with no caller, so it is told here.

Existing exports keep null: their bags were built already, and one built again leaves them out.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("exports") as batch:
        batch.add_column(sa.Column("sources", sa.Text, nullable=True))
        batch.add_column(sa.Column("visible", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("exports") as batch:
        batch.drop_column("visible")
        batch.drop_column("sources")
