"""Confirming and rejecting near-duplicates the matcher found, on real copies of one generated
clip: each decision is in both clips' custody (which still verifies), a new one replaces the old,
and a rejected pair is never suggested again, not even after the clips are analysed again."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from storage.archive import Archive
from tests import media
from tests.conftest import auth, open_test_archive, role_keys
from tests.helpers.api_calls import clip_ids, upload_analysed, wait_until_done
from tests.helpers.snapshots import ArchiveSnapshot, snapshot

NOTE = "Same rooftop and skyline; the copy is cropped and re-encoded."


@pytest.fixture(scope="module")
def footage(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("match-decisions")
    source = media.make_source(folder / "source.mp4", seconds=9)
    return {
        "source": source,
        "excerpt": media.make_copy(folder / "excerpt.mp4", source, "-ss", "3", "-t", "5", "-i", "-vf", "scale=320:180"),
    }


@dataclass(frozen=True)
class Built:
    """The original and its copy ingested, once per backend: each test gets a copy of the archive."""

    archive: ArchiveSnapshot
    keys: dict[str, str]
    pair: tuple[str, str]


@pytest.fixture(scope="module", params=["embedded", pytest.param("scaled", marks=pytest.mark.slow)])
def built(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, footage: dict[str, Path]) -> Built:
    archive = open_test_archive(request, request.param, tmp_path_factory.mktemp(f"pair-{request.param}"))
    keys = role_keys(archive)
    with TestClient(create_app(archive=archive)) as client:
        original = upload_analysed(client, keys, footage["source"])["id"]
        copy = upload_analysed(client, keys, footage["excerpt"])["id"]
        [related] = client.get(f"/api/v1/clips/{copy}/related", headers=auth(keys["viewer"])).json()["related"]
        assert related["clip_id"] == original and related["decision"] is None
    return Built(snapshot(archive), keys, (original, copy))


@pytest.fixture
def archive(request: pytest.FixtureRequest, built: Built, tmp_path: Path) -> Iterator[Archive]:
    """This test's own copy of the archive holding the pair."""
    with built.archive.copied(request, tmp_path / "archive") as copied:
        yield copied


@pytest.fixture
def keys(built: Built) -> dict[str, str]:
    return built.keys


@pytest.fixture
def pair(built: Built) -> tuple[str, str]:
    """The original and a copy ingested after it, which the matcher pairs."""
    return built.pair


def decide(client: TestClient, key: str, clip_id: str, other_id: str, decision: str, note: str = NOTE) -> Any:
    path = f"/api/v1/clips/{clip_id}/related/{other_id}/decision"
    return client.put(path, headers=auth(key), json={"decision": decision, "note": note})


def custody(client: TestClient, key: str, clip_id: str) -> dict[str, Any]:
    log: dict[str, Any] = client.get(f"/api/v1/clips/{clip_id}/custody", headers=auth(key)).json()
    return log


def match_events(log: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(e["action"], e["actor"], e["details"]) for e in log["events"] if e["action"].startswith("match_")]


def test_confirming_a_copy_records_it_in_both_custody_logs_which_still_verify(
    client: TestClient, keys: dict[str, str], pair: tuple[str, str]
) -> None:
    original, copy = pair
    answer = decide(client, keys["analyst"], copy, original, "confirmed")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["clip_id"], body["other_clip_id"], body["decision"]) == (copy, original, "confirmed")
    assert body["note"] == NOTE and body["decided_by"] == "analyst-key"
    for this, other in ((copy, original), (original, copy)):
        log = custody(client, keys["viewer"], this)
        [(action, actor, details)] = match_events(log)
        assert (action, actor) == ("match_confirmed", "analyst-key")
        assert details["other_clip_id"] == other and details["note"] == NOTE
        assert log["verified"] is True, log
        # Either side reads the same decision, on its entry of /related and on its own.
        [entry] = client.get(f"/api/v1/clips/{this}/related", headers=auth(keys["viewer"])).json()["related"]
        assert (entry["clip_id"], entry["decision"], entry["note"]) == (other, "confirmed", NOTE)
        assert entry["decided_by"] == "analyst-key" and entry["decided_at"] == body["decided_at"]
        read = client.get(f"/api/v1/clips/{this}/related/{other}/decision", headers=auth(keys["viewer"])).json()
        assert read["decision"] == "confirmed" and read["other_clip_id"] == other
    family = client.get(f"/api/v1/clips/{copy}/family", headers=auth(keys["viewer"])).json()
    assert family["first_seen_clip_id"] == original
    assert [(c["clip_id"], c["first_seen"]) for c in family["clips"]] == [(original, True), (copy, False)]


