"""Migration 0016: clips archived before it start `unchecked`, with no fixity run; it goes back down."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import inspect, text

from storage.db import make_engine, make_session_factory, upgrade_database
from storage.models import Clip, FixityRun
from tests.helpers.migrations import downgrade_database


def test_clips_archived_before_0016_are_unchecked_and_it_downgrades(database_url: str) -> None:
    downgrade_database(database_url, "0014")
    engine = make_engine(database_url)
    stored = datetime(2026, 11, 30, 9, 0)
    if engine.dialect.name != "sqlite":
        stored = stored.replace(tzinfo=UTC)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO clips (id, sha256, size_bytes, filename, blob_key, status, created_at, uploaded_by,"
                " verification_status) VALUES ('old', :sha, 1, 'f', 'k', 'ready', :at, 'a', 'unverified')"
            ),
            {"sha": "0" * 64, "at": stored},
        )
    engine.dispose()
    upgrade_database(database_url)
    sessions = make_session_factory(make_engine(database_url))
    with sessions() as session:
        clip = session.get_one(Clip, "old")
        assert (clip.fixity_status, clip.fixity_checked_at) == ("unchecked", None)
        assert session.query(FixityRun).count() == 0
    downgrade_database(database_url, "0014")
    engine = make_engine(database_url)
    columns = {column["name"] for column in inspect(engine).get_columns("clips")}
    assert "fixity_status" not in columns and not inspect(engine).has_table("fixity_runs")
    engine.dispose()
