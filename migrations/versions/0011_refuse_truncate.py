"""The append-only tables also refuse TRUNCATE on PostgreSQL (their row triggers do not fire on
it), so custody events and history entries cannot be emptied in one statement either.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-25
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# Each made append-only by its own migration (0001, 0010), with a function that refuses.
APPEND_ONLY = ("custody_events", "history_entries")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite has no TRUNCATE: a DELETE fires its row triggers
    for table in APPEND_ONLY:
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {table}_append_only()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in APPEND_ONLY:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
