"""Migration 0017 adds the Content Credentials columns: clips analysed before it read as not read
until they are analysed again, and going back down removes the columns."""

from __future__ import annotations

from sqlalchemy import inspect

from storage.access import EVERYTHING
from storage.db import make_engine, make_session_factory, upgrade_database
from storage.models import Clip
from storage.search import ClipFilters, search_clips
from tests.helpers.migrations import downgrade_database, insert_old_clip

COLUMNS = {"content_credentials", "content_credentials_state", "content_credentials_report"}


def _clip_columns(database_url: str) -> set[str]:
    engine = make_engine(database_url)
    try:
        return {column["name"] for column in inspect(engine).get_columns("clips")}
    finally:
        engine.dispose()


def test_a_clip_analysed_before_0017_has_its_credentials_not_read(database_url: str) -> None:
    downgrade_database(database_url, "0014")
    assert not COLUMNS & _clip_columns(database_url)
    insert_old_clip(database_url)
    upgrade_database(database_url)
    assert _clip_columns(database_url) >= COLUMNS
    sessions = make_session_factory(make_engine(database_url))
    with sessions() as session:
        clip = session.get(Clip, "old")
        assert clip is not None
        assert clip.content_credentials is None and clip.content_credentials_state is None
        assert clip.content_credentials_report is None
        assert search_clips(session, ClipFilters(content_credentials_state="not_read"), 10, 0, scope=EVERYTHING)[0] == 1
        assert search_clips(session, ClipFilters(has_content_credentials=False), 10, 0, scope=EVERYTHING)[0] == 0
