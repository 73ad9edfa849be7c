"""Evidence exports through the API: a case, an incident or clips become one BagIt zip that
validates with the `bagit` library and whose verify.py passes outside Verity. What touches the
stores (the whole bag, a range, a failed bag leaving nothing) runs on both archives; the rest on
the embedded one only, to keep the suite short."""

from __future__ import annotations

import json
from pathlib import Path

import bagit
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from storage.archive import Archive
from storage.clips import load_clip
from storage.models import AuditEvent
from tests import media
from tests.conftest import all_blob_keys, auth
from tests.helpers.api_calls import create_incident, upload, wait_until_done
from tests.helpers.backends import embedded_only
from tests.helpers.exports import export_and_wait, run_verify, unpack


@pytest.fixture(scope="module")
def clip_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("export-clips")
    return [media.make_silent_clip(folder / f"clip{n}.mp4", seconds=3 + n) for n in range(2)]


def archived_case(client: TestClient, keys: dict[str, str], files: list[Path]) -> tuple[str, list[str], list[str]]:
    """A case of two incidents, each with a clip segment linked; one clip reviewed."""
    clip_ids = []
    for number, path in enumerate(files):
        clip_id = upload(client, keys["contributor"], path.read_bytes(), name=f"VID_{number}.MP4").json()["id"]
        wait_until_done(client, keys["viewer"], clip_id)
        clip_ids.append(clip_id)
    incident_ids = [create_incident(client, keys["contributor"])[0] for _ in files]
    for clip_id, incident_id in zip(clip_ids, incident_ids, strict=True):
        linked = client.post(
            f"/api/v1/incidents/{incident_id}/clips",
            headers=auth(keys["contributor"]),
            json={"clip_id": clip_id, "start_s": 0.5, "end_s": 2.0, "note": "the shots"},
        )
        assert linked.status_code == 201, linked.text
    review = {"status": "in_review", "rationale": "checking the skyline"}
    assert client.post(f"/api/v1/clips/{clip_ids[0]}/verification", headers=auth(keys["analyst"]), json=review)
    case = client.post("/api/v1/cases", headers=auth(keys["contributor"]), json={"title": "Case <one>"})
    assert case.status_code == 201, case.text
    case_id = case.json()["id"]
    for incident_id in incident_ids:
        added = client.put(f"/api/v1/cases/{case_id}/incidents/{incident_id}", headers=auth(keys["contributor"]))
        assert added.status_code == 200, added.text
    return case_id, incident_ids, clip_ids


def test_case_export_is_a_valid_bag_whose_verify_py_passes(
    client: TestClient, keys: dict[str, str], clip_files: list[Path], tmp_path: Path
) -> None:
    case_id, incident_ids, clip_ids = archived_case(client, keys, clip_files)
    done = export_and_wait(client, keys["analyst"], case_id=case_id, include_keyframes=True, include_probe=True)
    assert done["status"] == "ready", done
    assert sorted(done["clip_ids"]) == sorted(clip_ids) and done["progress"] == 1.0
    download = client.get(done["download_url"], headers=auth(keys["analyst"]))
    assert download.status_code == 200 and download.headers["etag"] == f'"{done["sha256"]}"'
    assert len(download.content) == done["size_bytes"]
    bag_dir = unpack(download.content, tmp_path)

    bag = bagit.Bag(str(bag_dir))
    bag.validate()
    assert bag.info["Contact-Name"] == "analyst-key" and case_id in bag.info["External-Description"]

    checked = run_verify(bag_dir)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "verdict: OK" in checked.stdout
    assert "note: this bag carries no trusted timestamps" in checked.stdout  # none configured here
    for clip_id in clip_ids:
        assert f"OK    clip {clip_id}: sha256" in checked.stdout
        assert f"OK    data/custody/{clip_id}.jsonl: custody chain of {clip_id} verifies" in checked.stdout
    for incident_id in incident_ids:
        assert f"data/history/incident-{incident_id}.jsonl: incident chain" in checked.stdout
    assert f"OK    data/history/case-{case_id}.jsonl: case chain" in checked.stdout

    sha = client.get(f"/api/v1/clips/{clip_ids[0]}", headers=auth(keys["viewer"])).json()["sha256"]
    assert (bag_dir / "data" / "originals" / f"{sha}.mp4").is_file()
    record = json.loads((bag_dir / "data" / "clips" / f"{clip_ids[0]}.json").read_text())
    assert record["content_credentials"]["state"] == "none"  # made by ffmpeg: no C2PA manifest
    assert record["fixity_history"] == [] and record["timestamp"] == {"state": "not configured"}
    assert record["verification_history"][0]["rationale"] == "checking the skyline"
    assert [(link["start_s"], link["end_s"], link["note"]) for link in record["incident_links"]] == [
        (0.5, 2.0, "the shots")
    ]
    assert record["files"]["keyframes"] and (bag_dir / record["files"]["keyframes"][0]["file"]).is_file()
    assert json.loads((bag_dir / record["files"]["probe"]).read_text())["format"]
    incident = json.loads((bag_dir / "data" / "incidents" / f"{incident_ids[0]}.json").read_text())
    assert incident["links"][0]["clip_id"] == clip_ids[0] and incident["links"][0]["start_s"] == 0.5

    report = (bag_dir / "REPORT.html").read_text()
    assert "Case &lt;one&gt;" in report and sha in report and "data:image/jpeg;base64," in report
    assert "http://" not in report and "https://" not in report and "<script" not in report


