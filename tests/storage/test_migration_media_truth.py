"""Migration 0014 fills the recorded span of clips probed before it, from the time in `media`."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import text

from storage.db import make_engine, make_session_factory, upgrade_database
from storage.models import Clip
from tests.helpers.migrations import downgrade_database


def test_clips_probed_before_0014_get_the_span_of_their_recorded_time(database_url: str) -> None:
    downgrade_database(database_url, "0011")
    engine = make_engine(database_url)
    stored = datetime(2026, 11, 30, 9, 0)
    if engine.dialect.name != "sqlite":
        stored = stored.replace(tzinfo=UTC)
    times = {"zoneless": "2012-09-10T20:52:00", "zoned": "2019-11-16T14:15:00Z", "none": None}
    with engine.begin() as connection:
        for clip_id, created in times.items():
            connection.execute(
                text(
                    "INSERT INTO clips (id, sha256, size_bytes, filename, blob_key, status, created_at, uploaded_by,"
                    " verification_status, media) VALUES (:id, :sha, 1, 'f', 'k', 'ready', :at, 'a', 'unverified',"
                    " :media)"
                ),
                {
                    "id": clip_id,
                    "sha": clip_id.ljust(64, "0"),
                    "at": stored,
                    "media": json.dumps({"creation_time": {"container": created, "stream": None}}),
                },
            )
    engine.dispose()
    upgrade_database(database_url)
    sessions = make_session_factory(make_engine(database_url))
    with sessions() as session:
        spans = {
            c.id: (c.recorded_earliest, c.recorded_latest, c.recorded_sort_at, c.integrity)
            for c in session.query(Clip).all()
        }
    zoned = datetime(2019, 11, 16, 14, 15, tzinfo=UTC)
    assert spans == {
        "zoneless": (
            datetime(2012, 9, 10, 6, 52, tzinfo=UTC),
            datetime(2012, 9, 11, 8, 52, tzinfo=UTC),
            datetime(2012, 9, 10, 20, 52, tzinfo=UTC),
            None,
        ),
        "zoned": (zoned, zoned, zoned, None),
        "none": (None, None, None, None),
    }
