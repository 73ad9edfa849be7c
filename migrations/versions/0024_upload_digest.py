"""The SHA-256 a resumable upload declares for its whole file (`uploads.sha256`, lowercase hex;
null: none declared). The finished bytes must match it, and a new upload declaring the same
digest and size as an unfinished one of the same caller continues that one (tus clients that
lost the upload's URL, `verity ingest --server` run again).

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("uploads") as batch:
        batch.add_column(sa.Column("sha256", sa.String(64), nullable=True))
    op.create_index("ix_uploads_created_by_sha256", "uploads", ["created_by", "sha256"])


def downgrade() -> None:
    op.drop_index("ix_uploads_created_by_sha256", table_name="uploads")
    with op.batch_alter_table("uploads") as batch:
        batch.drop_column("sha256")
