"""Families of copies and who may see them: confirmed decisions join clips transitively, first seen
marked; only a suggested pair can be decided, with a reason for anything refused; a clip the caller
may not see is an unknown id on either side, joins no family, and is left out of the custody events
that name it; the chain check holds each decision to its events. The matcher's pairing is written
here as ingest writes it (a `ClipRelation`), on archived clips that are not analysed."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from storage.archive import Archive
from storage.cases import create_case, set_case_incident
from storage.evidence import IncidentFields, create_incident, link_clip
from storage.models import ClipRelation
from tests.conftest import auth
from tests.helpers.access import member_key
from tests.helpers.evidence import archived_clip, edit
from tests.helpers.exports import export_and_wait, run_verify, unpack

NOTE = "Same footage: the banner and the burning car match frame for frame."


def suggest(archive: Archive, clip_id: str, related_clip_id: str) -> None:
    """The pair as the matcher records it when `clip_id` is ingested after `related_clip_id`."""
    segments = json.dumps([{"query_start_s": 0.0, "clip_start_s": 2.0, "duration_s": 4.0}])
    with archive.sessions.begin() as session:
        session.add(
            ClipRelation(
                clip_id=clip_id,
                related_clip_id=related_clip_id,
                score=0.9,
                matched_seconds=4.0,
                mirrored=False,
                segments=segments,
            )
        )


def clips(archive: Archive, count: int) -> list[str]:
    return [archived_clip(archive, filename=f"VID_{n}.mp4")[0] for n in range(count)]


def decide(client: TestClient, key: str, clip_id: str, other_id: str, decision: str = "confirmed", **body: Any) -> Any:
    path = f"/api/v1/clips/{clip_id}/related/{other_id}/decision"
    return client.put(path, headers=auth(key), json={"decision": decision, "note": NOTE, **body})


def family(client: TestClient, key: str, clip_id: str) -> list[tuple[str, bool]]:
    answer = client.get(f"/api/v1/clips/{clip_id}/family", headers=auth(key))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [c["clip_id"] for c in body["clips"] if c["first_seen"]] == [body["first_seen_clip_id"]]
    return [(c["clip_id"], c["first_seen"]) for c in body["clips"]]


def in_case(archive: Archive, clip_ids: list[str], title: str) -> str:
    """A new case holding a new incident the clips are linked to: the case."""
    when = datetime(2019, 11, 16, 10, 35, tzinfo=UTC)
    with archive.sessions.begin() as session:
        fields = IncidentFields(title, "", when, None, "hour", None, None, None, None, [])
        incident = create_incident(session, fields, "admin-key")
        case = create_case(session, title, "", "open", "admin-key")
        set_case_incident(session, case.id, incident.id, True, "admin-key")
        for clip_id in clip_ids:
            link_clip(session, incident.id, clip_id, None, None, None, "admin-key")
        return case.id


def confirmed_chain(client: TestClient, archive: Archive, keys: dict[str, str]) -> tuple[str, str, str]:
    """Three clips, each a copy the matcher found of the one before, each pair confirmed."""
    first, second, third = clips(archive, 3)
    for clip_id, other_id in ((second, first), (third, second)):
        suggest(archive, clip_id, other_id)
        assert decide(client, keys["analyst"], clip_id, other_id).status_code == 200
    return first, second, third


def test_a_clip_with_no_confirmed_copies_is_a_family_of_one(
    client: TestClient, archive: Archive, keys: dict[str, str]
) -> None:
    first, second = clips(archive, 2)
    suggest(archive, second, first)
    assert family(client, keys["viewer"], second) == [(second, True)]
    assert decide(client, keys["analyst"], second, first, "rejected").status_code == 200
    assert family(client, keys["viewer"], second) == [(second, True)]


def test_confirmed_copies_form_a_family_transitively_with_the_first_seen_marked(
    client: TestClient, archive: Archive, keys: dict[str, str]
) -> None:
    first, second, third = confirmed_chain(client, archive, keys)  # the third matches only the second
    [stranger] = clips(archive, 1)
    suggest(archive, stranger, third)
    assert decide(client, keys["analyst"], stranger, third, "rejected").status_code == 200
    whole = [(first, True), (second, False), (third, False)]
    for clip_id in (first, second, third):
        assert family(client, keys["viewer"], clip_id) == whole
    assert family(client, keys["viewer"], stranger) == [(stranger, True)]
    # Undoing the middle link splits the family.
    assert decide(client, keys["analyst"], third, second, "rejected").status_code == 200
    assert family(client, keys["viewer"], third) == [(third, True)]
    assert family(client, keys["viewer"], first) == [(first, True), (second, False)]


def test_only_a_suggested_pair_can_be_decided_and_bad_decisions_say_why(
    client: TestClient, archive: Archive, keys: dict[str, str]
) -> None:
    first, second, unpaired = clips(archive, 3)
    suggest(archive, second, first)
    analyst = keys["analyst"]
    refused = decide(client, analyst, first, unpaired)
    assert refused.status_code == 404 and "no suggested match" in refused.json()["detail"], refused.text
    read = client.get(f"/api/v1/clips/{first}/related/{unpaired}/decision", headers=auth(keys["viewer"]))
    assert read.status_code == 404 and "no suggested match" in read.json()["detail"]
    undecided = client.get(f"/api/v1/clips/{first}/related/{second}/decision", headers=auth(keys["viewer"])).json()
    assert undecided["decision"] is None and undecided["note"] is None
    itself = decide(client, analyst, first, first)
    assert itself.status_code == 400 and "itself" in itself.json()["detail"]
    unknown = decide(client, analyst, first, str(uuid.uuid4()))
    assert unknown.status_code == 404 and unknown.json()["error"] == "clip_not_found"
    for body in ({"decision": "maybe"}, {"note": ""}, {"note": "x" * 10_001}, {"why": "extra"}):
        bad = decide(client, analyst, first, second, **body)
        assert bad.status_code == 422, (body, bad.text)
    assert decide(client, analyst, first, second, note="x" * 10_000).status_code == 200
    lower = decide(client, keys["contributor"], first, second, "rejected")
    assert lower.status_code == 403 and "analyst" in lower.json()["detail"]
    assert client.get(f"/api/v1/clips/{second}/related", headers=auth(keys["viewer"])).json()["rejected"] == []


def test_a_guest_sees_only_its_part_of_a_family_and_nothing_of_the_copies_beyond_it(
    client: TestClient, archive: Archive, keys: dict[str, str]
) -> None:
    first, second, third = confirmed_chain(client, archive, keys)
    case_a = in_case(archive, [first, second], "case A")
    in_case(archive, [third], "case B")
    guest = member_key(archive, case_a, "analyst")
    assert family(client, guest, first) == [(first, True), (second, False)]
    # The hidden clip is an unknown id on either side of a pair, and its family is no one's.
    for path in (
        f"/api/v1/clips/{second}/related/{third}/decision",
        f"/api/v1/clips/{third}/related/{second}/decision",
        f"/api/v1/clips/{third}/family",
    ):
        hidden = client.get(path, headers=auth(guest))
        assert hidden.status_code == 404 and hidden.json()["error"] == "clip_not_found", path
        assert third in hidden.json()["detail"]
    assert decide(client, guest, second, third, "rejected").status_code == 404
    # The second clip's custody names the third's decision without naming the third.
    log = client.get(f"/api/v1/clips/{second}/custody", headers=auth(guest)).json()
    shown = {e["details"]["other_clip_id"]: e for e in log["events"] if e["action"] == "match_confirmed"}
    assert set(shown) == {first, "redacted"}
    assert shown[first]["actor"] == "analyst-key" and shown[first]["details"]["note"] == NOTE
    assert shown["redacted"]["actor"] == "redacted" and shown["redacted"]["details"]["note"] == "redacted"
    assert third not in json.dumps(log) and log["verified"] is True
    full = client.get(f"/api/v1/clips/{second}/custody", headers=auth(keys["viewer"])).json()
    assert third in json.dumps(full)


def test_the_chain_check_holds_each_decision_to_its_custody_events(
    client: TestClient, archive: Archive, keys: dict[str, str]
) -> None:
    first, second, third = confirmed_chain(client, archive, keys)
    edit(archive, "UPDATE match_decisions SET decision = 'rejected' WHERE clip_id = :a OR other_clip_id = :a", a=first)
    for clip_id in (first, second):
        log = client.get(f"/api/v1/clips/{clip_id}/custody", headers=auth(keys["viewer"])).json()
        assert log["verified"] is False
        [mismatch] = log["mismatches"]
        assert mismatch["field"].endswith(" decision")
        assert (mismatch["recorded"], mismatch["found"]) == ("confirmed", "rejected")
    third_log = client.get(f"/api/v1/clips/{third}/custody", headers=auth(keys["viewer"])).json()
    assert third_log["verified"] is True
    # Seen by a guest of the second clip's case only, the mismatch names nothing of the first.
    guest = member_key(archive, in_case(archive, [second], "case A"), "viewer")
    seen = client.get(f"/api/v1/clips/{second}/custody", headers=auth(guest)).json()
    assert seen["verified"] is False
    assert [(m["recorded"], m["found"]) for m in seen["mismatches"]] == [("redacted", "redacted")]


@pytest.mark.parametrize("decision", ["confirmed", "rejected"])
def test_a_decision_on_a_pair_the_matcher_no_longer_finds_can_still_be_changed(
    client: TestClient, archive: Archive, keys: dict[str, str], decision: str
) -> None:
    first, second = clips(archive, 2)
    suggest(archive, second, first)
    assert decide(client, keys["analyst"], second, first, decision).status_code == 200
    edit(archive, "DELETE FROM clip_relations WHERE clip_id = :c", c=second)  # as a re-analysis may
    other = "rejected" if decision == "confirmed" else "confirmed"
    assert decide(client, keys["analyst"], first, second, other).json()["decision"] == other


def test_an_export_names_a_confirmed_copy_and_leaves_a_rejected_one_out(
    client: TestClient, archive: Archive, keys: dict[str, str], tmp_path: Path
) -> None:
    first, copy, rejected = clips(archive, 3)
    suggest(archive, copy, first)
    suggest(archive, rejected, first)
    assert decide(client, keys["analyst"], copy, first).status_code == 200
    assert decide(client, keys["analyst"], rejected, first, "rejected").status_code == 200
    done = export_and_wait(client, keys["analyst"], clip_ids=[first, copy, rejected])
    assert done["status"] == "ready", done["status_reason"]
    bag = unpack(client.get(done["download_url"], headers=auth(keys["analyst"])).content, tmp_path)
    records = {c: json.loads((bag / "data" / "clips" / f"{c}.json").read_text()) for c in (first, copy, rejected)}
    assert [near["clip_id"] for near in records[first]["near_duplicates"]] == [copy]
    assert [near["clip_id"] for near in records[copy]["near_duplicates"]] == [first]
    assert records[rejected]["near_duplicates"] == []
    assert run_verify(bag).returncode == 0