@embedded_only
def test_export_is_a_custody_event_on_every_clip_it_holds(
    client: TestClient, keys: dict[str, str], clip_files: list[Path]
) -> None:
    clip_id = upload(client, keys["contributor"], clip_files[0].read_bytes()).json()["id"]
    done = export_and_wait(client, keys["admin"], clip_ids=[clip_id], include_originals=False)
    assert done["status"] == "ready"
    events = client.get(f"/api/v1/clips/{clip_id}/custody", headers=auth(keys["viewer"])).json()
    exported = [event for event in events["events"] if event["action"] == "exported"]
    assert events["verified"] and len(exported) == 1
    assert exported[0]["actor"] == "admin-key" and exported[0]["details"]["export_id"] == done["id"]


@embedded_only
def test_incident_export_holds_its_clips_segments_and_history(
    client: TestClient, keys: dict[str, str], clip_files: list[Path], tmp_path: Path
) -> None:
    _case_id, incident_ids, clip_ids = archived_case(client, keys, clip_files)
    done = export_and_wait(client, keys["analyst"], incident_id=incident_ids[1])
    assert done["status"] == "ready" and done["clip_ids"] == [clip_ids[1]]
    bag_dir = unpack(client.get(done["download_url"], headers=auth(keys["analyst"])).content, tmp_path)
    index = json.loads((bag_dir / "data" / "export.json").read_text())
    assert [clip["clip_id"] for clip in index["clips"]] == [clip_ids[1]]
    assert [incident["id"] for incident in index["incidents"]] == [incident_ids[1]] and index["cases"] == []
    history = (bag_dir / "data" / "history" / f"incident-{incident_ids[1]}.jsonl").read_text().splitlines()
    assert json.loads(history[0])["action"] == "created"
    assert run_verify(bag_dir).returncode == 0


def test_download_answers_a_range_and_is_logged(
    archive: Archive, client: TestClient, keys: dict[str, str], clip_files: list[Path]
) -> None:
    clip_id = upload(client, keys["contributor"], clip_files[0].read_bytes()).json()["id"]
    done = export_and_wait(client, keys["analyst"], clip_ids=[clip_id])
    url, key = done["download_url"], auth(keys["analyst"])
    whole = client.get(url, headers=key).content
    first = client.get(url, headers={**key, "Range": "bytes=0-99"})
    rest = client.get(url, headers={**key, "Range": "bytes=100-"})
    assert first.status_code == rest.status_code == 206
    assert first.headers["content-range"] == f"bytes 0-99/{len(whole)}"
    assert first.content + rest.content == whole
    beyond = client.get(url, headers={**key, "Range": f"bytes={len(whole)}-"})
    assert beyond.status_code == 416
    with archive.reads() as session:
        logged = session.scalars(select(AuditEvent.details).where(AuditEvent.action == "export_downloaded")).all()
    assert [json.loads(d)["range"] for d in logged] == [None, "bytes=0-99", f"bytes=100-{len(whole) - 1}"]


