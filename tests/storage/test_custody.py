"""The custody chain on both databases: it verifies, and any tampering shows."""

from __future__ import annotations

import hashlib
import threading
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from storage.chain import GENESIS_HASH, link_hash
from storage.custody import append_event, list_events, read_events, verify_chain
from storage.db import make_engine, make_session_factory
from storage.models import Acquisition, Clip, CustodyEvent
from tests.helpers.backends import postgresql_only
from tests.helpers.chains import tamper_table


def make_clip_with_events(database_url: str, count: int) -> str:
    sessions = make_session_factory(make_engine(database_url))
    with sessions.begin() as session:
        clip = Clip(sha256="ab" * 32, size_bytes=1, filename="f", blob_key="k", status="stored", uploaded_by="t")
        session.add(clip)
        session.flush()
        for index in range(count):
            append_event(session, clip.id, "noted", "tester", {"n": index, "text": "ünïcode"})
        return clip.id


def load_check(database_url: str, clip_id: str):  # type: ignore[no-untyped-def]
    sessions = make_session_factory(make_engine(database_url))
    with sessions() as session:
        return verify_chain(list_events(session, clip_id))


def test_a_link_hashes_the_previous_hash_and_its_canonical_json_as_documented() -> None:
    """A known answer, worked out by hand as an outside verifier would (docs/design.md): the
    format may not drift with the code that writes it."""
    body = {"seq": 0, "clip_id": "c1", "action": "noted", "actor": "t", "occurred_at": "2026-01-02T03:04:05.000006Z"}
    body["details"] = '{"text":"ünïcode"}'
    text = (
        '{"action":"noted","actor":"t","clip_id":"c1","details":"{\\"text\\":\\"ünïcode\\"}",'
        '"occurred_at":"2026-01-02T03:04:05.000006Z","seq":0}'
    )
    assert link_hash(GENESIS_HASH, body) == hashlib.sha256(bytes(32) + text.encode()).hexdigest()


def test_stored_events_read_for_a_check_are_the_mapped_rows_values(database_url: str) -> None:
    clip_id = make_clip_with_events(database_url, 3)
    names = ("id", "clip_id", "seq", "action", "actor", "occurred_at", "details", "prev_hash", "hash")
    with make_session_factory(make_engine(database_url))() as session:
        mapped = [tuple(getattr(e, name) for name in names) for e in list_events(session, clip_id)]
        events = read_events(session, clip_id)
    stored = [tuple(getattr(e, name) for name in names) for e in events]
    assert stored == mapped and len(stored) == 3
    assert verify_chain(events).verified


def test_chain_of_stored_events_verifies(database_url: str) -> None:
    clip_id = make_clip_with_events(database_url, 5)
    check = load_check(database_url, clip_id)
    assert check.verified and check.first_bad_seq is None


def test_an_event_stored_by_earlier_versions_still_verifies() -> None:
    # The hash as the first custody code computed it: archived chains must keep verifying
    # whatever the hashing code is reorganised into.
    stored = CustodyEvent(
        clip_id="6f1c3d2e-8a4b-4f0e-9a51-0d7f3c1b2a99",
        seq=0,
        action="uploaded",
        actor="field-team",
        occurred_at=datetime(2019, 11, 18, 9, 12, 44, 123456, tzinfo=UTC),
        details='{"filename":"VID_0001.mp4","note":"ünïcode"}',
        prev_hash="0" * 64,
        hash="3e90cfbf5284b90508935a90ccf029460f3f531c0b28baba8b454a4ae3a0c103",
    )
    assert verify_chain([stored]).verified


def test_each_event_links_to_the_previous_hash(database_url: str) -> None:
    clip_id = make_clip_with_events(database_url, 3)
    with make_session_factory(make_engine(database_url))() as session:
        events = list_events(session, clip_id)
    assert [e.seq for e in events] == [0, 1, 2]
    assert events[0].prev_hash == "0" * 64
    assert events[1].prev_hash == events[0].hash and events[2].prev_hash == events[1].hash


