"""Cases as access boundaries: `case_members` (a person's role in a case, the permissions it
grants of its own, an optional expiry), and the case an acquisition or a resumable upload was
handed into (`case_id`, nullable: footage handed in archive-wide stays archive-wide). Existing
archives are unchanged: no memberships, every acquisition archive-wide, so every existing key
sees what it saw (docs/access.md).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "case_members",
        sa.Column("case_id", sa.String(36), sa.ForeignKey("cases.id"), primary_key=True),
        sa.Column("person_id", sa.Integer, sa.ForeignKey("people.id"), primary_key=True, index=True),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("permissions", sa.Text, nullable=False),
        sa.Column("expires_at", TZ),
        sa.Column("added_by", sa.String(100), nullable=False),
        sa.Column("added_at", TZ, nullable=False),
    )
    # No foreign key to cases: a deleted case leaves its footage archive-wide, not orphaned.
    with op.batch_alter_table("acquisitions") as batch:
        batch.add_column(sa.Column("case_id", sa.String(36)))
        batch.create_index("ix_acquisitions_case_id", ["case_id"])
    with op.batch_alter_table("uploads") as batch:
        batch.add_column(sa.Column("case_id", sa.String(36)))


def downgrade() -> None:
    # Without memberships a guest's keys would see nothing at all, and with a role would see all:
    # keys of people with no archive-wide role are revoked.
    op.execute(
        "UPDATE api_keys SET revoked_at = CURRENT_TIMESTAMP WHERE revoked_at IS NULL AND "
        "person_id IN (SELECT id FROM people WHERE role = 'none')"
    )
    with op.batch_alter_table("uploads") as batch:
        batch.drop_column("case_id")
    with op.batch_alter_table("acquisitions") as batch:
        batch.drop_index("ix_acquisitions_case_id")
        batch.drop_column("case_id")
    op.drop_table("case_members")
