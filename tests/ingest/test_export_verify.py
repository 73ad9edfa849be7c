"""verify.py, the checker every export carries, run as a recipient runs it (the system's python3,
outside Verity's virtualenv): it passes on a fresh export and fails, naming the item, for each kind
of tampering with the bag. The bag here carries real RFC 3161 tokens from a throw-away TSA
(tests/helpers/tsa.py), configured as a deployment configures one."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from storage.archive import open_archive
from storage.keys import create_key
from tests import media
from tests.conftest import auth
from tests.helpers.api_calls import create_incident, upload, wait_until_done
from tests.helpers.exports import export_and_wait, run_verify, unpack
from tests.helpers.tsa import LoopbackTsa, make_tsa_certificates, stamping
from verity.settings import Settings


@pytest.fixture(scope="module")
def fresh_bag(tmp_path_factory: pytest.TempPathFactory, tsa_server: LoopbackTsa) -> Iterator[Path]:
    """One case export (two clips, an incident with segments) from an archive with a time-stamping
    authority: the originals stamped at ingest, the bag's chain heads anchored and its manifest
    stamped by the export."""
    folder = tmp_path_factory.mktemp("export-verify")
    tsa_server.reset()
    archive = stamping(open_archive(Settings(data_dir=folder / "archive"), upgrade=True), tsa_server)
    with archive.sessions.begin() as session:
        _key, secret = create_key(session, "analyst-key", "analyst")
    with TestClient(create_app(archive=archive)) as client:
        clip_ids = []
        for number in range(2):
            clip = media.make_silent_clip(folder / f"clip{number}.mp4", seconds=3 + number)
            clip_id = upload(client, secret, clip.read_bytes()).json()["id"]
            body = wait_until_done(client, secret, clip_id)
            assert body["timestamp"]["state"] == "stamped", body["timestamp"]
            clip_ids.append(clip_id)
        incident_id, _ = create_incident(client, secret)
        for clip_id in clip_ids:
            link = {"clip_id": clip_id, "start_s": 0, "end_s": 1.5}
            assert client.post(f"/api/v1/incidents/{incident_id}/clips", headers=auth(secret), json=link)
        case_id = client.post("/api/v1/cases", headers=auth(secret), json={"title": "Case"}).json()["id"]
        client.put(f"/api/v1/cases/{case_id}/incidents/{incident_id}", headers=auth(secret))
        done = export_and_wait(client, secret, case_id=case_id)
        assert done["status"] == "ready", done
        bag = unpack(client.get(done["download_url"], headers=auth(secret)).content, folder / "bag")
    archive.close()
    yield bag


def export_anchor(bag: Path) -> str:
    """The anchor the export made over its chains' heads (the newest in the bag), as verify.py names it."""
    newest = max((bag / "data" / "timestamps").glob("anchor-*.json"), key=lambda p: int(p.stem.split("-")[1]))
    return newest.relative_to(bag).as_posix()


@pytest.fixture
def bag(fresh_bag: Path, tmp_path: Path) -> Path:
    """A copy of the fresh bag to tamper with."""
    return Path(shutil.copytree(fresh_bag, tmp_path / fresh_bag.name))


def index(bag: Path) -> dict:  # type: ignore[type-arg]
    return json.loads((bag / "data" / "export.json").read_text())


def reseal(bag: Path) -> None:
    """What a thorough forger does after editing the payload: new manifests and Payload-Oxum."""
    payload = sorted(p for p in (bag / "data").rglob("*") if p.is_file())
    lines = [f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.relative_to(bag).as_posix()}\n" for p in payload]
    (bag / "manifest-sha256.txt").write_text("".join(lines))
    info = [line for line in (bag / "bag-info.txt").read_text().splitlines() if not line.startswith("Payload-Oxum")]
    info.append(f"Payload-Oxum: {sum(p.stat().st_size for p in payload)}.{len(payload)}")
    (bag / "bag-info.txt").write_text("\n".join(info) + "\n")
    tags = sorted(
        p
        for p in bag.rglob("*")
        if p.is_file() and not p.is_relative_to(bag / "data") and p.name != "tagmanifest-sha256.txt"
    )
    (bag / "tagmanifest-sha256.txt").write_text(
        "".join(f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.relative_to(bag).as_posix()}\n" for p in tags)
    )


def failures(bag: Path) -> str:
    checked = run_verify(bag)
    assert checked.returncode == 1, checked.stdout
    return "\n".join(line for line in checked.stdout.splitlines() if line.startswith("FAIL"))


