"""Searchable copies of a clip's recorded time, place and device, filled when it is probed.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("clips") as batch:
        batch.add_column(sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("lat", sa.Float, nullable=True))
        batch.add_column(sa.Column("lon", sa.Float, nullable=True))
        batch.add_column(sa.Column("device_make", sa.String(200), nullable=True))
        batch.add_column(sa.Column("device_model", sa.String(200), nullable=True))
    op.create_index("ix_clips_recorded_at", "clips", ["recorded_at"])
    op.create_index("ix_clips_lat_lon", "clips", ["lat", "lon"])


def downgrade() -> None:
    op.drop_index("ix_clips_lat_lon", "clips")
    op.drop_index("ix_clips_recorded_at", "clips")
    with op.batch_alter_table("clips") as batch:
        for column in ("device_model", "device_make", "lon", "lat", "recorded_at"):
            batch.drop_column(column)
