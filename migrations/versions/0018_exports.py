"""Evidence exports: one row per export asked for, with what it covers and includes, its job's
progress, and once built the BagIt zip's object key, size and SHA-256 (and that of its payload
manifest, which the timestamps stamp). Rows change as the job goes on: not append-only; what an
export did to each clip is its `exported` custody event.

Revision ID: 0018
Revises: 0017 (the lead re-chains it after the other parts of issue 10)
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "exports",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("scope", sa.String(20), nullable=False),
        sa.Column("scope_id", sa.String(36)),
        sa.Column("clip_ids", sa.Text, nullable=False),
        sa.Column("include_originals", sa.Boolean, nullable=False),
        sa.Column("include_keyframes", sa.Boolean, nullable=False),
        sa.Column("include_probe", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("status_reason", sa.Text),
        sa.Column("step", sa.String(50)),
        sa.Column("progress", sa.Float, nullable=False),
        sa.Column("bytes_written", sa.BigInteger, nullable=False),
        sa.Column("requested_by", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("blob_key", sa.String(255)),
        sa.Column("size_bytes", sa.BigInteger),
        sa.Column("sha256", sa.String(64)),
        sa.Column("manifest_sha256", sa.String(64)),
    )
    op.create_index("ix_exports_status", "exports", ["status"])


def downgrade() -> None:
    op.drop_index("ix_exports_status", "exports")
    op.drop_table("exports")
