"""The history of incidents and cases on both databases: every change is an entry written with it,
the chain verifies, the database and the ORM refuse to change it, and tampering shows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from storage.chain import ChainCheck
from storage.db import make_engine, make_session_factory
from storage.evidence import IncidentFields, create_incident, delete_incident, load_incident, update_incident
from storage.history import list_entries, load_history
from tests.helpers.chains import tamper

STARTS_AT = datetime(2019, 11, 16, 10, 30, tzinfo=UTC)


@pytest.fixture
def sessions(database_url: str) -> sessionmaker[Session]:
    return make_session_factory(make_engine(database_url))


def new_incident(sessions: sessionmaker[Session]) -> str:
    with sessions.begin() as session:
        fields = IncidentFields("Shooting", "", STARTS_AT, None, "hour", "Sadeghieh square", 35.72, 51.33, 1000, [])
        return create_incident(session, fields, "field-team").id


def incident_with_changes(sessions: sessionmaker[Session], count: int) -> str:
    incident_id = new_incident(sessions)
    for version in range(1, count + 1):
        with sessions.begin() as session:
            update_incident(session, incident_id, {"radius_m": 1000 - version}, (version,), "analyst-mina")
    return incident_id


def check(sessions: sessionmaker[Session], incident_id: str) -> ChainCheck:
    with sessions() as session:
        return load_history(session, "incident", incident_id).check


def test_created_changed_and_deleted_incident_has_a_chain_that_verifies(sessions: sessionmaker[Session]) -> None:
    incident_id = incident_with_changes(sessions, 1)
    with sessions.begin() as session:
        delete_incident(session, incident_id, (2,), "field-team")
    with sessions() as session:
        history = load_history(session, "incident", incident_id)
    entries = history.entries
    assert [(e.seq, e.action, e.actor) for e in entries] == [
        (0, "created", "field-team"),
        (1, "updated", "analyst-mina"),
        (2, "deleted", "field-team"),
    ]
    assert entries[0].prev_hash == "0" * 64
    assert entries[1].prev_hash == entries[0].hash and entries[2].prev_hash == entries[1].hash
    assert history.deleted and history.check.verified


def test_an_update_keeps_only_the_changed_fields_before_and_after(sessions: sessionmaker[Session]) -> None:
    incident_id = new_incident(sessions)
    with sessions.begin() as session:
        changes = {"starts_at": datetime(2019, 11, 16, 14, 0, tzinfo=UTC), "place_name": None, "title": "Shooting"}
        update_incident(session, incident_id, changes, (1,), "analyst-mina")
    with sessions() as session:
        updated = list_entries(session, "incident", incident_id)[-1]
    assert updated.details == (
        '{"after":{"place_name":null,"starts_at":"2019-11-16T14:00:00Z"},'
        '"before":{"place_name":"Sadeghieh square","starts_at":"2019-11-16T10:30:00Z"},"version":2}'
    )


def test_database_refuses_to_update_or_delete_an_entry(database_url: str, sessions: sessionmaker[Session]) -> None:
    incident_id = incident_with_changes(sessions, 1)
    engine = make_engine(database_url)
    for statement in ("UPDATE history_entries SET actor = 'mallory'", "DELETE FROM history_entries"):
        with pytest.raises(DBAPIError), engine.begin() as connection:
            connection.execute(text(statement))
    engine.dispose()
    assert check(sessions, incident_id).verified


def test_orm_refuses_to_update_an_entry(sessions: sessionmaker[Session]) -> None:
    incident_id = new_incident(sessions)
    with sessions() as session:
        entry = list_entries(session, "incident", incident_id)[0]
        entry.actor = "mallory"
        with pytest.raises(PermissionError):
            session.flush()


def test_altered_entry_breaks_the_chain_at_that_entry(database_url: str, sessions: sessionmaker[Session]) -> None:
    incident_id = incident_with_changes(sessions, 3)
    tamper(database_url, "UPDATE history_entries SET details = replace(details, '997', '500') WHERE seq = 3")
    found = check(sessions, incident_id)
    assert (found.verified, found.first_bad_seq) == (False, 3)
    assert "altered" in (found.reason or "")


def test_removed_entry_breaks_the_chain(database_url: str, sessions: sessionmaker[Session]) -> None:
    incident_id = incident_with_changes(sessions, 3)
    tamper(database_url, "DELETE FROM history_entries WHERE seq = 1")
    found = check(sessions, incident_id)
    assert (found.verified, found.first_bad_seq) == (False, 1)


def test_a_change_whose_entry_cannot_be_written_does_not_land(
    database_url: str, sessions: sessionmaker[Session]
) -> None:
    incident_id = new_incident(sessions)
    engine = make_engine(database_url)
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(
                text(
                    "CREATE FUNCTION refuse_entries() RETURNS trigger AS $$ "
                    "BEGIN RAISE EXCEPTION 'no entries today'; END; $$ LANGUAGE plpgsql"
                )
            )
            connection.execute(
                text(
                    "CREATE TRIGGER refuse_entries BEFORE INSERT ON history_entries "
                    "FOR EACH ROW EXECUTE FUNCTION refuse_entries()"
                )
            )
        else:
            connection.execute(
                text(
                    "CREATE TRIGGER refuse_entries BEFORE INSERT ON history_entries "
                    "BEGIN SELECT RAISE(ABORT, 'no entries today'); END"
                )
            )
    engine.dispose()
    with pytest.raises(DBAPIError), sessions.begin() as session:
        update_incident(session, incident_id, {"title": "Shooting at the square"}, (1,), "mallory")
    with sessions() as session:
        incident = load_incident(session, incident_id)
        assert (incident.title, incident.version) == ("Shooting", 1)
        assert [e.action for e in list_entries(session, "incident", incident_id)] == ["created"]
