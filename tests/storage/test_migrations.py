"""Migrations that carry data: what an archive held before an upgrade is filled in by it."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from storage.db import MIGRATIONS_DIR, make_engine, make_session_factory, upgrade_database
from storage.evidence import load_incident


def test_incidents_stored_before_0009_cover_what_their_precision_leaves_open(database_url: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    command.downgrade(config, "0008")
    engine = make_engine(database_url)
    stored = datetime(2019, 11, 16, 14, 0)
    if engine.dialect.name != "sqlite":
        stored = stored.replace(tzinfo=UTC)
    with engine.begin() as connection:
        for incident_id, precision in (("to-the-hour", "hour"), ("to-the-day", "day"), ("exact", "exact")):
            connection.execute(
                text(
                    "INSERT INTO incidents (id, title, description, starts_at, time_precision, tags, version,"
                    " created_by, created_at, updated_at)"
                    " VALUES (:id, 't', '', :at, :precision, '[]', 1, 'a', :at, :at)"
                ),
                {"id": incident_id, "at": stored, "precision": precision},
            )
    engine.dispose()
    upgrade_database(database_url)
    sessions = make_session_factory(make_engine(database_url))
    with sessions() as session:
        until = {i: load_incident(session, i).covers_until for i in ("to-the-hour", "to-the-day", "exact")}
    start = datetime(2019, 11, 16, 14, 0, tzinfo=UTC)
    assert until == {
        "to-the-hour": datetime(2019, 11, 16, 15, 0, tzinfo=UTC),
        "to-the-day": datetime(2019, 11, 17, 14, 0, tzinfo=UTC),
        "exact": start,
    }
