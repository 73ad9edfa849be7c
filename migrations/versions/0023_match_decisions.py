"""Decisions on suggested near-duplicates: an analyst confirms a pair as copies of one footage (a
family) or rejects it (never suggested again). One row per unordered pair (the lower clip id in
`clip_id`); a new decision replaces it, and each is a custody event on both clips.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
# 0022 is being written beside this one; the merge points this at whichever comes last.
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "match_decisions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("clip_id", sa.String(36), sa.ForeignKey("clips.id"), nullable=False),
        sa.Column("other_clip_id", sa.String(36), sa.ForeignKey("clips.id"), nullable=False),
        sa.Column("decision", sa.String(20), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("decided_by", sa.String(100), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("clip_id", "other_clip_id", name="uq_match_decisions_pair"),
        sa.CheckConstraint("clip_id < other_clip_id", name="ck_match_decisions_ordered_pair"),
    )
    op.create_index("ix_match_decisions_clip_id", "match_decisions", ["clip_id"])
    op.create_index("ix_match_decisions_other_clip_id", "match_decisions", ["other_clip_id"])


def downgrade() -> None:
    op.drop_index("ix_match_decisions_other_clip_id", "match_decisions")
    op.drop_index("ix_match_decisions_clip_id", "match_decisions")
    op.drop_table("match_decisions")
