"""Fixity audits: each clip says how its last audit went (`fixity_status`: unchecked, ok or
failed, and when), and each audit run is a row (when it started and finished, how far it got, what
it read and found), so an audit stopped by a restart resumes after the last clip it finished.

Every outcome is also a custody event on the clip (`fixity_checked`, `fixity_failed`); the columns
are only what is searchable and counted. Existing clips start unchecked.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("clips") as batch:
        batch.add_column(sa.Column("fixity_status", sa.String(20), nullable=False, server_default="unchecked"))
        batch.add_column(sa.Column("fixity_checked_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_clips_fixity_status", "clips", ["fixity_status"])
    op.create_table(
        "fixity_runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True, index=True),
        sa.Column("started_by", sa.String(100), nullable=False),
        # The id of the last clip this run has finished: clips are audited in id order.
        sa.Column("cursor", sa.String(36), nullable=True),
        sa.Column("clips_checked", sa.Integer, nullable=False, server_default="0"),
        sa.Column("clips_failed", sa.Integer, nullable=False, server_default="0"),
        sa.Column("bytes_read", sa.BigInteger, nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_table("fixity_runs")
    op.drop_index("ix_clips_fixity_status", "clips")
    with op.batch_alter_table("clips") as batch:
        batch.drop_column("fixity_checked_at")
        batch.drop_column("fixity_status")
