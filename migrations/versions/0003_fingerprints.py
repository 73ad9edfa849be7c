"""Fingerprints per clip, keyframe hashes, the near-duplicate relations found at ingest, and an
audit log for actions that concern no stored clip (provenance queries).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fingerprints",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("clip_id", sa.String(36), sa.ForeignKey("clips.id"), nullable=False, unique=True),
        sa.Column("start_s", sa.Float, nullable=False),
        sa.Column("sample_fps", sa.Float, nullable=False),
        sa.Column("frame_count", sa.Integer, nullable=False),
        sa.Column("hashes", sa.LargeBinary, nullable=False),
        sa.Column("centre_hashes", sa.LargeBinary, nullable=False),
        sa.Column("informative", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "clip_relations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("clip_id", sa.String(36), sa.ForeignKey("clips.id"), nullable=False),
        sa.Column("related_clip_id", sa.String(36), sa.ForeignKey("clips.id"), nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("matched_seconds", sa.Float, nullable=False),
        sa.Column("mirrored", sa.Boolean, nullable=False),
        sa.Column("segments", sa.Text, nullable=False),
        sa.Column("found_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("clip_id", "related_clip_id", name="uq_clip_relations_pair"),
    )
    op.create_index("ix_clip_relations_clip_id", "clip_relations", ["clip_id"])
    op.create_index("ix_clip_relations_related_clip_id", "clip_relations", ["related_clip_id"])
    with op.batch_alter_table("keyframes") as batch:
        batch.add_column(sa.Column("phash", sa.String(16), nullable=True))
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("action", sa.String(50), nullable=False),
        sa.Column("details", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("audit_events")
    with op.batch_alter_table("keyframes") as batch:
        batch.drop_column("phash")
    op.drop_table("clip_relations")
    op.drop_table("fingerprints")