def test_database_refuses_to_update_or_delete_an_event(database_url: str) -> None:
    clip_id = make_clip_with_events(database_url, 2)
    engine = make_engine(database_url)
    for statement in ("UPDATE custody_events SET actor = 'mallory'", "DELETE FROM custody_events"):
        with pytest.raises(DBAPIError), engine.begin() as connection:
            connection.execute(text(statement))
    assert load_check(database_url, clip_id).verified


def test_database_refuses_to_empty_or_replace_events_wholesale(database_url: str) -> None:
    clip_id = make_clip_with_events(database_url, 2)
    engine = make_engine(database_url)
    if engine.dialect.name == "postgresql":
        statements = ["TRUNCATE custody_events", "TRUNCATE history_entries"]
    else:  # a REPLACE deletes the row it replaces
        statements = ["INSERT OR REPLACE INTO custody_events SELECT * FROM custody_events WHERE seq = 1"]
    for statement in statements:
        with pytest.raises(DBAPIError), engine.begin() as connection:
            connection.execute(text(statement))
    engine.dispose()
    assert load_check(database_url, clip_id).verified


def test_orm_refuses_to_update_an_event(database_url: str) -> None:
    clip_id = make_clip_with_events(database_url, 1)
    with make_session_factory(make_engine(database_url))() as session:
        event = list_events(session, clip_id)[0]
        event.actor = "mallory"
        with pytest.raises(PermissionError):
            session.flush()


def test_altered_event_breaks_the_chain_at_that_event(database_url: str) -> None:
    clip_id = make_clip_with_events(database_url, 4)
    tamper_table(database_url, "UPDATE custody_events SET details = replace(details, 'n', 'm') WHERE seq = 2")
    check = load_check(database_url, clip_id)
    assert not check.verified
    assert check.first_bad_seq == 2
    assert "altered" in (check.reason or "")


def test_deleted_event_breaks_the_chain(database_url: str) -> None:
    clip_id = make_clip_with_events(database_url, 4)
    tamper_table(database_url, "DELETE FROM custody_events WHERE seq = 1")
    check = load_check(database_url, clip_id)
    assert not check.verified and check.first_bad_seq == 1


def test_rehashed_forgery_still_breaks_the_following_link(database_url: str) -> None:
    clip_id = make_clip_with_events(database_url, 3)
    # A forger who rewrites event 1 and its own hash still cannot make event 2 point at it.
    tamper_table(database_url, "UPDATE custody_events SET actor = 'mallory', hash = '" + "1" * 64 + "' WHERE seq = 1")
    check = load_check(database_url, clip_id)
    assert not check.verified and check.first_bad_seq == 1


@postgresql_only
def test_appending_beside_a_transaction_that_added_a_row_for_the_clip_does_not_deadlock(database_url: str) -> None:
    clip_id = make_clip_with_events(database_url, 1)
    sessions = make_session_factory(make_engine(database_url))
    analysis, upload = sessions(), sessions()
    outcome: list[BaseException | None] = []

    def record_a_second_acquisition() -> None:  # as an upload of the same bytes does
        try:
            upload.add(Acquisition(clip_id=clip_id, received_by="second-key", filename="again.mp4"))
            upload.flush()  # refers to the clip: a key-share lock on its row
            ready.set()
            append_event(upload, clip_id, "acquired_duplicate", "second-key")
            upload.commit()
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 - the outcome is what the test looks at
            outcome.append(exc)

    ready = threading.Event()
    try:
        analysis.get_one(Clip, clip_id).status = "processing"  # as the clip's analysis does
        analysis.flush()
        racer = threading.Thread(target=record_a_second_acquisition)
        racer.start()
        assert ready.wait(10)
        time.sleep(0.3)  # the upload now waits for the analysis to append
        append_event(analysis, clip_id, "probed", "verity-ingest")
        analysis.commit()
        racer.join(timeout=30)
    finally:
        analysis.close()
        upload.close()
    assert outcome == [None]
    with sessions() as session:
        assert [e.action for e in list_events(session, clip_id)] == ["noted", "probed", "acquired_duplicate"]
    assert load_check(database_url, clip_id).verified
