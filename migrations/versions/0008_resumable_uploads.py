"""Resumable uploads: an upload declared up front, received in chunks, each chunk its own object
until the last one arrives and the whole is archived like any other upload.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "uploads",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("filename", sa.String(1024), nullable=False),
        sa.Column("content_type", sa.String(255)),
        sa.Column("size_bytes", sa.BigInteger, nullable=False),
        sa.Column("received_bytes", sa.BigInteger, nullable=False),
        sa.Column("source", sa.Text),
        sa.Column("source_url", sa.Text),
        sa.Column("captured_at", TZ),
        sa.Column("note", sa.Text),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("completing_since", TZ),
        sa.Column("clip_id", sa.String(36), sa.ForeignKey("clips.id")),
        sa.Column("duplicate", sa.Boolean),
    )
    op.create_table(
        "upload_chunks",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("upload_id", sa.String(36), sa.ForeignKey("uploads.id"), nullable=False),
        sa.Column("first_byte", sa.BigInteger, nullable=False),
        sa.Column("size_bytes", sa.BigInteger, nullable=False),
        sa.Column("blob_key", sa.String(255), nullable=False),
        sa.UniqueConstraint("upload_id", "first_byte"),
    )


def downgrade() -> None:
    op.drop_table("upload_chunks")
    op.drop_table("uploads")
