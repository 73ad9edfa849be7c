"""Anchoring chain heads against the loopback TSA: many chains under one stamp, each proof leading
to the stamped root, only moved chains anchored again, and a chain cut back after its head was
anchored reported broken by its check (custody and history), naming the anchored link."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from api.app import create_app
from ingest.anchors import anchor_chains
from ingest.periodic import periodic_tasks
from storage.anchors import current_heads
from storage.archive import Archive
from storage.custody import append_event
from storage.models import Acquisition, AnchorInclusion, Clip, utcnow
from storage.periodic import claim_run
from tests.conftest import auth
from tests.helpers.api_calls import create_incident
from tests.helpers.chains import tamper, tamper_table
from tests.helpers.tsa import LoopbackTsa, openssl_verify, stamping
from verity.merkle import leaf_hash, root_from_proof
from verity.timestamp_tokens import verify_stored_token

CHAINS = 300


@pytest.fixture
def anchoring_client(archive: Archive, tsa: LoopbackTsa) -> Iterator[TestClient]:
    """The app over an archive stamping with the loopback TSA, whose scheduled tasks have just run
    (so the tests decide when to anchor, and the clips they add directly are not stamped)."""
    stamping(archive, tsa, timestamp_retry_initial_s=3600)
    for task in periodic_tasks(archive.settings):
        claim_run(archive.sessions, task.name, task.every_s(archive.settings), utcnow())
    with TestClient(create_app(archive=archive)) as test_client:
        yield test_client


def add_custody_chains(archive: Archive, count: int) -> list[str]:
    """`count` clips, each with a custody chain of two events."""
    clip_ids = []
    with archive.sessions.begin() as session:
        for number in range(count):
            clip = Clip(
                sha256=f"{number:064x}",
                size_bytes=1,
                filename=f"{number}.mp4",
                blob_key=f"originals/{number}",
                status="ready",
                uploaded_by="tester",
            )
            session.add(clip)
            session.flush()
            acquisition = Acquisition(clip_id=clip.id, received_by="tester", filename=clip.filename)
            session.add(acquisition)
            session.flush()
            receipt = {"sha256": clip.sha256, "size_bytes": 1, "acquisition_id": acquisition.id}
            append_event(session, clip.id, "uploaded", "tester", receipt)
            append_event(session, clip.id, "probed", "ingest", {})
            clip_ids.append(clip.id)
    return clip_ids


def test_many_chains_are_anchored_with_one_request_and_every_proof_leads_to_the_stamped_root(
    anchoring_client: TestClient, archive: Archive, keys: dict[str, str], tsa: LoopbackTsa, tmp_path: Path
) -> None:
    add_custody_chains(archive, CHAINS)
    incident_id, _etag = create_incident(anchoring_client, keys["analyst"])
    answer = anchoring_client.post("/api/v1/anchors", headers=auth(keys["admin"]))
    assert answer.status_code == 201, answer.text
    anchor = answer.json()
    assert tsa.requests == 1
    assert anchor["chain_count"] == CHAINS + 1
    with archive.sessions() as session:
        inclusions = list(session.scalars(select(AnchorInclusion).where(AnchorInclusion.anchor_id == anchor["id"])))
        heads = {(head.kind, head.chain_id): head for head in current_heads(session)}
    assert {(row.kind, row.chain_id) for row in inclusions} == set(heads)
    assert ("incident", incident_id) in heads
    for row in inclusions:
        head = heads[(row.kind, row.chain_id)]
        assert (row.length, row.head_hash) == (head.length, head.head_hash)
        leaf = leaf_hash(row.kind, row.chain_id, row.length, row.head_hash)
        assert root_from_proof(leaf, json.loads(row.proof)).hex() == anchor["root"]
    token = anchoring_client.get(f"/api/v1/anchors/{anchor['id']}/token", headers=auth(keys["viewer"]))
    assert token.headers["x-timestamp-digest"] == anchor["root"]
    assert openssl_verify(token.content, anchor["root"], tsa, tmp_path).returncode == 0
    checked = verify_stored_token(token.content, anchor["root"], tsa.certificates.ca_pem.read_bytes())
    assert checked.gen_time.isoformat().replace("+00:00", "Z") == anchor["time"]
    listed = anchoring_client.get("/api/v1/anchors", headers=auth(keys["viewer"])).json()
    assert [item["id"] for item in listed["items"]] == [anchor["id"]]


def test_only_chains_that_moved_are_anchored_again(archive: Archive, tsa: LoopbackTsa) -> None:
    stamping(archive, tsa)
    clip_ids = add_custody_chains(archive, 5)
    first = anchor_chains(archive)
    assert first is not None and first.chain_count == 5
    assert anchor_chains(archive) is None  # nothing moved: no request at all
    assert tsa.requests == 1
    with archive.sessions.begin() as session:
        append_event(session, clip_ids[2], "downloaded", "tester", {})
    second = anchor_chains(archive)
    assert second is not None and second.chain_count == 1
    with archive.sessions() as session:
        again = session.scalars(select(AnchorInclusion).where(AnchorInclusion.anchor_id == second.anchor_id)).one()
    assert (again.kind, again.chain_id, again.length) == ("custody", clip_ids[2], 3)
    assert tsa.requests == 2


def test_a_custody_chain_cut_back_after_its_head_was_anchored_is_reported_broken(
    anchoring_client: TestClient, archive: Archive, keys: dict[str, str]
) -> None:
    clip_id = add_custody_chains(archive, 1)[0]
    with archive.sessions.begin() as session:
        append_event(session, clip_id, "downloaded", "tester", {})
    assert anchoring_client.post("/api/v1/anchors", headers=auth(keys["admin"])).status_code == 201
    path = f"/api/v1/clips/{clip_id}/custody"
    before = anchoring_client.get(path, headers=auth(keys["viewer"])).json()
    assert before["verified"] is True, before
    anchored = before["anchored"]
    assert (anchored["length"], anchored["head_hash"]) == (3, before["events"][-1]["hash"])
    leaf = leaf_hash("custody", clip_id, 3, anchored["head_hash"])
    assert root_from_proof(leaf, anchored["proof"]).hex() == anchored["root"]
    # What the README warned of: the newest event removed, and what remains still links up.
    tamper_table(
        archive.settings.resolved_database_url(), f"DELETE FROM custody_events WHERE clip_id = '{clip_id}' AND seq = 2"
    )
    log = anchoring_client.get(path, headers=auth(keys["viewer"])).json()
    assert [event["seq"] for event in log["events"]] == [0, 1]
    assert log["verified"] is False
    assert log["first_bad_seq"] == 2
    assert log["reason"].startswith("event 2 (hash ")
    assert "is no longer in the chain" in log["reason"]


def test_an_incident_history_cut_back_after_its_head_was_anchored_is_reported_broken(
    anchoring_client: TestClient, archive: Archive, keys: dict[str, str]
) -> None:
    incident_id, etag = create_incident(anchoring_client, keys["analyst"])
    changed = anchoring_client.patch(
        f"/api/v1/incidents/{incident_id}",
        headers={**auth(keys["analyst"]), "If-Match": etag},
        json={"title": "Shooting at the square, north side"},
    )
    assert changed.status_code == 200, changed.text
    assert anchoring_client.post("/api/v1/anchors", headers=auth(keys["admin"])).status_code == 201
    tamper(
        archive.settings.resolved_database_url(),
        f"DELETE FROM history_entries WHERE entity_id = '{incident_id}' AND seq = 1",
    )
    history = anchoring_client.get(f"/api/v1/incidents/{incident_id}/history", headers=auth(keys["viewer"])).json()
    assert history["anchored"]["length"] == 2
    assert history["verified"] is False
    assert history["first_bad_seq"] == 1
    assert "entry 1 (hash " in history["reason"] and "is no longer in the chain" in history["reason"]


def test_nothing_moved_answers_204(anchoring_client: TestClient, keys: dict[str, str], tsa: LoopbackTsa) -> None:
    assert anchoring_client.post("/api/v1/anchors", headers=auth(keys["admin"])).status_code == 204
    assert tsa.requests == 0


def test_an_inclusion_proof_edited_after_anchoring_breaks_the_chain_check(
    anchoring_client: TestClient, archive: Archive, keys: dict[str, str]
) -> None:
    clip_id = add_custody_chains(archive, 2)[0]
    assert anchoring_client.post("/api/v1/anchors", headers=auth(keys["admin"])).status_code == 201
    forged = json.dumps([{"side": "right", "hash": "00" * 32}])
    statement = f"UPDATE anchor_inclusions SET proof = '{forged}' WHERE chain_id = '{clip_id}'"
    with pytest.raises(DBAPIError), archive.engine.begin() as connection:
        connection.execute(text(statement))  # the database refuses, as for custody events …
    tamper_table(
        archive.settings.resolved_database_url(), statement, "anchor_inclusions"
    )  # … until its guard is lifted
    log = anchoring_client.get(f"/api/v1/clips/{clip_id}/custody", headers=auth(keys["viewer"])).json()
    assert log["verified"] is False
    assert "does not lead to the root of anchor" in log["reason"]
