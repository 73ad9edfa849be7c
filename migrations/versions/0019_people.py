"""People: accounts with a password (argon2), an optional TOTP second factor, an archive-wide role
and a disabled time; every API key now belongs to a person, may expire, and may be narrowed to
some cases (`key_cases`). Each key made before this gets a person named after it, with the key's
role and no password (it cannot sign in until `verity users reset-password` gives one), so every
existing key keeps working with the same role, and records the same actor (docs/design.md).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "people",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("password_hash", sa.String(255)),
        sa.Column("totp_secret", sa.String(64)),
        sa.Column("totp_last_step", sa.BigInteger),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("disabled_at", TZ),
    )
    op.execute("INSERT INTO people (name, role, created_at) SELECT name, role, created_at FROM api_keys ORDER BY id")
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("person_id", sa.Integer))
        batch.add_column(sa.Column("expires_at", TZ))
    op.execute("UPDATE api_keys SET person_id = (SELECT people.id FROM people WHERE people.name = api_keys.name)")
    with op.batch_alter_table("api_keys") as batch:
        batch.alter_column("person_id", existing_type=sa.Integer, nullable=False)
        batch.create_foreign_key("fk_api_keys_person_id", "people", ["person_id"], ["id"])
        batch.create_index("ix_api_keys_person_id", ["person_id"])
    op.create_table(
        "key_cases",
        sa.Column("key_id", sa.Integer, sa.ForeignKey("api_keys.id"), primary_key=True),
        sa.Column("case_id", sa.String(36), primary_key=True),
    )


def downgrade() -> None:
    # Without expiry, scope or person a key would widen: those keys (sign-in keys among them, and
    # those of disabled people) are revoked.
    op.execute(
        "UPDATE api_keys SET revoked_at = CURRENT_TIMESTAMP WHERE revoked_at IS NULL AND "
        "(expires_at IS NOT NULL OR id IN (SELECT key_id FROM key_cases)"
        " OR person_id IN (SELECT id FROM people WHERE disabled_at IS NOT NULL))"
    )
    op.drop_table("key_cases")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_index("ix_api_keys_person_id")
        batch.drop_constraint("fk_api_keys_person_id", type_="foreignkey")
        batch.drop_column("expires_at")
        batch.drop_column("person_id")
    op.drop_table("people")
