"""Sound as a second matching signal: each clip's Chromaprint values (`audio_fingerprints`, one
row per clip with an audio track), and what each near-duplicate was found by
(`clip_relations.signals`, a JSON list of "picture" and "audio"; the relations found before
were all found by their pictures).

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0026"
# 0025 (an index on clips, branch page-speed) is not on main yet: the merge puts 0026 after it.
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audio_fingerprints",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("clip_id", sa.String(36), sa.ForeignKey("clips.id"), nullable=False, unique=True),
        sa.Column("algorithm", sa.Integer, nullable=False),
        sa.Column("start_s", sa.Float, nullable=False),
        sa.Column("step_s", sa.Float, nullable=False),
        sa.Column("value_count", sa.Integer, nullable=False),
        sa.Column("values", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("clip_relations") as batch:
        batch.add_column(sa.Column("signals", sa.String(40), nullable=False, server_default='["picture"]'))


def downgrade() -> None:
    with op.batch_alter_table("clip_relations") as batch:
        batch.drop_column("signals")
    op.drop_table("audio_fingerprints")
