"""Migration 0020: an archive from before case access keeps working as it was (every acquisition
archive-wide, so every key sees what it saw); going back down revokes the keys of people who
could only see cases, since without memberships they would see nothing."""

from __future__ import annotations

from sqlalchemy import inspect, select

from storage.access import clips_in_cases, scope_of
from storage.db import make_engine, make_session_factory, upgrade_database
from storage.keys import authenticate, hash_secret
from storage.models import Acquisition
from tests.helpers.migrations import downgrade_database, execute_as_before, insert_old_clip

SECRET = "vrt_made-before-case-access"


def test_an_archive_from_before_0020_keeps_its_acquisitions_archive_wide(database_url: str) -> None:
    downgrade_database(database_url, "0019")
    insert_old_clip(database_url)
    execute_as_before(
        database_url,
        "INSERT INTO acquisitions (clip_id, received_at, received_by, filename, source)"
        " VALUES ('old', :at, 'field-team', 'f', 'a witness')",
    )
    execute_as_before(database_url, "INSERT INTO people (name, role, created_at) VALUES ('field-team', 'viewer', :at)")
    execute_as_before(
        database_url,
        "INSERT INTO api_keys (name, role, key_hash, created_at, person_id)"
        " VALUES ('field-team', 'viewer', :h, :at, (SELECT id FROM people WHERE name = 'field-team'))",
        h=hash_secret(SECRET),
    )
    upgrade_database(database_url)
    engine = make_engine(database_url)
    with make_session_factory(engine)() as session:
        acquisition = session.scalars(select(Acquisition)).one()
        assert acquisition.case_id is None
        scope = scope_of(session, authenticate(session, SECRET))
        assert scope.archive_wide and scope.archive is not None and scope.archive.role == "viewer"
        assert list(session.scalars(clips_in_cases(["any"]))) == []
    engine.dispose()
    downgrade_database(database_url, "0019")
    engine = make_engine(database_url)
    assert "case_members" not in inspect(engine).get_table_names()
    assert "case_id" not in {column["name"] for column in inspect(engine).get_columns("acquisitions")}
    engine.dispose()


def test_going_back_below_0020_revokes_the_keys_of_people_without_an_archive_wide_role(database_url: str) -> None:
    upgrade_database(database_url)
    execute_as_before(database_url, "INSERT INTO people (name, role, created_at) VALUES ('guest', 'none', :at)")
    execute_as_before(
        database_url,
        "INSERT INTO api_keys (name, role, key_hash, created_at, person_id)"
        " VALUES ('guest-key', 'viewer', :h, :at, (SELECT id FROM people WHERE name = 'guest'))",
        h=hash_secret(SECRET),
    )
    downgrade_database(database_url, "0019")
    engine = make_engine(database_url)
    with engine.connect() as connection:
        revoked = connection.exec_driver_sql("SELECT revoked_at FROM api_keys WHERE name = 'guest-key'").scalar()
    assert revoked is not None
    engine.dispose()
