"""An index on clips in the order the archive lists them (`created_at`, then `id`, the tie-break
that keeps pages stable): a page deep in the list (`offset=9000`) walks the index instead of
sorting every clip row, whose media and probe JSON make it large (bench/pages.py: 35 ms to under
1 ms at 10,000 clips on SQLite).

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-01
"""

from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_clips_created_at_id", "clips", ["created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_clips_created_at_id", table_name="clips")
