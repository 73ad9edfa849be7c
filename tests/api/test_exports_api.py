"""Evidence exports through the API: a case, an incident or clips become one BagIt zip that
validates with the `bagit` library and whose verify.py passes outside Verity."""

from __future__ import annotations

import json
from pathlib import Path

import bagit
import pytest
from fastapi.testclient import TestClient

from tests import media
from tests.conftest import auth
from tests.helpers.api_calls import create_incident, upload, wait_until_done
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
    for clip_id in clip_ids:
        assert f"OK    clip {clip_id}: sha256" in checked.stdout
        assert f"OK    data/custody/{clip_id}.jsonl: custody chain of {clip_id} verifies" in checked.stdout
    for incident_id in incident_ids:
        assert f"data/history/incident-{incident_id}.jsonl: incident chain" in checked.stdout
    assert f"OK    data/history/case-{case_id}.jsonl: case chain" in checked.stdout

    sha = client.get(f"/api/v1/clips/{clip_ids[0]}", headers=auth(keys["viewer"])).json()["sha256"]
    assert (bag_dir / "data" / "originals" / f"{sha}.mp4").is_file()
    record = json.loads((bag_dir / "data" / "clips" / f"{clip_ids[0]}.json").read_text())
    assert record["content_credentials"] is None and record["fixity_history"] == [] and record["timestamp"] is None
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
