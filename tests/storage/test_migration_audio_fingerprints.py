"""Migration 0026: the table of sound fingerprints comes, and each near-duplicate says what it was
found by; the relations found before are said to be found by their pictures. Both go again going
back down."""

from __future__ import annotations

from sqlalchemy import inspect, text

from storage.db import make_engine, upgrade_database
from tests.helpers.migrations import downgrade_database, execute_as_before

BEFORE = "0025"
CLIP = (
    "INSERT INTO clips (id, sha256, size_bytes, filename, blob_key, status, created_at, uploaded_by,"
    " verification_status) VALUES (:id, :sha, 1, 'f', 'k', 'ready', :at, 'a', 'unverified')"
)
RELATION = (
    "INSERT INTO clip_relations (clip_id, related_clip_id, score, matched_seconds, mirrored, segments, found_at)"
    " VALUES ('b', 'a', 1.0, 4.0, false, '[]', :at)"
)


def test_0026_adds_sound_fingerprints_and_the_signals_of_relations_and_takes_them_away_again(
    database_url: str,
) -> None:
    engine = make_engine(database_url)
    downgrade_database(database_url, BEFORE)
    assert "audio_fingerprints" not in inspect(engine).get_table_names()
    assert "signals" not in {column["name"] for column in inspect(engine).get_columns("clip_relations")}
    for clip_id, digit in (("a", "1"), ("b", "2")):
        execute_as_before(database_url, CLIP, id=clip_id, sha=digit * 64)
    execute_as_before(database_url, RELATION)
    upgrade_database(database_url)
    assert "audio_fingerprints" in inspect(engine).get_table_names()
    with engine.connect() as connection:
        assert connection.execute(text("SELECT signals FROM clip_relations")).scalar_one() == '["picture"]'
    downgrade_database(database_url, BEFORE)
    assert "audio_fingerprints" not in inspect(engine).get_table_names()
    assert "signals" not in {column["name"] for column in inspect(engine).get_columns("clip_relations")}
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM clip_relations")).scalar_one() == 1
    upgrade_database(database_url)
    assert "audio_fingerprints" in inspect(engine).get_table_names()
    engine.dispose()
