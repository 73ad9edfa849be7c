"""Incidents, clip links with time segments, and clip verification status with its history.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("starts_at", TZ, nullable=False),
        sa.Column("ends_at", TZ, nullable=True),
        sa.Column("time_precision", sa.String(20), nullable=False),
        sa.Column("place_name", sa.String(300), nullable=True),
        sa.Column("lat", sa.Float, nullable=True),
        sa.Column("lon", sa.Float, nullable=True),
        sa.Column("radius_m", sa.Float, nullable=True),
        sa.Column("tags", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
    )
    op.create_index("ix_incidents_starts_at", "incidents", ["starts_at"])
    op.create_table(
        "clip_links",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("incident_id", sa.String(36), sa.ForeignKey("incidents.id"), nullable=False),
        sa.Column("clip_id", sa.String(36), sa.ForeignKey("clips.id"), nullable=False),
        sa.Column("start_s", sa.Float, nullable=True),
        sa.Column("end_s", sa.Float, nullable=True),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("linked_by", sa.String(100), nullable=False),
        sa.Column("linked_at", TZ, nullable=False),
        sa.Column("unlinked_by", sa.String(100), nullable=True),
        sa.Column("unlinked_at", TZ, nullable=True),
    )
    op.create_index("ix_clip_links_incident_id", "clip_links", ["incident_id"])
    op.create_index("ix_clip_links_clip_id", "clip_links", ["clip_id"])
    with op.batch_alter_table("clips") as batch:
        batch.add_column(sa.Column("verification_status", sa.String(20), nullable=False, server_default="unverified"))
    op.create_table(
        "verification_changes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("clip_id", sa.String(36), sa.ForeignKey("clips.id"), nullable=False),
        sa.Column("from_status", sa.String(20), nullable=False),
        sa.Column("to_status", sa.String(20), nullable=False),
        sa.Column("rationale", sa.Text, nullable=False),
        sa.Column("reviewer", sa.String(100), nullable=False),
        sa.Column("changed_at", TZ, nullable=False),
    )
    op.create_index("ix_verification_changes_clip_id", "verification_changes", ["clip_id"])


def downgrade() -> None:
    op.drop_table("verification_changes")
    with op.batch_alter_table("clips") as batch:
        batch.drop_column("verification_status")
    op.drop_table("clip_links")
    op.drop_table("incidents")
