"""Incidents keep the end of the time they cover, so a time filter honours their precision: an
incident at 14:00 to the hour covers 14:00–15:00, one to the day the whole day.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# As in storage/evidence.py at the time of writing; a migration keeps its own copy.
SPAN_S = {"exact": 0, "hour": 3600, "day": 86400, "approximate": 86400}


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("covers_until", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_incidents_covers_until", "incidents", ["covers_until"])
    bind = op.get_bind()
    naive = bind.dialect.name == "sqlite"  # Verity stores UTC without a zone there
    incidents = sa.table(
        "incidents",
        sa.column("id", sa.String),
        sa.column("starts_at", sa.DateTime(timezone=True)),
        sa.column("ends_at", sa.DateTime(timezone=True)),
        sa.column("time_precision", sa.String),
        sa.column("covers_until", sa.DateTime(timezone=True)),
    )
    columns = (incidents.c.id, incidents.c.starts_at, incidents.c.ends_at, incidents.c.time_precision)
    for incident_id, starts_at, ends_at, precision in list(bind.execute(sa.select(*columns))):
        until = ends_at or _plus(starts_at, SPAN_S.get(precision, 0))
        if naive and until.tzinfo is not None:
            until = until.astimezone(UTC).replace(tzinfo=None)
        bind.execute(incidents.update().where(incidents.c.id == incident_id).values(covers_until=until))


def _plus(moment: datetime, seconds: int) -> datetime:
    try:
        return datetime.fromtimestamp(moment.replace(tzinfo=moment.tzinfo or UTC).timestamp() + seconds, UTC)
    except (OverflowError, ValueError, OSError):
        return moment


def downgrade() -> None:
    op.drop_index("ix_incidents_covers_until", "incidents")
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("covers_until")
