"""Two investigators edit the same record from the same read, at the same time: on PostgreSQL,
where both transactions run at once, only the first edit lands and the second is a stale write.
(SQLite takes one writer at a time, so there the second always reads the first's result.)"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session, sessionmaker

from storage.cases import create_case, load_case, set_case_incident, update_case
from storage.custody import list_events
from storage.db import make_engine, make_session_factory
from storage.evidence import (
    IncidentFields,
    create_incident,
    delete_incident,
    link_clip,
    links_of,
    load_incident,
    load_link,
    unlink_clip,
    update_incident,
    update_link,
)
from storage.history import list_entries
from storage.models import Clip
from verity.errors import Conflict, NotFound, StaleWrite


@pytest.fixture
def sessions(postgres_url: str) -> sessionmaker[Session]:
    """PostgreSQL only: SQLite serialises writers, so two edits from one read cannot run at once there."""
    return make_session_factory(make_engine(postgres_url))


def incident_fields(title: str) -> IncidentFields:
    return IncidentFields(
        title, "", datetime(2019, 11, 16, 10, 30, tzinfo=UTC), None, "hour", None, None, None, None, []
    )


def race(
    sessions: sessionmaker[Session], read: Callable[[Session], object], edits: list[Callable[[Session], object]]
) -> None:
    """Both sessions read first, holding what they read as a request does until it writes; then
    the first edits and commits; then the second edits from its now stale read."""
    first, second = sessions(), sessions()
    held: list[object] = []
    try:
        held += [read(first), read(second)]
        edits[0](first)
        first.commit()
        with pytest.raises(StaleWrite):
            edits[1](second)
            second.commit()
    finally:
        held.clear()
        first.close()
        second.close()


def test_second_incident_edit_from_the_same_read_is_refused(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        incident_id = create_incident(session, incident_fields("Shooting"), "alice").id
    race(
        sessions,
        lambda s: load_incident(s, incident_id),
        [
            lambda s: update_incident(s, incident_id, {"title": "Shooting at the square"}, (1,), "alice"),
            lambda s: update_incident(s, incident_id, {"title": "Shooting on the bridge"}, (1,), "bob"),
        ],
    )
    with sessions() as session:
        incident = load_incident(session, incident_id)
        assert (incident.title, incident.version) == ("Shooting at the square", 2)
        entries = list_entries(session, "incident", incident_id)
        assert [(e.action, e.actor) for e in entries] == [("created", "alice"), ("updated", "alice")]


def test_second_case_edit_from_the_same_read_is_refused(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        case_id = create_case(session, "UN submission", "", "open", "alice").id
    race(
        sessions,
        lambda s: load_case(s, case_id),
        [
            lambda s: update_case(s, case_id, {"status": "closed"}, (1,), "alice"),
            lambda s: update_case(s, case_id, {"title": "Press briefing"}, (1,), "bob"),
        ],
    )
    with sessions() as session:
        case = load_case(session, case_id)
        assert (case.title, case.status, case.version) == ("UN submission", "closed", 2)
        entries = list_entries(session, "case", case_id)
        assert [(e.action, e.actor) for e in entries] == [("created", "alice"), ("closed", "alice")]


def test_second_link_edit_from_the_same_read_is_refused_and_leaves_no_custody_event(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        clip = Clip(sha256="cd" * 32, size_bytes=1, filename="f", blob_key="k", status="ready", uploaded_by="t")
        session.add(clip)
        session.flush()
        incident_id = create_incident(session, incident_fields("Shooting"), "alice").id
        link_id = link_clip(session, incident_id, clip.id, None, None, None, "alice").id
        clip_id = clip.id
    race(
        sessions,
        lambda s: load_link(s, incident_id, link_id),
        [
            lambda s: update_link(s, incident_id, link_id, {"note": "muzzle flash"}, (1,), "alice"),
            lambda s: unlink_clip(s, incident_id, link_id, (1,), "bob"),
        ],
    )
    with sessions() as session:
        link = load_link(session, incident_id, link_id)
        assert (link.note, link.unlinked_at, link.version) == ("muzzle flash", None, 2)
        assert [e.action for e in list_events(session, clip_id)] == ["linked", "link_changed"]


def concurrently(
    sessions: sessionmaker[Session],
    first: Callable[[Session], object],
    second: Callable[[Session], object],
    read_before: Callable[[Session], object] | None = None,
) -> BaseException | None:
    """`first` runs and holds its transaction open; `second` starts meanwhile in another session
    (which may have read first, as a request does) and must wait for it; then `first` commits.
    Returns what `second` raised, if anything."""
    one, other = sessions(), sessions()
    outcome: list[BaseException | None] = []

    def run_second() -> None:
        try:
            second(other)
            other.commit()
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 - the outcome is what the test looks at
            outcome.append(exc)

    try:
        if read_before is not None:
            read_before(other)
        first(one)
        racer = threading.Thread(target=run_second)
        racer.start()
        racer.join(timeout=1.0)
        assert racer.is_alive(), "the second did not wait for the first"
        one.commit()
        racer.join(timeout=30)
    finally:
        one.close()
        other.close()
    [result] = outcome
    return result


def test_the_same_segment_linked_twice_at_once_is_linked_once(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        clip = Clip(sha256="ef" * 32, size_bytes=1, filename="f", blob_key="k", status="ready", uploaded_by="t")
        clip.media = '{"duration_s": 10.0}'  # a segment needs the clip's duration
        session.add(clip)
        session.flush()
        incident_id, clip_id = create_incident(session, incident_fields("Shooting"), "alice").id, clip.id
    error = concurrently(
        sessions,
        lambda s: link_clip(s, incident_id, clip_id, 1.0, 2.0, None, "alice"),
        lambda s: link_clip(s, incident_id, clip_id, 1.0, 2.0, None, "bob"),
    )
    assert isinstance(error, Conflict) and "already linked" in error.detail
    with sessions() as session:
        assert len(links_of(session, incident_id, include_removed=True)) == 1


def test_two_incidents_added_to_a_case_at_once_are_both_added(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        case_id = create_case(session, "UN submission", "", "open", "alice").id
        incident_ids = [create_incident(session, incident_fields(title), "alice").id for title in ("A", "B")]
    error = concurrently(
        sessions,
        lambda s: set_case_incident(s, case_id, incident_ids[0], True, "alice"),
        lambda s: set_case_incident(s, case_id, incident_ids[1], True, "bob"),
        read_before=lambda s: load_case(s, case_id),
    )
    assert error is None
    with sessions() as session:
        case = load_case(session, case_id)
        assert sorted(link.incident_id for link in case.incident_links) == sorted(incident_ids)
        assert case.version == 3
        entries = list_entries(session, "case", case_id)
        assert [(e.action, e.actor) for e in entries] == [
            ("created", "alice"),
            ("incident_added", "alice"),
            ("incident_added", "bob"),
        ]


def test_an_incident_joining_a_case_while_it_is_deleted_is_not_deleted(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        case_id = create_case(session, "UN submission", "", "open", "alice").id
        incident_id = create_incident(session, incident_fields("Shooting"), "alice").id
    error = concurrently(
        sessions,
        lambda s: set_case_incident(s, case_id, incident_id, True, "alice"),
        lambda s: delete_incident(s, incident_id, (1,), "bob"),
    )
    assert isinstance(error, Conflict) and "belongs to a case" in error.detail
    with sessions() as session:
        assert [link.incident_id for link in load_case(session, case_id).incident_links] == [incident_id]


def test_an_incident_deleted_while_it_would_join_a_case_is_reported_gone(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        case_id = create_case(session, "UN submission", "", "open", "alice").id
        incident_id = create_incident(session, incident_fields("Shooting"), "alice").id
    error = concurrently(
        sessions,
        lambda s: delete_incident(s, incident_id, (1,), "bob"),
        lambda s: set_case_incident(s, case_id, incident_id, True, "alice"),
    )
    assert isinstance(error, NotFound)
    with sessions() as session:
        assert load_case(session, case_id).incident_links == []
