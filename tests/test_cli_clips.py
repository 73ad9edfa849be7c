"""`verity clip show|custody|related|download|keyframes` against a real `verity serve`: what a person
needs to read a clip, take its original and its keyframes away, and find its copies, with ids and
hashes kept whole at 80 columns."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests import media
from tests.conftest import RunningServer, running_server
from tests.helpers.c2pa_signing import make_signing_chain, sign_clip
from tests.helpers.investigator import Investigator

NARROW = {"COLUMNS": "80"}


@dataclass(frozen=True)
class Archived:
    server: RunningServer
    api: httpx.Client
    clips: dict[str, str]  # name → clip id
    files: dict[str, Path]

    def verity(self) -> Investigator:
        return Investigator(self.server, self.server.admin_key)


def _upload(api: httpx.Client, path: Path) -> str:
    answer = api.post("/api/v1/clips", files={"file": (path.name, path.read_bytes(), "application/octet-stream")})
    assert answer.status_code == 201, answer.text
    clip_id: str = answer.json()["id"]
    return clip_id


def _analysed(api: httpx.Client, clip_id: str) -> dict[str, object]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        clip: dict[str, object] = api.get(f"/api/v1/clips/{clip_id}").json()
        if clip["status"] not in ("queued", "processing"):
            return clip
        time.sleep(0.2)
    raise AssertionError(f"clip {clip_id} was not analysed in time")


@pytest.fixture(scope="module")
def archived(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Archived]:
    folder = tmp_path_factory.mktemp("clip-commands")
    source = media.make_source(folder / "source.mp4", seconds=9)
    files = {
        "tagged": media.make_tagged_clip(folder / "IMG_0412.MOV"),
        "source": source,
        "excerpt": media.make_copy(folder / "excerpt.mp4", source, "-ss", "3", "-t", "5", "-i", "-vf", "scale=320:180"),
        "text": folder / "notes.txt",
        "corrupted": folder / "corrupted.bin",
        "signed": sign_clip(
            media.make_h264_aac(folder / "plain.mp4", 2), folder / "VID_signed.mp4", make_signing_chain()
        ),
    }
    files["text"].write_text("a text file, not footage\n" * 100)
    files["corrupted"].write_bytes(b"bytes that will be damaged in the archive\n" * 100)
    with running_server(folder, {}) as server:
        api = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {server.admin_key}"}, timeout=60)
        clips = {}
        for name in ("tagged", "source", "excerpt", "text", "corrupted", "signed"):  # the excerpt after its source
            clips[name] = _upload(api, files[name])
            _analysed(api, clips[name])
        yield Archived(server, api, clips, files)
        api.close()


def test_clip_show_gives_duration_place_and_device(archived: Archived) -> None:
    shown = archived.verity()("clip", "show", archived.clips["tagged"]).stdout
    assert "duration: 3.0 s" in shown, shown
    assert "place: 35.7006, 51.3347" in shown, shown
    assert "device: Apple iPhone 8 (software 13.1.3)" in shown, shown
    assert "timestamp: not configured" in shown and "fixity: not checked yet" in shown, shown


def test_clip_show_gives_the_reason_for_its_status(archived: Archived) -> None:
    reason = archived.api.get(f"/api/v1/clips/{archived.clips['text']}").json()["status_reason"]
    assert reason
    shown = archived.verity()("clip", "show", archived.clips["text"]).stdout
    assert f"unsupported: {reason}" in shown, shown
    assert "media: none (the file could not be read as media)" in shown, shown


def test_clip_show_gives_the_content_credentials_state_claim_and_signer(archived: Archived) -> None:
    shown = " ".join(archived.verity()("clip", "show", archived.clips["signed"]).stdout.split())
    assert "content credentials: signer_untrusted: Verity test camera/1.0, signed by Test camera 7: " in shown, shown
    assert "content credentials" not in archived.verity()("clip", "show", archived.clips["tagged"]).stdout


def test_clip_show_json_is_the_clip_with_its_incident_links(archived: Archived) -> None:
    clip_id = archived.clips["tagged"]
    shown = json.loads(archived.verity()("clip", "show", clip_id, "--json").stdout)
    assert shown == {**archived.api.get(f"/api/v1/clips/{clip_id}").json(), "incident_links": []}


def test_clip_custody_json_is_the_api_log(archived: Archived) -> None:
    clip_id = archived.clips["tagged"]
    printed = json.loads(archived.verity()("clip", "custody", clip_id, "--json").stdout)
    log = archived.api.get(f"/api/v1/clips/{clip_id}/custody").json()
    # The CLI's own read is the last event; the log before it is the same.
    assert printed["verified"] is True
    assert printed["events"] == log["events"][: len(printed["events"])]


def test_clip_custody_keeps_every_hash_whole_at_80_columns(archived: Archived) -> None:
    clip_id = archived.clips["tagged"]
    shown = archived.verity()("clip", "custody", clip_id, env=NARROW).stdout
    log = archived.api.get(f"/api/v1/clips/{clip_id}/custody").json()
    for event in log["events"]:
        assert event["hash"] in shown, shown
    assert "…" not in shown


def test_clip_related_lists_the_copies_with_whole_ids_at_80_columns(archived: Archived) -> None:
    shown = archived.verity()("clip", "related", archived.clips["excerpt"], env=NARROW).stdout
    assert archived.clips["source"] in shown, shown
    assert f"first seen: clip {archived.clips['source']}" in shown, shown
    [copy] = archived.api.get(f"/api/v1/clips/{archived.clips['excerpt']}/related").json()["related"]
    first = copy["segments"][0]  # where the excerpt's footage sits in the source
    assert f"{first['clip_start_s']:.1f}–{first['clip_start_s'] + first['duration_s']:.1f}" in shown, shown
    assert "found by" in shown and "picture" in shown, shown  # the excerpt has no sound
    assert "…" not in shown


def test_clip_related_json_is_the_api_answer(archived: Archived) -> None:
    clip_id = archived.clips["source"]
    printed = json.loads(archived.verity()("clip", "related", clip_id, "--json").stdout)
    assert printed == archived.api.get(f"/api/v1/clips/{clip_id}/related").json()
    assert [copy["clip_id"] for copy in printed["related"]] == [archived.clips["excerpt"]]


def test_clip_download_writes_the_original_and_names_its_sha256(archived: Archived, tmp_path: Path) -> None:
    target = tmp_path / "evidence.mov"
    done = archived.verity()("clip", "download", archived.clips["tagged"], "--output", str(target))
    original = archived.files["tagged"].read_bytes()
    assert target.read_bytes() == original
    assert f"sha256 {hashlib.sha256(original).hexdigest()} checked" in done.stdout, done.stdout


def test_clip_download_without_output_uses_the_clip_filename(archived: Archived, tmp_path: Path) -> None:
    archived.verity()("clip", "download", archived.clips["tagged"], cwd=tmp_path)
    assert (tmp_path / "IMG_0412.MOV").read_bytes() == archived.files["tagged"].read_bytes()


def test_clip_download_never_overwrites_a_file(archived: Archived, tmp_path: Path) -> None:
    target = tmp_path / "mine.mov"
    target.write_bytes(b"someone else's file")
    refused = archived.verity()("clip", "download", archived.clips["tagged"], "--output", str(target), ok=False)
    assert refused.returncode == 1
    assert "already exists" in refused.stderr
    assert target.read_bytes() == b"someone else's file"


def test_clip_download_of_a_damaged_original_fails_and_keeps_nothing(archived: Archived, tmp_path: Path) -> None:
    original = archived.files["corrupted"].read_bytes()
    [stored] = [
        p for p in (archived.server.data_dir / "blobs").rglob("*") if p.is_file() and p.read_bytes() == original
    ]
    stored.write_bytes(original.replace(b"damaged", b"DAMAGED"))  # same length: only the hash can tell
    target = tmp_path / "copy.bin"
    refused = archived.verity()("clip", "download", archived.clips["corrupted"], "--output", str(target), ok=False)
    assert refused.returncode == 1
    # The server cuts the body off before its last chunk, and records the failure on the clip.
    assert "the download ended after 0 of" in refused.stderr and "nothing was kept" in refused.stderr
    assert list(tmp_path.iterdir()) == []
    assert archived.api.get(f"/api/v1/clips/{archived.clips['corrupted']}").json()["fixity"] == "failed"


def test_clip_keyframes_saves_each_jpeg_into_a_folder(archived: Archived, tmp_path: Path) -> None:
    clip_id = archived.clips["source"]
    folder = tmp_path / "frames"
    done = archived.verity()("clip", "keyframes", clip_id, "--output", str(folder)).stdout
    listed = archived.api.get(f"/api/v1/clips/{clip_id}/keyframes").json()
    assert len(listed) >= 3
    saved = sorted(folder.iterdir())
    assert len(saved) == len(listed)
    for path, keyframe in zip(saved, listed, strict=True):
        assert path.read_bytes() == archived.api.get(keyframe["url"]).content
        assert path.read_bytes()[:2] == b"\xff\xd8"
        assert str(path) in done, done


def test_clip_keyframes_json_lists_each_saved_file(archived: Archived, tmp_path: Path) -> None:
    clip_id = archived.clips["source"]
    printed = json.loads(archived.verity()("clip", "keyframes", clip_id, "--json", cwd=tmp_path).stdout)
    listed = archived.api.get(f"/api/v1/clips/{clip_id}/keyframes").json()
    assert [{k: v for k, v in item.items() if k != "file"} for item in printed] == listed
    for item in printed:
        assert (tmp_path / item["file"]).is_file()


def test_clip_reject_confirm_and_family_decide_a_copy_and_show_its_family(archived: Archived) -> None:
    source, excerpt = archived.clips["source"], archived.clips["excerpt"]
    verity = archived.verity()
    rejected = verity("clip", "reject", excerpt, source, "--note", "looked different at first").stdout
    assert f"clip {excerpt} and clip {source}: rejected" in " ".join(rejected.split()), rejected
    related = verity("clip", "related", excerpt).stdout
    assert "no archived copies" in related and f"rejected (never suggested again): {source}" in related, related
    printed = json.loads(verity("clip", "confirm", excerpt, source, "--note", "same skyline", "--json").stdout)
    assert printed == archived.api.get(f"/api/v1/clips/{excerpt}/related/{source}/decision").json()
    assert printed["decision"] == "confirmed" and printed["note"] == "same skyline"
    shown = verity("clip", "family", excerpt, env=NARROW).stdout
    assert source in shown and excerpt in shown and "yes" in shown and "…" not in shown, shown
    family = json.loads(verity("clip", "family", excerpt, "--json").stdout)
    assert family == archived.api.get(f"/api/v1/clips/{excerpt}/family").json()
    assert family["first_seen_clip_id"] == source
    refused = archived.verity()("clip", "confirm", excerpt, excerpt, "--note", "n", ok=False)
    assert refused.returncode == 1 and "itself" in refused.stderr, refused.stderr