@embedded_only
def test_only_analysts_and_admins_may_export(client: TestClient, keys: dict[str, str], clip_files: list[Path]) -> None:
    clip_id = upload(client, keys["contributor"], clip_files[0].read_bytes()).json()["id"]
    for role in ("viewer", "contributor"):
        refused = client.post("/api/v1/exports", headers=auth(keys[role]), json={"clip_ids": [clip_id]})
        assert refused.status_code == 403 and "export needs the admin or analyst role" in refused.json()["detail"]
    done = export_and_wait(client, keys["analyst"], clip_ids=[clip_id])
    assert client.get(f"/api/v1/exports/{done['id']}", headers=auth(keys["viewer"])).status_code == 403
    assert client.get(done["download_url"], headers=auth(keys["contributor"])).status_code == 403
    assert client.get(done["download_url"]).status_code == 401


@embedded_only
def test_an_export_of_nothing_known_is_refused(client: TestClient, keys: dict[str, str]) -> None:
    key = auth(keys["analyst"])
    assert client.get("/api/v1/exports/no-such-export", headers=key).status_code == 404
    assert client.get("/api/v1/exports/no-such-export/download", headers=key).status_code == 404
    missing_case = client.post("/api/v1/exports", headers=key, json={"case_id": "no-such-case"})
    assert missing_case.status_code == 404 and "no case" in missing_case.json()["detail"]
    missing_clip = client.post("/api/v1/exports", headers=key, json={"clip_ids": ["no-such-clip"]})
    assert missing_clip.status_code == 404 and "no-such-clip" in missing_clip.json()["detail"]
    two_scopes = client.post("/api/v1/exports", headers=key, json={"case_id": "a", "incident_id": "b"})
    assert two_scopes.status_code == 422 and "exactly one of" in two_scopes.json()["detail"]
    assert client.post("/api/v1/exports", headers=key, json={}).status_code == 422
    assert client.post("/api/v1/exports", headers=key, json={"clip_ids": []}).status_code == 422
    broken = client.post("/api/v1/exports", headers={**key, "Content-Type": "application/json"}, content=b'{"case_id"')
    assert broken.status_code == 400 and broken.json()["error"] == "invalid_json"


@embedded_only
def test_an_original_altered_in_the_store_fails_the_export_with_the_reason(
    archive: Archive, client: TestClient, keys: dict[str, str], clip_files: list[Path]
) -> None:
    clip = upload(client, keys["contributor"], clip_files[0].read_bytes()).json()
    wait_until_done(client, keys["viewer"], clip["id"])
    with archive.reads() as session:
        blob_key = load_clip(session, clip["id"]).blob_key
    stored = archive.blobs.local_path(blob_key)
    assert stored is not None
    data = bytearray(stored.read_bytes())
    data[len(data) // 2] ^= 0x01
    stored.chmod(0o644)
    stored.write_bytes(bytes(data))
    done = export_and_wait(client, keys["analyst"], clip_ids=[clip["id"]])
    assert done["status"] == "failed" and done["download_url"] is None
    assert f"the stored original of clip {clip['id']} is not the one archived" in done["status_reason"]
    refused = client.get(f"/api/v1/exports/{done['id']}/download", headers=auth(keys["analyst"]))
    assert refused.status_code == 409 and "failed" in refused.json()["detail"]
    assert not [key for key in all_blob_keys(archive.blobs) if key.startswith("exports/")]


def test_a_missing_original_fails_the_export_naming_the_clip(
    archive: Archive, client: TestClient, keys: dict[str, str], clip_files: list[Path]
) -> None:
    clip = upload(client, keys["contributor"], clip_files[1].read_bytes()).json()
    wait_until_done(client, keys["viewer"], clip["id"])
    with archive.reads() as session:
        archive.blobs.delete(load_clip(session, clip["id"]).blob_key)
    done = export_and_wait(client, keys["analyst"], clip_ids=[clip["id"]])
    assert done["status"] == "failed"
    assert f"the original of clip {clip['id']}" in done["status_reason"] and "missing" in done["status_reason"]
    assert not [key for key in all_blob_keys(archive.blobs) if key.startswith("exports/")]
