"""Migration 0023: the table of decisions on suggested copies comes, holds one row per ordered
pair, and goes again (with its rows) going back down."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError

from storage.db import make_engine, upgrade_database
from tests.helpers.migrations import downgrade_database, execute_as_before

BEFORE = "0022"
CLIP = (
    "INSERT INTO clips (id, sha256, size_bytes, filename, blob_key, status, created_at, uploaded_by,"
    " verification_status) VALUES (:id, :sha, 1, 'f', 'k', 'ready', :at, 'a', 'unverified')"
)
DECISION = (
    "INSERT INTO match_decisions (clip_id, other_clip_id, decision, note, decided_by, decided_at)"
    " VALUES (:low, :high, 'confirmed', 'same', 'analyst', :at)"
)


def test_0023_adds_the_match_decisions_table_and_takes_it_away_again(database_url: str) -> None:
    engine = make_engine(database_url)
    downgrade_database(database_url, BEFORE)
    assert "match_decisions" not in inspect(engine).get_table_names()
    for clip_id, digit in (("a", "1"), ("b", "2")):
        execute_as_before(database_url, CLIP, id=clip_id, sha=digit * 64)
    upgrade_database(database_url)
    assert "match_decisions" in inspect(engine).get_table_names()
    execute_as_before(database_url, DECISION, low="a", high="b")
    # One row per pair, the lower id first: neither the same pair again nor the other order is stored.
    for low, high in (("a", "b"), ("b", "a")):
        with pytest.raises(IntegrityError):
            execute_as_before(database_url, DECISION, low=low, high=high)
    downgrade_database(database_url, BEFORE)
    assert "match_decisions" not in inspect(engine).get_table_names()
    upgrade_database(database_url)
    assert "match_decisions" in inspect(engine).get_table_names()
    engine.dispose()