def test_a_fresh_export_verifies_tokens_included(fresh_bag: Path) -> None:
    checked = run_verify(fresh_bag)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    clip_ids = [clip["clip_id"] for clip in index(fresh_bag)["clips"]]
    for clip_id in clip_ids:
        assert f"OK    data/timestamps/original-{clip_id}.json: original token" in checked.stdout
    assert f"OK    {export_anchor(fresh_bag)}: anchor token" in checked.stdout
    assert "OK    timestamps/manifest.json: manifest token" in checked.stdout
    assert "FAIL" not in checked.stdout and "carries no trusted timestamps" not in checked.stdout


def test_a_flipped_byte_in_an_original_fails_naming_it(bag: Path) -> None:
    original = bag / index(bag)["clips"][0]["original"]
    data = bytearray(original.read_bytes())
    data[100] ^= 0x01
    original.write_bytes(bytes(data))
    said = failures(bag)
    assert f"FAIL  {original.relative_to(bag).as_posix()}: sha256 is" in said
    assert f"FAIL  clip {index(bag)['clips'][0]['clip_id']}:" in said


def test_an_edited_custody_line_fails_naming_its_chain(bag: Path) -> None:
    clip = index(bag)["clips"][1]
    custody = bag / clip["custody"]
    lines = custody.read_text().splitlines()
    # The export leaves the sources out (the uploaded event's `left_out`): that line is followed by
    # its hash, not recomputed; the next one is recomputed.
    assert "left_out" in json.loads(lines[0]) and "left_out" not in json.loads(lines[1])
    second = json.loads(lines[1])
    second["actor"] = "someone else"
    lines[1] = json.dumps(second, sort_keys=True, separators=(",", ":"))
    custody.write_text("\n".join(lines) + "\n")
    reseal(bag)
    said = failures(bag)
    assert (
        f"FAIL  {clip['custody']}: custody chain of {clip['clip_id']} does not verify: line 2 (seq 1) was altered"
        in said
    )


def test_the_newest_custody_line_removed_fails_against_the_anchored_head(bag: Path) -> None:
    clip = index(bag)["clips"][0]
    custody = bag / clip["custody"]
    custody.write_text("\n".join(custody.read_text().splitlines()[:-1]) + "\n")
    metadata = bag / clip["metadata"]
    record = json.loads(metadata.read_text())
    record["custody"]["length"] -= 1
    record["custody"]["head_hash"] = json.loads(custody.read_text().splitlines()[-1])["hash"]
    metadata.write_text(json.dumps(record))
    reseal(bag)
    said = failures(bag)
    assert f"OK    {clip['custody']}" in run_verify(bag).stdout  # what remains still verifies as a chain …
    assert f"FAIL  {export_anchor(bag)}: the custody chain {clip['clip_id']} was anchored with" in said
    assert "FAIL  timestamps/manifest.json: it stamps" in said  # … and the resealed manifest is not the stamped one


def test_a_swapped_token_fails_naming_it(bag: Path) -> None:
    clips = index(bag)["clips"]
    ours, theirs = (bag / "data" / "timestamps" / f"original-{clip['clip_id']}.tsr" for clip in clips)
    ours.write_bytes(theirs.read_bytes())
    reseal(bag)
    said = failures(bag)
    assert f"FAIL  data/timestamps/original-{clips[0]['clip_id']}.json: openssl ts -verify refused it" in said


def test_a_file_added_to_the_payload_fails(bag: Path) -> None:
    (bag / "data" / "originals" / "extra.mp4").write_bytes(b"not archived")
    assert "FAIL  data/originals/extra.mp4: in the payload but not in manifest-sha256.txt" in failures(bag)


def test_verify_py_checks_the_zip_itself(fresh_bag: Path, tmp_path: Path) -> None:
    zipped = shutil.make_archive(str(tmp_path / "bag"), "zip", fresh_bag.parent, fresh_bag.name)
    checked = run_verify(fresh_bag, zipped)
    assert checked.returncode == 0 and "verdict: OK" in checked.stdout, checked.stdout


