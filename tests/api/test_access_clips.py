"""Need-to-know access on the clip routes: a member of case A reads A's clips (here handed in by
linking them to an incident in A) and nothing else, each hidden clip answered as an unknown one;
lists, totals and filters count only what the caller may see; provenance queries say nothing of
a hidden match, or only that it is held, as the archive is set; archive-wide roles see all."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from ingest.anchors import anchor_chains
from storage.archive import Archive
from storage.custody import append_event
from storage.models import Acquisition
from tests import media
from tests.conftest import auth, open_test_archive, role_keys
from tests.helpers.access import member_key
from tests.helpers.api_calls import clip_ids, upload, wait_for_stamp, wait_until_done
from tests.helpers.evidence import archived_clip, edit
from tests.helpers.records import put_in_case
from tests.helpers.snapshots import ArchiveSnapshot, snapshot
from tests.helpers.tsa import LoopbackTsa, stamping
from verity.settings import Settings

# Every read of one clip, and what an archive-wide viewer gets from it on a clip analysed and stamped.
CLIP_READS = (
    "",
    "/original",
    "/custody",
    "/probe",
    "/content-credentials",
    "/keyframes",
    "/keyframes/0",
    "/timestamp",
    "/timestamp/certificates",
    "/related",
)


@pytest.fixture(scope="module")
def footage(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("access-clips")
    source = media.make_source(folder / "source.mp4", seconds=9)
    return {
        "source": source,
        "excerpt": media.make_copy(folder / "excerpt.mp4", source, "-ss", "3", "-t", "5", "-i", "-vf", "scale=320:180"),
        "unrelated": media.make_unrelated(
            folder / "cells.mp4", "cellauto=size=160x90:rate=30:rule=30:seed=5,scale=640:360"
        ),
    }


@dataclass(frozen=True)
class World:
    """Clip `a` in case A, `b` (an excerpt of `a`'s footage, so each is the other's near-duplicate)
    in case B, `n` in no case; each analysed and stamped."""

    client: TestClient
    a: str
    b: str
    n: str
    case_a: str
    incident_a: str
    case_b: str
    incident_b: str

    @property
    def clips(self) -> tuple[str, str, str]:
        return self.a, self.b, self.n


@dataclass(frozen=True)
class Built:
    """The world, built once per backend: a copy of its archive for each test, and its keys and ids."""

    archive: ArchiveSnapshot
    keys: dict[str, str]
    ids: dict[str, str]


@pytest.fixture(scope="module", params=["embedded", pytest.param("scaled", marks=pytest.mark.slow)])
def built(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    footage: dict[str, Path],
    tsa_server: LoopbackTsa,
) -> Built:
    archive = open_test_archive(request, request.param, tmp_path_factory.mktemp(f"world-{request.param}"))
    tsa_server.reset()
    stamping(archive, tsa_server, timestamp_retry_initial_s=3600)  # the TSA answers: nothing to retry
    keys = role_keys(archive)
    with TestClient(create_app(archive=archive)) as client:
        ids = {}
        for name, path in (("a", "source"), ("b", "excerpt"), ("n", "unrelated")):
            sent = upload(client, keys["contributor"], footage[path].read_bytes(), name=f"{name}.mp4", source=name)
            ids[name] = sent.json()["id"]
            assert wait_until_done(client, keys["viewer"], ids[name])["status"] == "ready"
            wait_for_stamp(client, keys["viewer"], ids[name], "stamped")
    # Each clip has a Content Credentials report, so the route answers 200 where it may.
    edit(archive, "UPDATE clips SET content_credentials_report = '{\"manifests\": {}}'")
    ids["case_a"], ids["incident_a"] = put_in_case(archive, [ids["a"]], "case A")
    ids["case_b"], ids["incident_b"] = put_in_case(archive, [ids["b"]], "case B")
    return Built(snapshot(archive), keys, ids)


@pytest.fixture
def archive(request: pytest.FixtureRequest, built: Built, tmp_path: Path) -> Iterator[Archive]:
    """This test's own copy of the world's archive."""
    with built.archive.copied(request, tmp_path / "archive") as copied:
        yield copied


@pytest.fixture
def keys(built: Built) -> dict[str, str]:
    return built.keys


@pytest.fixture
def world(archive: Archive, built: Built, tsa: LoopbackTsa) -> Iterator[World]:
    with TestClient(create_app(archive=archive)) as client:
        yield World(client, **built.ids)


def get(world: World, key: str, path: str, **params: Any) -> Any:
    return world.client.get(path, headers=auth(key), params=params)


def unknown_like(world: World, key: str, path: str, clip_id: str) -> tuple[int, str]:
    """The answer to `path` with `clip_id` replaced by an id no clip has (status, detail), the id put back."""
    made_up = str(uuid.uuid4())
    answer = get(world, key, path.replace(clip_id, made_up))
    return answer.status_code, answer.json()["detail"].replace(made_up, clip_id)


def test_a_case_member_reads_its_cases_clips_and_no_other_as_if_they_did_not_exist(
    world: World, archive: Archive, keys: dict[str, str]
) -> None:
    guest = member_key(archive, world.case_a, "viewer", ["download"])
    for suffix in CLIP_READS:
        for clip_id in world.clips:
            path = f"/api/v1/clips/{clip_id}{suffix}"
            assert get(world, keys["viewer"], path).status_code == 200, path
        assert get(world, guest, f"/api/v1/clips/{world.a}{suffix}").status_code == 200, suffix
        for hidden in (world.b, world.n):
            path = f"/api/v1/clips/{hidden}{suffix}"
            answer = get(world, guest, path)
            assert (answer.status_code, answer.json()["detail"]) == unknown_like(world, guest, path, hidden), path


def test_an_expired_membership_sees_nothing(world: World, archive: Archive) -> None:
    guest = member_key(archive, world.case_a, "viewer", ["download"], person="lapsed")
    member_key(archive, world.case_b, "viewer", person="lapsed")
    assert get(world, guest, "/api/v1/clips").json()["total"] == 2
    past = datetime.now(UTC) - timedelta(minutes=1)
    edit(archive, "UPDATE case_members SET expires_at = :past WHERE case_id = :case", past=past, case=world.case_a)
    for suffix in CLIP_READS:
        assert get(world, guest, f"/api/v1/clips/{world.a}{suffix}").status_code == 404, suffix
    assert clip_ids(world.client, guest, "") == [world.b]
    assert get(world, guest, "/api/v1/clips", case_id=world.case_a).status_code == 404
    # With no live membership left, the key holds no role anywhere.
    edit(archive, "UPDATE case_members SET expires_at = :past", past=past)
    assert get(world, guest, f"/api/v1/clips/{world.b}").status_code == 403


def test_the_original_needs_the_download_permission_in_the_case(world: World, archive: Archive) -> None:
    reviewer = member_key(archive, world.case_a, "analyst")
    refused = get(world, reviewer, f"/api/v1/clips/{world.a}/original")
    assert refused.status_code == 403 and "download" in refused.json()["detail"]
    assert get(world, reviewer, f"/api/v1/clips/{world.a}/keyframes/0").status_code == 200
    assert get(world, reviewer, f"/api/v1/clips/{world.b}/original").status_code == 404
    taker = member_key(archive, world.case_a, "viewer", ["download"])
    assert get(world, taker, f"/api/v1/clips/{world.a}/original").status_code == 200


def test_lists_and_their_totals_count_only_the_clips_a_member_may_see(
    world: World, archive: Archive, keys: dict[str, str]
) -> None:
    guest = member_key(archive, world.case_a, "viewer")
    page = get(world, guest, "/api/v1/clips").json()
    assert [c["id"] for c in page["items"]] == [world.a] and page["total"] == 1
    assert get(world, keys["viewer"], "/api/v1/clips").json()["total"] == 3
    assert clip_ids(world.client, guest, f"incident_id={world.incident_a}") == [world.a]
    assert clip_ids(world.client, guest, f"case_id={world.case_a}") == [world.a]
    for name, hidden in (("incident_id", world.incident_b), ("case_id", world.case_b)):
        answer = get(world, guest, "/api/v1/clips", **{name: hidden})
        made_up = get(world, guest, "/api/v1/clips", **{name: "no-such-id"})
        assert answer.status_code == made_up.status_code == 404
        assert answer.json()["detail"] == made_up.json()["detail"].replace("no-such-id", hidden)
    assert clip_ids(world.client, keys["viewer"], f"case_id={world.case_b}") == [world.b]


def test_a_clip_whose_only_copies_are_hidden_counts_as_having_none(
    world: World, archive: Archive, keys: dict[str, str]
) -> None:
    guest = member_key(archive, world.case_a, "viewer")
    assert set(clip_ids(world.client, keys["viewer"], "has_near_duplicates=true")) == {world.a, world.b}
    assert clip_ids(world.client, keys["viewer"], "has_near_duplicates=false") == [world.n]
    assert get(world, guest, "/api/v1/clips", has_near_duplicates="true").json()["total"] == 0
    assert clip_ids(world.client, guest, "has_near_duplicates=false") == [world.a]
    related = get(world, guest, f"/api/v1/clips/{world.a}/related").json()
    assert related["related"] == [] and related["first_seen_clip_id"] == world.a
    [copy] = get(world, keys["viewer"], f"/api/v1/clips/{world.a}/related").json()["related"]
    assert copy["clip_id"] == world.b
    # A member of both cases sees the copy again.
    both = member_key(archive, world.case_a, "viewer", person="in-both")
    member_key(archive, world.case_b, "viewer", person="in-both")
    assert set(clip_ids(world.client, both, "has_near_duplicates=true")) == {world.a, world.b}
    assert [c["clip_id"] for c in get(world, both, f"/api/v1/clips/{world.a}/related").json()["related"]] == [world.b]


def test_a_source_or_uploader_filter_matches_only_acquisitions_whose_source_the_caller_may_read(
    client: TestClient, archive: Archive, keys: dict[str, str]
) -> None:
    clip_id, data = archived_clip(archive, source="witness on the roof", received_by="field-team")
    archived_clip(archive, data, source="informant", received_by="case-b-team")
    case_a, _ = put_in_case(archive, [clip_id], "case A")
    case_b, _ = put_in_case(archive, [], "case B")
    # The first copy was handed into case A, the second into case B: each case guards its own.
    edit(archive, "UPDATE acquisitions SET case_id = :case WHERE received_by = 'field-team'", case=case_a)
    edit(archive, "UPDATE acquisitions SET case_id = :case WHERE received_by = 'case-b-team'", case=case_b)
    with archive.sessions() as session:
        assert session.scalar(select(Acquisition.case_id).where(Acquisition.received_by == "case-b-team")) == case_b
    holder = member_key(archive, case_a, "viewer", ["sources"])
    plain = member_key(archive, case_a, "viewer")
    assert clip_ids(client, holder, "source=roof") == [clip_id]
    assert clip_ids(client, holder, "uploader=field-team") == [clip_id]
    assert clip_ids(client, holder, "source=informant") == []
    assert clip_ids(client, holder, "uploader=case-b-team") == []
    assert clip_ids(client, plain, "source=roof") == clip_ids(client, plain, "uploader=field-team") == []
    assert clip_ids(client, plain, "") == [clip_id]  # the clip itself it sees
    assert clip_ids(client, keys["admin"], "source=informant") == [clip_id]
    assert clip_ids(client, keys["viewer"], "source=roof") == []  # archive-wide viewers hold no sources


def test_fixity_reprocess_and_corrections_ask_the_role_held_on_that_clip(
    world: World, archive: Archive, keys: dict[str, str]
) -> None:
    viewer = member_key(archive, world.case_a, "viewer")
    analyst = member_key(archive, world.case_a, "analyst")
    case_admin = member_key(archive, world.case_a, "admin")
    client = world.client
    assert client.post(f"/api/v1/clips/{world.a}/fixity", headers=auth(viewer)).status_code == 403
    assert client.post(f"/api/v1/clips/{world.a}/fixity", headers=auth(analyst)).json()["fixity"] == "ok"
    for hidden in (world.b, world.n):
        assert client.post(f"/api/v1/clips/{hidden}/fixity", headers=auth(analyst)).status_code == 404
    refused = client.post(f"/api/v1/clips/{world.a}/reprocess", headers=auth(case_admin))
    assert refused.status_code == 403 and "archive-wide" in refused.json()["detail"]
    assert get(world, analyst, "/api/v1/fixity").status_code == 403
    assert get(world, keys["viewer"], "/api/v1/fixity").status_code == 200

    def correct(key: str, clip_id: str) -> int:
        with archive.sessions() as session:
            acquisition = session.scalar(select(Acquisition.id).where(Acquisition.clip_id == clip_id))
        body = {"field": "note", "value": f"seen by {key[-6:]}", "why": "asked the witness"}
        url = f"/api/v1/clips/{clip_id}/acquisitions/{acquisition}/corrections"
        return client.post(url, headers=auth(key), json=body).status_code

    assert correct(viewer, world.a) == 403
    assert correct(member_key(archive, world.case_a, "contributor"), world.a) == 403  # not theirs, not analyst
    assert correct(analyst, world.a) == 201
    assert correct(analyst, world.b) == 404
    # An archive-wide contributor who is an analyst in case A corrects others' acquisitions there only.
    mixed = member_key(archive, world.case_a, "analyst", archive_role="contributor")
    assert correct(mixed, world.a) == 201
    assert correct(mixed, world.n) == 403


def test_anchors_span_the_archive_but_a_member_gets_the_token_its_clips_proof_needs(
    world: World, archive: Archive, keys: dict[str, str]
) -> None:
    guest = member_key(archive, world.case_a, "viewer")
    made = anchor_chains(archive)
    assert made is not None
    anchored = get(world, guest, f"/api/v1/clips/{world.a}/custody").json()["anchored"]
    assert anchored["anchor_id"] == made.anchor_id
    for path in ("/api/v1/anchors", f"/api/v1/anchors/{made.anchor_id}"):
        assert get(world, guest, path).status_code == 403
        assert get(world, keys["viewer"], path).status_code == 200
    for suffix in ("token", "certificates"):
        assert get(world, guest, f"/api/v1/anchors/{made.anchor_id}/{suffix}").status_code == 200
    # An anchor covering only a chain the member may not see is no anchor to it.
    with archive.sessions.begin() as session:
        append_event(session, world.n, "provenance_checked", "admin-key", {"by": "test"})
    other = anchor_chains(archive)
    assert other is not None
    for suffix in ("token", "certificates"):
        assert get(world, guest, f"/api/v1/anchors/{other.anchor_id}/{suffix}").status_code == 404
        assert get(world, keys["viewer"], f"/api/v1/anchors/{other.anchor_id}/{suffix}").status_code == 200
    admin = member_key(archive, world.case_a, "admin")
    assert world.client.post("/api/v1/anchors", headers=auth(admin)).status_code == 403


def verify_file(world: World, key: str, path: Path) -> dict[str, Any]:
    with path.open("rb") as handle:
        answer = world.client.post("/api/v1/verify", headers=auth(key), files={"file": ("q.mp4", handle)})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def reveal(archive: Archive, on: bool) -> None:
    archive.settings = Settings.model_validate({**archive.settings.model_dump(), "verify_reveals_restricted": on})


def test_verify_answers_a_hidden_match_as_footage_not_held(
    world: World, archive: Archive, keys: dict[str, str], footage: dict[str, Path]
) -> None:
    guest = member_key(archive, world.case_a, "viewer")
    not_held = {
        "exact_match": None,
        "near_duplicates": [],
        "not_analysed": None,
        "restricted": None,
        "first_seen_clip_id": None,
    }
    for path in (footage["excerpt"], footage["unrelated"]):
        sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
        assert get(world, guest, "/api/v1/verify", sha256=sha256).json() == {"sha256": sha256, **not_held}
    own = get(world, guest, "/api/v1/verify", sha256=hashlib.sha256(footage["source"].read_bytes()).hexdigest())
    assert own.json()["exact_match"]["clip"]["id"] == world.a
    assert own.json()["near_duplicates"] == [] and own.json()["restricted"] is None
    # By file: the hidden exact clip is not used, the file is matched as footage: a's is found in it.
    excerpt = verify_file(world, guest, footage["excerpt"])
    assert excerpt["exact_match"] is None and excerpt["restricted"] is None
    assert [n["clip_id"] for n in excerpt["near_duplicates"]] == [world.a]
    assert verify_file(world, guest, footage["unrelated"])["near_duplicates"] == []
    # An archive-wide viewer sees every match.
    wide = verify_file(world, keys["viewer"], footage["excerpt"])
    assert wide["exact_match"]["clip"]["id"] == world.b
    assert [n["clip_id"] for n in wide["near_duplicates"]] == [world.a]


def test_verify_says_only_that_a_hidden_match_is_held_when_the_archive_is_set_to(
    world: World, archive: Archive, keys: dict[str, str], footage: dict[str, Path]
) -> None:
    reveal(archive, True)
    guest = member_key(archive, world.case_a, "viewer")
    restricted = {"exact": True, "near_duplicates": False, "detail": "held in the archive under restricted access"}
    sha256 = hashlib.sha256(footage["unrelated"].read_bytes()).hexdigest()
    answer = get(world, guest, "/api/v1/verify", sha256=sha256).json()
    assert answer == {
        "sha256": sha256,
        "exact_match": None,
        "near_duplicates": [],
        "not_analysed": None,
        "restricted": restricted,
        "first_seen_clip_id": None,  # nothing it may see
    }
    own = get(world, guest, "/api/v1/verify", sha256=hashlib.sha256(footage["source"].read_bytes()).hexdigest())
    assert own.json()["near_duplicates"] == []
    assert own.json()["restricted"] == {**restricted, "exact": False, "near_duplicates": True}
    by_file = verify_file(world, guest, footage["excerpt"])
    assert by_file["restricted"] == restricted and [n["clip_id"] for n in by_file["near_duplicates"]] == [world.a]
    assert verify_hash_of(world, keys["viewer"], footage["unrelated"])["restricted"] is None
    reveal(archive, False)
    assert get(world, guest, "/api/v1/verify", sha256=sha256).json()["restricted"] is None


def verify_hash_of(world: World, key: str, path: Path) -> dict[str, Any]:
    sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    answer: dict[str, Any] = get(world, key, "/api/v1/verify", sha256=sha256).json()
    return answer
