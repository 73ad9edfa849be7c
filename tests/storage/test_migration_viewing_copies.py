"""Migration 0022: a clip archived before it has no viewing copy and `browser_playable` unknown
(null, until reprocessed); a copy can be recorded afterwards; it goes back down."""

from __future__ import annotations

from sqlalchemy import inspect

from storage.db import make_engine, make_session_factory, upgrade_database
from storage.models import Clip, ViewingCopy, utcnow
from tests.helpers.migrations import downgrade_database, insert_old_clip


def test_clips_archived_before_0022_are_undecided_and_it_downgrades(database_url: str) -> None:
    downgrade_database(database_url, "0021")
    insert_old_clip(database_url)
    upgrade_database(database_url)
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    with sessions() as session:
        clip = session.get_one(Clip, "old")
        assert clip.browser_playable is None and clip.viewing_copy is None
    with sessions.begin() as session:
        session.get_one(Clip, "old").browser_playable = False
        session.add(ViewingCopy(clip_id="old", needed_because="[]", failure="why", made_at=utcnow(), attempt=1))
    with sessions() as session:
        row = session.get_one(Clip, "old").viewing_copy
        assert row is not None and row.failure == "why" and row.blob_key is None
    engine.dispose()
    downgrade_database(database_url, "0021")
    engine = make_engine(database_url)
    columns = {column["name"] for column in inspect(engine).get_columns("clips")}
    assert "browser_playable" not in columns and not inspect(engine).has_table("viewing_copies")
    engine.dispose()
