"""The history of incidents and cases: per record, an append-only, hash-chained list of what was
done to it (created, changed with the values before and after, deleted with the whole record, an
incident put into or taken out of a case, a case closed or reopened), by whom and when. No
foreign key, so the history outlives the record. Records stored before this revision have no
entries until their first change, whose `before` says what they held.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "history_entries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("entity_kind", sa.String(20), nullable=False),
        sa.Column("entity_id", sa.String(36), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("action", sa.String(50), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("details", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        # Also the index a record's history is read by.
        sa.UniqueConstraint("entity_kind", "entity_id", "seq", name="uq_history_entries_entity_seq"),
    )
    # Refused in the database itself, not only in the ORM, as for custody_events (0001).
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION history_entries_append_only() RETURNS trigger AS $$ "
            "BEGIN RAISE EXCEPTION 'history_entries is append-only'; END; $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER history_entries_append_only BEFORE UPDATE OR DELETE ON history_entries "
            "FOR EACH ROW EXECUTE FUNCTION history_entries_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER history_entries_no_{verb.lower()} BEFORE {verb} ON history_entries "
                "BEGIN SELECT RAISE(ABORT, 'history_entries is append-only'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS history_entries_append_only ON history_entries")
        op.execute("DROP FUNCTION IF EXISTS history_entries_append_only()")
    op.drop_table("history_entries")
