"""Viewing copies: whether a browser plays a clip's original as it is (`clips.browser_playable`),
and for one it cannot, the H.264/AAC MP4 derivative made to watch it (`viewing_copies`: its blob,
own SHA-256, size and codecs, or why making it failed).

Clips analysed before this keep null: the rule is decided again when a clip is reprocessed.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("clips") as batch:
        batch.add_column(sa.Column("browser_playable", sa.Boolean, nullable=True))
    op.create_table(
        "viewing_copies",
        sa.Column("clip_id", sa.String(36), sa.ForeignKey("clips.id"), primary_key=True),
        sa.Column("needed_because", sa.Text, nullable=False),
        sa.Column("blob_key", sa.String(255), nullable=True),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("size_bytes", sa.BigInteger, nullable=True),
        sa.Column("content_type", sa.String(100), nullable=True),
        sa.Column("video_codec", sa.String(50), nullable=True),
        sa.Column("audio_codec", sa.String(50), nullable=True),
        sa.Column("width", sa.Integer, nullable=True),
        sa.Column("height", sa.Integer, nullable=True),
        sa.Column("failure", sa.Text, nullable=True),
        sa.Column("made_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("viewing_copies")
    # ALTER TABLE … DROP COLUMN in place (SQLite ≥ 3.35): recreating `clips` the batch way would drop
    # a table that acquisitions, custody and the rest still refer to, which foreign keys refuse.
    with op.batch_alter_table("clips", recreate="never") as batch:
        batch.drop_column("browser_playable")
