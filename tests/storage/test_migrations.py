"""Migrations that carry data: what an archive held before an upgrade is filled in by it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from storage.db import make_engine, make_session_factory, upgrade_database
from storage.evidence import load_incident
from tests.helpers.migrations import downgrade_database


def test_incidents_stored_before_0009_cover_what_their_precision_leaves_open(database_url: str) -> None:
    downgrade_database(database_url, "0008")
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


def test_0010_adds_the_history_table_and_takes_it_away_again(database_url: str) -> None:
    engine = make_engine(database_url)
    downgrade_database(database_url, "0009")
    assert "history_entries" not in inspect(engine).get_table_names()
    upgrade_database(database_url)
    assert "history_entries" in inspect(engine).get_table_names()
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO history_entries (entity_kind, entity_id, seq, action, actor, occurred_at, details,"
                " prev_hash, hash) VALUES ('case', 'c', 0, 'created', 'a', :at, '{}', :zero, :zero)"
            ),
            {"at": datetime(2019, 11, 16, 14, 0, tzinfo=UTC), "zero": "0" * 64},
        )
    with pytest.raises(DBAPIError), engine.begin() as connection:
        connection.execute(text("UPDATE history_entries SET actor = 'mallory'"))
    engine.dispose()


def test_0013_adds_the_acquisition_corrections_table_and_takes_it_away_again(database_url: str) -> None:
    engine = make_engine(database_url)
    downgrade_database(database_url, "0011")
    assert "acquisition_corrections" not in inspect(engine).get_table_names()
    upgrade_database(database_url)
    assert "acquisition_corrections" in inspect(engine).get_table_names()
    engine.dispose()


def test_0015_adds_the_timestamp_tables_and_takes_them_away_again(database_url: str) -> None:
    engine = make_engine(database_url)
    tables = {"timestamp_tokens", "clip_timestamps", "anchors", "anchor_inclusions", "periodic_runs"}
    downgrade_database(database_url, "0014")
    assert not tables & set(inspect(engine).get_table_names())
    upgrade_database(database_url)
    assert tables <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_0024_adds_the_declared_digest_of_uploads_and_takes_it_away_again(database_url: str) -> None:
    engine = make_engine(database_url)
    downgrade_database(database_url, "0023")
    assert "sha256" not in {column["name"] for column in inspect(engine).get_columns("uploads")}
    upgrade_database(database_url)
    assert "sha256" in {column["name"] for column in inspect(engine).get_columns("uploads")}
    assert "ix_uploads_created_by_sha256" in {index["name"] for index in inspect(engine).get_indexes("uploads")}
    engine.dispose()


def test_0025_adds_the_index_of_the_clip_list_order_and_takes_it_away_again(database_url: str) -> None:
    engine = make_engine(database_url)
    downgrade_database(database_url, "0024")
    assert "ix_clips_created_at_id" not in {index["name"] for index in inspect(engine).get_indexes("clips")}
    upgrade_database(database_url)
    created = {index["name"]: index for index in inspect(engine).get_indexes("clips")}
    assert created["ix_clips_created_at_id"]["column_names"] == ["created_at", "id"]
    downgrade_database(database_url, "0024")
    assert "ix_clips_created_at_id" not in {index["name"] for index in inspect(engine).get_indexes("clips")}
    upgrade_database(database_url)
    engine.dispose()
