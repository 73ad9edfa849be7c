"""What the media says, truthfully: the span a recorded time stands for (a time written with no
zone could be under any zone from UTC−12 to UTC+14), and the clip's integrity (declared against
decoded duration and frames, decode errors, warnings).

Existing clips get their recorded span from the creation time already in `media`; their integrity
stays null until they are analysed again.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01
"""

import json
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

clips = sa.table(
    "clips",
    sa.column("id", sa.String),
    sa.column("media", sa.Text),
    sa.column("recorded_earliest", sa.DateTime(timezone=True)),
    sa.column("recorded_latest", sa.DateTime(timezone=True)),
    sa.column("recorded_sort_at", sa.DateTime(timezone=True)),
)


def _span(text: str) -> tuple[datetime, datetime, datetime] | None:
    # The rule as storage/recorded.py has it at this revision.
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC)
            return moment, moment, moment
        wall = moment.replace(tzinfo=UTC)
        return wall - timedelta(hours=14), wall + timedelta(hours=12), wall
    except (ValueError, OverflowError):
        return None


def upgrade() -> None:
    with op.batch_alter_table("clips") as batch:
        batch.add_column(sa.Column("recorded_earliest", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("recorded_latest", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("recorded_sort_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("integrity", sa.Text, nullable=True))
        batch.add_column(sa.Column("integrity_warnings", sa.Integer, nullable=True))
    op.create_index("ix_clips_recorded_span", "clips", ["recorded_earliest", "recorded_latest"])
    op.create_index("ix_clips_recorded_sort_at", "clips", ["recorded_sort_at"])
    op.create_index("ix_clips_integrity_warnings", "clips", ["integrity_warnings"])

    bind = op.get_bind()
    naive = bind.dialect.name == "sqlite"  # stored as naive UTC there, as UTCDateTime does
    rows = bind.execute(sa.select(clips.c.id, clips.c.media).where(clips.c.media.is_not(None))).all()
    for clip_id, media in rows:
        created = (json.loads(media).get("creation_time") or {}) if media else {}
        text = created.get("container") or created.get("stream")
        span = _span(text) if text else None
        if span is None:
            continue
        earliest, latest, sort_at = (value.replace(tzinfo=None) if naive else value for value in span)
        bind.execute(
            clips.update()
            .where(clips.c.id == clip_id)
            .values(recorded_earliest=earliest, recorded_latest=latest, recorded_sort_at=sort_at)
        )


def downgrade() -> None:
    op.drop_index("ix_clips_integrity_warnings", "clips")
    op.drop_index("ix_clips_recorded_sort_at", "clips")
    op.drop_index("ix_clips_recorded_span", "clips")
    with op.batch_alter_table("clips") as batch:
        for column in ("integrity_warnings", "integrity", "recorded_sort_at", "recorded_latest", "recorded_earliest"):
            batch.drop_column(column)
