"""Archive foundation: API keys, clips, acquisitions, and the append-only custody log.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("revoked_at", TZ, nullable=True),
    )
    op.create_table(
        "clips",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("size_bytes", sa.BigInteger, nullable=False),
        sa.Column("filename", sa.String(1024), nullable=False),
        sa.Column("content_type", sa.String(255), nullable=True),
        sa.Column("blob_key", sa.String(255), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("status_reason", sa.Text, nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("uploaded_by", sa.String(100), nullable=False),
    )
    op.create_index("ix_clips_created_at", "clips", ["created_at"])
    op.create_table(
        "acquisitions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("clip_id", sa.String(36), sa.ForeignKey("clips.id"), nullable=False),
        sa.Column("received_at", TZ, nullable=False),
        sa.Column("received_by", sa.String(100), nullable=False),
        sa.Column("filename", sa.String(1024), nullable=False),
        sa.Column("source", sa.Text, nullable=True),
        sa.Column("source_url", sa.Text, nullable=True),
        sa.Column("captured_at", TZ, nullable=True),
        sa.Column("note", sa.Text, nullable=True),
    )
    op.create_index("ix_acquisitions_clip_id", "acquisitions", ["clip_id"])
    op.create_table(
        "custody_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("clip_id", sa.String(36), sa.ForeignKey("clips.id"), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("action", sa.String(50), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("occurred_at", TZ, nullable=False),
        sa.Column("details", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.UniqueConstraint("clip_id", "seq", name="uq_custody_events_clip_seq"),
    )
    op.create_index("ix_custody_events_clip_id", "custody_events", ["clip_id"])

    # The custody log refuses UPDATE and DELETE in the database itself, not only in the ORM.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION custody_events_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION 'custody_events is append-only';
            END;
            $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            "CREATE TRIGGER custody_events_append_only BEFORE UPDATE OR DELETE ON custody_events "
            "FOR EACH ROW EXECUTE FUNCTION custody_events_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER custody_events_no_{verb.lower()} BEFORE {verb} ON custody_events "
                "BEGIN SELECT RAISE(ABORT, 'custody_events is append-only'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS custody_events_append_only ON custody_events")
        op.execute("DROP FUNCTION IF EXISTS custody_events_append_only()")
    op.drop_table("custody_events")
    op.drop_table("acquisitions")
    op.drop_table("clips")
    op.drop_table("api_keys")