def test_an_original_replaced_and_renamed_to_its_new_hash_fails_against_its_uploaded_event(bag: Path) -> None:
    exported = index(bag)
    clip = exported["clips"][0]
    forged = b"other footage"
    forged_sha = hashlib.sha256(forged).hexdigest()
    (bag / clip["original"]).unlink()
    clip["original"] = f"data/originals/{forged_sha}.mp4"
    (bag / clip["original"]).write_bytes(forged)
    clip["sha256"], clip["size_bytes"] = forged_sha, len(forged)
    (bag / "data" / "export.json").write_text(json.dumps(exported))
    metadata = json.loads((bag / clip["metadata"]).read_text())
    metadata["clip"]["sha256"] = forged_sha
    (bag / clip["metadata"]).write_text(json.dumps(metadata))
    reseal(bag)
    said = failures(bag)
    assert f"FAIL  clip {clip['clip_id']}: the export says sha256 {forged_sha}, its uploaded event" in said


def test_tokens_are_checked_against_the_roots_the_recipient_trusts(fresh_bag: Path, tmp_path: Path) -> None:
    stranger = make_tsa_certificates(tmp_path / "other-tsa")
    trusted = run_verify(fresh_bag, "--ca-file", str(fresh_bag / "timestamps" / "manifest.pem"))
    assert trusted.returncode == 0 and "note: the tokens were checked" not in trusted.stdout
    refused = run_verify(fresh_bag, "--ca-file", str(stranger.ca_pem))
    assert refused.returncode == 1
    assert "FAIL  timestamps/manifest.json: openssl ts -verify refused it" in refused.stdout


def test_a_line_marked_as_having_sources_left_out_must_be_a_receipt_with_them_redacted(bag: Path) -> None:
    clip = index(bag)["clips"][1]
    custody = bag / clip["custody"]
    lines = custody.read_text().splitlines()
    second = json.loads(lines[1])
    second.update(actor="someone else", left_out=["actor"])  # an edit trying to escape the recomputation
    lines[1] = json.dumps(second, sort_keys=True, separators=(",", ":"))
    custody.write_text("\n".join(lines) + "\n")
    reseal(bag)
    said = failures(bag)
    refused = f"FAIL  {clip['custody']}: custody chain of {clip['clip_id']} does not verify: line 2 (seq 1) is marked"
    assert refused in said


def redact(bag: Path, clip: dict, action: str, fields: tuple[str, ...], actor: bool = False) -> None:  # type: ignore[type-arg]
    """What an export of a case beyond one of the clip's other cases writes (storage/sources.py):
    the first `action` line of the clip's chain with `fields` of its details "redacted" (and its
    actor), named in `left_out`, its hash kept."""
    custody = bag / clip["custody"]
    lines = [json.loads(line) for line in custody.read_text().splitlines()]
    line = next(line for line in lines if line["action"] == action)
    details = json.loads(line["details"])
    details.update({name: "redacted" for name in fields})
    line["details"] = json.dumps(details, sort_keys=True, separators=(",", ":"))
    left_out = [f"details.{name}" for name in fields]
    if actor:
        line["actor"], left_out = "redacted", ["actor", *left_out]
    line["left_out"] = sorted({*line.get("left_out", []), *left_out})
    custody.write_text("".join(json.dumps(line, sort_keys=True, separators=(",", ":")) + "\n" for line in lines))


def test_an_export_of_another_case_left_out_is_followed_by_its_hash(bag: Path) -> None:
    clip = index(bag)["clips"][0]
    redact(bag, clip, "exported", ("export_id", "scope_id"), actor=True)
    reseal(bag)
    checked = run_verify(bag).stdout
    assert f"OK    {clip['custody']}: custody chain of {clip['clip_id']} verifies" in checked, checked
    assert "2 with sources left out" in checked  # the uploaded event's sources, and the export


def test_a_file_name_left_out_is_not_compared_and_said_so(bag: Path) -> None:
    clip = index(bag)["clips"][0]
    redact(bag, clip, "uploaded", ("filename",))
    metadata = json.loads((bag / clip["metadata"]).read_text())
    metadata["clip"]["filename"] = "redacted"
    (bag / clip["metadata"]).write_text(json.dumps(metadata))
    reseal(bag)
    said = next(
        line for line in run_verify(bag).stdout.splitlines() if line.startswith(f"OK    clip {clip['clip_id']}")
    )
    assert "its file name is left out for this export, so it is not compared" in said


def test_a_file_name_other_than_the_uploaded_one_fails(bag: Path) -> None:
    clip = index(bag)["clips"][0]
    metadata = json.loads((bag / clip["metadata"]).read_text())
    metadata["clip"]["filename"] = "another.mp4"
    (bag / clip["metadata"]).write_text(json.dumps(metadata))
    reseal(bag)
    said = failures(bag)
    assert f"FAIL  clip {clip['clip_id']}: its metadata names the file 'another.mp4', its uploaded event" in said
