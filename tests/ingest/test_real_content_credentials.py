"""Content Credentials of real files (c2pa-python's own fixtures), read as the reference reader
reads them (its reports in `expected/`), and through the whole pipeline."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ingest.content_credentials import read_content_credentials
from storage.archive import Archive
from tests.conftest import SHARED
from tests.helpers.backends import embedded_only
from tests.helpers.pipeline import ingest_file, load

C2PA = SHARED / "fixtures" / "real" / "c2pa"
if not C2PA.is_dir():  # one skip for the module, not one per file
    pytest.skip(f"{C2PA} is absent (../shared is not beside the checkout)", allow_module_level=True)


def expected(name: str) -> dict[str, Any]:
    report: dict[str, Any] = json.loads((C2PA / "expected" / f"{name}.c2pa.json").read_text(encoding="utf-8"))
    return report


@pytest.mark.parametrize("name", ["legacy.mp4", "dashinit.mp4", "C.jpg", "E-sig-CA.jpg"])
def test_state_failures_and_claim_are_those_of_the_reference_report(name: str) -> None:
    peer = expected(name)
    credentials = read_content_credentials(C2PA / name)
    assert credentials.validation_state == peer["_validation_state"]
    assert [f.code for f in credentials.failures] == [s["code"] for s in peer["validation_status"]]
    assert credentials.active_manifest == peer["active_manifest"]
    manifest = peer["manifests"][peer["active_manifest"]]
    assert credentials.manifest_count == len(peer["manifests"])
    assert credentials.signer is not None
    assert credentials.signer.common_name == manifest["signature_info"]["common_name"]
    assert credentials.signed_at == manifest["signature_info"].get("time")


@pytest.mark.parametrize("name", ["A.jpg", "C-recorded-as-mov.mov", "test.avi"])
def test_files_without_a_manifest_have_none(name: str) -> None:
    if name != "test.avi":  # the reference reader found nothing in these either
        assert expected(name)["_error"] == "_C2paManifestNotFound"
    assert read_content_credentials(C2PA / name).state == "none"


def test_a_re_signed_camera_clip_shows_its_signer_time_actions_and_parent() -> None:
    credentials = read_content_credentials(C2PA / "legacy.mp4")
    assert credentials.state == "signer_untrusted"  # its test signer chains to no configured anchor
    assert credentials.claim_generator == "TestApp c2patool/0.3.8 c2pa-rs/0.16.1"
    assert credentials.signer is not None and credentials.signer.common_name == "mauricefisher@nc.rr.com"
    assert credentials.signed_at == "2023-02-21T15:09:04+00:00"  # from the timestamp in its signature
    assert [a.action for a in credentials.actions] == ["c2pa.opened"]
    assert [(i.title, i.relationship, i.has_manifest) for i in credentials.ingredients] == [
        ("video1.mp4", "parentOf", True)
    ]


def test_a_dash_init_segment_read_alone_fails_its_bmff_hash() -> None:
    credentials = read_content_credentials(C2PA / "dashinit.mp4")
    assert credentials.state == "invalid"
    assert credentials.reason == "fails: assertion.bmffHash.mismatch (c2pa.hash.bmff.v2)"


def test_a_damaged_claim_signature_is_invalid() -> None:
    credentials = read_content_credentials(C2PA / "E-sig-CA.jpg")
    assert credentials.state == "invalid" and credentials.reason == "fails: claimSignature.mismatch"


@embedded_only
def test_the_pipeline_records_the_credentials_of_a_real_signed_clip(archive: Archive) -> None:
    clip, _keyframes, actions = load(archive, ingest_file(archive, C2PA / "legacy.mp4"))
    assert clip.status == "ready", clip.status_reason
    assert clip.content_credentials_state == "signer_untrusted"
    assert json.loads(clip.content_credentials or "{}")["ingredients"][0]["title"] == "video1.mp4"
    assert "content_credentials_read" in actions


@embedded_only
def test_a_signed_still_image_is_unsupported_media_with_its_credentials_read(archive: Archive) -> None:
    clip, _keyframes, _actions = load(archive, ingest_file(archive, C2PA / "C.jpg"))
    assert clip.status == "unsupported"  # no moving picture to analyse…
    assert clip.content_credentials_state == "signer_untrusted"  # …but what it claims is on record
