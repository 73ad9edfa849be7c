"""Content Credentials (C2PA) through the API: read on ingest, shown on the clip, searchable, kept
whole for the export, and recorded in custody; a broken manifest is a finding, never a failed ingest."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from storage.archive import Archive
from storage.models import Clip
from tests import media
from tests.conftest import auth
from tests.helpers.api_calls import clip_ids, upload_analysed
from tests.helpers.backends import embedded_only
from tests.helpers.c2pa_signing import SigningChain, flip_byte, garble_manifest, make_signing_chain, sign_clip


@pytest.fixture(scope="module")
def chain() -> SigningChain:
    return make_signing_chain("Field camera 3")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory, chain: SigningChain) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("credentials-api")
    plain = media.make_h264_aac(folder / "plain.mp4", seconds=2)
    signed = sign_clip(plain, folder / "signed.mp4", chain)
    tampered = folder / "tampered.mp4"
    tampered.write_bytes(flip_byte(signed.read_bytes(), "mdat"))
    garbled = folder / "garbled.mp4"
    garbled.write_bytes(garble_manifest(signed.read_bytes()))
    anchors = folder / "anchors.pem"
    anchors.write_bytes(chain.root_pem)
    return {"plain": plain, "signed": signed, "tampered": tampered, "garbled": garbled, "anchors": anchors}


def test_signed_clip_shows_its_credentials_and_search_tells_it_from_an_unsigned_one(
    client: TestClient, keys: dict[str, str], files: dict[str, Path]
) -> None:
    signed, plain = upload_analysed(client, keys, files["signed"]), upload_analysed(client, keys, files["plain"])
    credentials = signed["content_credentials"]
    assert credentials["state"] == "signer_untrusted"  # no trust anchors configured
    assert credentials["claim_generator"] == "Verity test camera/1.0"
    assert credentials["signer"]["common_name"] == "Field camera 3"
    assert [(a["action"], a["digital_source_type"]) for a in credentials["actions"]] == [
        ("c2pa.created", "digitalCapture")
    ]
    assert plain["content_credentials"]["state"] == "none"
    viewer = keys["viewer"]
    assert clip_ids(client, viewer, "has_content_credentials=true") == [signed["id"]]
    assert clip_ids(client, viewer, "has_content_credentials=false") == [plain["id"]]
    assert clip_ids(client, viewer, "content_credentials_state=signer_untrusted") == [signed["id"]]
    assert clip_ids(client, viewer, "content_credentials_state=valid") == []


def test_the_whole_report_is_kept_and_its_digest_is_in_the_custody_chain(
    client: TestClient, keys: dict[str, str], files: dict[str, Path], archive: Archive
) -> None:
    clip_id = upload_analysed(client, keys, files["signed"])["id"]
    viewer = keys["viewer"]
    report = client.get(f"/api/v1/clips/{clip_id}/content-credentials", headers=auth(viewer))
    assert report.status_code == 200
    assert report.json()["validation_state"] == "Valid"
    custody = client.get(f"/api/v1/clips/{clip_id}/custody", headers=auth(viewer)).json()
    assert custody["verified"] is True
    [event] = [e for e in custody["events"] if e["action"] == "content_credentials_read"]
    with archive.sessions() as session:
        clip = session.get(Clip, clip_id)
        assert clip is not None and clip.content_credentials_report is not None
        stored = clip.content_credentials_report
    assert event["details"]["report_sha256"] == hashlib.sha256(stored.encode()).hexdigest()
    assert event["details"]["state"] == "signer_untrusted"
    assert event["details"]["signer"] == "Field camera 3"


@embedded_only
def test_with_the_signers_root_as_trust_anchor_the_clip_is_valid(
    client: TestClient, keys: dict[str, str], files: dict[str, Path], archive: Archive
) -> None:
    archive.settings.c2pa_trust_anchors = files["anchors"]
    credentials = upload_analysed(client, keys, files["signed"])["content_credentials"]
    assert (credentials["state"], credentials["signer_trusted"], credentials["failures"]) == ("valid", True, [])
    assert clip_ids(client, keys["viewer"], "content_credentials_state=valid") != []


@embedded_only
def test_a_clip_changed_after_signing_is_invalid_naming_the_assertion_and_still_ready(
    client: TestClient, keys: dict[str, str], files: dict[str, Path]
) -> None:
    clip = upload_analysed(client, keys, files["tampered"])
    credentials = clip["content_credentials"]
    assert credentials["state"] == "invalid"
    assert [f["assertion"] for f in credentials["failures"] if f["code"] == "assertion.bmffHash.mismatch"] == [
        "c2pa.hash.bmff.v3"
    ]
    assert "assertion.bmffHash.mismatch (c2pa.hash.bmff.v3)" in credentials["reason"]
    assert clip_ids(client, keys["viewer"], "content_credentials_state=invalid") == [clip["id"]]


@embedded_only
def test_a_malformed_manifest_is_a_warning_not_a_failed_ingest(
    client: TestClient, keys: dict[str, str], files: dict[str, Path]
) -> None:
    clip = upload_analysed(client, keys, files["garbled"])  # ends ready, keyframes and all
    credentials = clip["content_credentials"]
    assert credentials["state"] == "malformed"
    assert "could not be read" in credentials["reason"]
    viewer = keys["viewer"]
    assert clip_ids(client, viewer, "has_content_credentials=true") == [clip["id"]]  # something is there
    report = client.get(f"/api/v1/clips/{clip['id']}/content-credentials", headers=auth(viewer))
    assert report.status_code == 404 and "malformed" in report.json()["detail"]


@embedded_only
def test_a_clip_not_yet_read_says_so_and_matches_neither_search(
    client: TestClient, keys: dict[str, str], files: dict[str, Path], archive: Archive
) -> None:
    clip_id = upload_analysed(client, keys, files["plain"])["id"]
    with archive.sessions.begin() as session:  # as migration 0017 leaves a clip analysed before it
        clip = session.get(Clip, clip_id)
        assert clip is not None
        clip.content_credentials = clip.content_credentials_state = clip.content_credentials_report = None
    viewer = keys["viewer"]
    body = client.get(f"/api/v1/clips/{clip_id}", headers=auth(viewer)).json()
    assert body["content_credentials"]["state"] == "not_read"
    assert clip_ids(client, viewer, "has_content_credentials=true") == []
    assert clip_ids(client, viewer, "has_content_credentials=false") == []
    assert clip_ids(client, viewer, "content_credentials_state=not_read") == [clip_id]
