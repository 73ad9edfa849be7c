"""Migration 0016: clips archived before it start `unchecked`, with no fixity run; it goes back down."""

from __future__ import annotations

from sqlalchemy import inspect

from storage.db import make_engine, make_session_factory, upgrade_database
from storage.models import Clip, FixityRun
from tests.helpers.migrations import downgrade_database, insert_old_clip


def test_clips_archived_before_0016_are_unchecked_and_it_downgrades(database_url: str) -> None:
    downgrade_database(database_url, "0014")
    insert_old_clip(database_url)
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