def test_deciding_the_same_again_changes_nothing_and_a_new_decision_replaces_the_old(
    client: TestClient, keys: dict[str, str], pair: tuple[str, str]
) -> None:
    original, copy = pair
    assert decide(client, keys["analyst"], original, copy, "confirmed").status_code == 200
    again = decide(client, keys["admin"], copy, original, "confirmed")
    assert again.status_code == 200 and again.json()["decided_by"] == "analyst-key"
    assert len(match_events(custody(client, keys["viewer"], copy))) == 1
    changed = decide(
        client, keys["admin"], copy, original, "rejected", "Different day: the shadows fall the other way."
    )
    assert changed.json()["decision"] == "rejected" and changed.json()["decided_by"] == "admin-key"
    for clip_id in pair:
        log = custody(client, keys["viewer"], clip_id)
        assert [(action, actor) for action, actor, _ in match_events(log)] == [
            ("match_confirmed", "analyst-key"),
            ("match_rejected", "admin-key"),
        ]
        assert log["verified"] is True, log


def test_a_rejected_copy_is_never_suggested_again_not_even_after_reanalysis(
    client: TestClient, keys: dict[str, str], pair: tuple[str, str]
) -> None:
    original, copy = pair
    viewer = keys["viewer"]
    assert set(clip_ids(client, viewer, "has_near_duplicates=true")) == {original, copy}
    assert decide(client, keys["analyst"], copy, original, "rejected").status_code == 200

    def suggested_nowhere() -> None:
        for this, other in ((copy, original), (original, copy)):
            related = client.get(f"/api/v1/clips/{this}/related", headers=auth(viewer)).json()
            assert related["related"] == [] and related["first_seen_clip_id"] == this
            [apart] = related["rejected"]
            assert (apart["clip_id"], apart["decision"]) == (other, "rejected")
        assert client.get("/api/v1/clips?has_near_duplicates=true", headers=auth(viewer)).json()["total"] == 0
        assert set(clip_ids(client, viewer, "has_near_duplicates=false")) == {original, copy}
        sha256 = client.get(f"/api/v1/clips/{original}", headers=auth(viewer)).json()["sha256"]
        provenance = client.get("/api/v1/verify", headers=auth(viewer), params={"sha256": sha256}).json()
        assert provenance["near_duplicates"] == []

    suggested_nowhere()
    for clip_id in (copy, original):
        assert client.post(f"/api/v1/clips/{clip_id}/reprocess", headers=auth(keys["admin"])).status_code == 202
        assert wait_until_done(client, viewer, clip_id)["status"] == "ready"
    # The matcher found the pair again (its own record says so); nobody is told of it.
    found = [e for e in custody(client, viewer, copy)["events"] if e["action"] == "near_duplicates_found"]
    assert len(found) == 2 and found[-1]["details"]["clips"] == [original]
    suggested_nowhere()


def test_a_review_of_the_suggestion_is_the_same_decision_and_verify_names_the_first_seen(
    client: TestClient, keys: dict[str, str], pair: tuple[str, str], footage: dict[str, Path]
) -> None:
    """POST .../review (issue 13's name for it) decides as PUT .../decision does; /verify of a
    file names the first seen of what it matches and of their confirmed copies."""
    original, copy = pair
    path = f"/api/v1/clips/{copy}/related/{original}/review"
    answer = client.post(path, headers=auth(keys["analyst"]), json={"decision": "confirmed", "note": NOTE})
    assert answer.status_code == 200 and answer.json()["decision"] == "confirmed"
    assert (
        client.get(f"/api/v1/clips/{original}/related/{copy}/decision", headers=auth(keys["viewer"])).json()["decision"]
        == "confirmed"
    )
    with footage["excerpt"].open("rb") as handle:
        verified = client.post("/api/v1/verify", headers=auth(keys["viewer"]), files={"file": ("q.mp4", handle)})
    assert verified.status_code == 200, verified.text
    assert verified.json()["exact_match"]["clip"]["id"] == copy
    assert verified.json()["first_seen_clip_id"] == original  # through the confirmed family
