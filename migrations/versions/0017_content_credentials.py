"""Content Credentials (C2PA) read on ingest: what the file's manifest says (JSON), its state
(valid, signer_untrusted, invalid, malformed, none, unsupported), indexed for search, and the
reader's whole report, verbatim, for the evidence export.

Existing clips keep all three null ("not read") until they are analysed again.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("clips") as batch:
        batch.add_column(sa.Column("content_credentials", sa.Text, nullable=True))
        batch.add_column(sa.Column("content_credentials_state", sa.String(20), nullable=True))
        batch.add_column(sa.Column("content_credentials_report", sa.Text, nullable=True))
    op.create_index("ix_clips_content_credentials_state", "clips", ["content_credentials_state"])


def downgrade() -> None:
    op.drop_index("ix_clips_content_credentials_state", "clips")
    with op.batch_alter_table("clips") as batch:
        for column in ("content_credentials_report", "content_credentials_state", "content_credentials"):
            batch.drop_column(column)
