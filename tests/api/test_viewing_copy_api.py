"""The viewing copy through the API: the clip says whether a browser plays its original and where
its copy is; the copy streams with ranges and says it is not the original; an export holds the
original as evidence and not the copy."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests import media
from tests.conftest import auth
from tests.helpers.api_calls import upload_analysed
from tests.helpers.backends import embedded_only
from tests.helpers.exports import export_and_wait, unpack


@pytest.fixture(scope="module")
def footage(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("viewing-api")
    return {
        "hevc": media.make_hevc_mov(folder / "IMG_0042.MOV"),
        "h264": media.make_h264_aac(folder / "VID_0001.mp4"),
    }


def custody_details(client: TestClient, key: str, clip_id: str, action: str) -> list[dict[str, Any]]:
    events = client.get(f"/api/v1/clips/{clip_id}/custody", headers=auth(key)).json()["events"]
    return [event["details"] for event in events if event["action"] == action]


def test_clip_names_its_viewing_copy_which_streams_labelled_as_not_the_original(
    client: TestClient, keys: dict[str, str], footage: dict[str, Path]
) -> None:
    clip = upload_analysed(client, keys, footage["hevc"])
    assert clip["browser_playable"] is False and clip["viewing_copy_warning"] is None
    copy = clip["viewing_copy"]
    assert copy["url"] == f"/api/v1/clips/{clip['id']}/viewing-copy"
    assert copy["label"] == "viewing copy, not the original"
    assert (copy["content_type"], copy["video_codec"], copy["audio_codec"]) == ("video/mp4", "h264", None)
    assert any("hevc" in reason for reason in copy["needed_because"])
    served = client.get(copy["url"], headers=auth(keys["viewer"]))
    assert served.status_code == 200, served.text
    assert served.headers["content-type"] == "video/mp4"
    assert served.headers["verity-derivative"] == "viewing-copy; not-the-original"
    assert served.headers["accept-ranges"] == "bytes"
    assert served.headers["etag"] == f'"{copy["sha256"]}"'
    assert served.headers["content-disposition"].startswith(f'inline; filename="{clip["id"]}-viewing-copy.mp4"')
    assert "IMG_0042-viewing-copy.mp4" in served.headers["content-disposition"]
    digest = hashlib.sha256(served.content).hexdigest()
    [made] = custody_details(client, keys["viewer"], clip["id"], "viewing_copy_made")
    assert digest == made["sha256"] == copy["sha256"] != clip["sha256"]
    assert len(served.content) == made["size_bytes"] == copy["size_bytes"]
    assert not custody_details(client, keys["viewer"], clip["id"], "downloaded")  # watching is not taking


def test_viewing_copy_answers_ranges(client: TestClient, keys: dict[str, str], footage: dict[str, Path]) -> None:
    clip = upload_analysed(client, keys, footage["hevc"])
    url, size, etag = (
        clip["viewing_copy"]["url"],
        clip["viewing_copy"]["size_bytes"],
        f'"{clip["viewing_copy"]["sha256"]}"',
    )
    whole = client.get(url, headers=auth(keys["viewer"])).content
    part = client.get(url, headers={**auth(keys["viewer"]), "Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == whole[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{size}" and part.headers["content-length"] == "100"
    tail = client.get(url, headers={**auth(keys["viewer"]), "Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == whole[-10:]
    beyond = client.get(url, headers={**auth(keys["viewer"]), "Range": f"bytes={size}-"})
    assert beyond.status_code == 416 and beyond.headers["content-range"] == f"bytes */{size}"
    other = client.get(url, headers={**auth(keys["viewer"]), "Range": "bytes=0-9", "If-Range": '"another"'})
    assert other.status_code == 200 and other.content == whole
    cached = client.get(url, headers={**auth(keys["viewer"]), "If-None-Match": etag})
    assert cached.status_code == 304


def test_browser_playable_clip_has_no_viewing_copy_and_says_why(
    client: TestClient, keys: dict[str, str], footage: dict[str, Path]
) -> None:
    clip = upload_analysed(client, keys, footage["h264"])
    assert clip["browser_playable"] is True and clip["viewing_copy"] is None
    answer = client.get(f"/api/v1/clips/{clip['id']}/viewing-copy", headers=auth(keys["viewer"]))
    assert answer.status_code == 404
    assert "browsers play its original as it is" in answer.json()["detail"]


@embedded_only
def test_export_holds_the_original_as_evidence_and_not_the_viewing_copy(
    client: TestClient, keys: dict[str, str], footage: dict[str, Path], tmp_path: Path
) -> None:
    clip = upload_analysed(client, keys, footage["hevc"])
    done = export_and_wait(client, keys["analyst"], clip_ids=[clip["id"]], include_keyframes=True)
    assert done["status"] == "ready", done
    bag = unpack(client.get(done["download_url"], headers=auth(keys["analyst"])).content, tmp_path)
    copy_sha = clip["viewing_copy"]["sha256"]
    hashes = {hashlib.sha256(path.read_bytes()).hexdigest() for path in bag.rglob("*") if path.is_file()}
    assert clip["sha256"] in hashes and copy_sha not in hashes
    assert [p.name for p in (bag / "data" / "originals").iterdir()] == [f"{clip['sha256']}.mov"]
    # Its custody log, in the bag, still tells that the copy was made and what it hashed to.
    assert copy_sha in (bag / "data" / "custody" / f"{clip['id']}.jsonl").read_text()
