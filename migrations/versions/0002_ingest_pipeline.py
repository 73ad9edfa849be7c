"""Ingest pipeline: media fields and job progress on clips, and keyframes.

Clips stored before the pipeline existed are queued, so the next start analyses them.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("clips") as batch:
        batch.add_column(sa.Column("ingest_step", sa.String(50), nullable=True))
        batch.add_column(sa.Column("ingest_progress", sa.Float, nullable=True))
        batch.add_column(sa.Column("media", sa.Text, nullable=True))
        batch.add_column(sa.Column("probe_raw", sa.Text, nullable=True))
    op.create_index("ix_clips_status", "clips", ["status"])
    op.execute("UPDATE clips SET status = 'queued' WHERE status = 'stored'")
    op.create_table(
        "keyframes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("clip_id", sa.String(36), sa.ForeignKey("clips.id"), nullable=False),
        sa.Column("index", sa.Integer, nullable=False),
        sa.Column("time_s", sa.Float, nullable=False),
        sa.Column("reason", sa.String(20), nullable=False),
        sa.Column("scene_score", sa.Float, nullable=True),
        sa.Column("width", sa.Integer, nullable=False),
        sa.Column("height", sa.Integer, nullable=False),
        sa.Column("blob_key", sa.String(255), nullable=False),
        sa.Column("size_bytes", sa.Integer, nullable=False),
        sa.UniqueConstraint("clip_id", "index", name="uq_keyframes_clip_index"),
    )
    op.create_index("ix_keyframes_clip_id", "keyframes", ["clip_id"])


def downgrade() -> None:
    op.drop_table("keyframes")
    op.drop_index("ix_clips_status", "clips")
    with op.batch_alter_table("clips") as batch:
        for column in ("probe_raw", "media", "ingest_progress", "ingest_step"):
            batch.drop_column(column)
