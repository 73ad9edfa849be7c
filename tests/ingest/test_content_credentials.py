"""Reading Content Credentials (C2PA) from clips signed in the test with a throw-away certificate:
what they claim, and whether the claim holds for the bytes and the configured trust anchors."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from ingest.content_credentials import read_content_credentials
from ingest.ffmpeg import Limits
from tests import media
from tests.helpers.c2pa_signing import (
    PARENT,
    SigningChain,
    flip_byte,
    garble_manifest,
    make_signing_chain,
    sign_clip,
    validation_state,
    with_large_box,
)


@pytest.fixture(scope="module")
def chain() -> SigningChain:
    return make_signing_chain("Test camera 7")


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("credentials")


@pytest.fixture(scope="module")
def plain(folder: Path) -> Path:
    return media.make_h264_aac(folder / "plain.mp4", seconds=2)


@pytest.fixture(scope="module")
def signed(folder: Path, plain: Path, chain: SigningChain) -> Path:
    return sign_clip(plain, folder / "signed.mp4", chain)


@pytest.fixture(scope="module")
def anchors(folder: Path, chain: SigningChain) -> Path:
    path = folder / "anchors.pem"
    path.write_bytes(chain.root_pem)
    return path


def test_signed_clip_says_who_signed_it_with_what_and_how_it_was_made(signed: Path) -> None:
    credentials = read_content_credentials(signed)
    assert credentials.claim_generator == "Verity test camera/1.0"
    assert credentials.signer is not None
    assert (credentials.signer.common_name, credentials.signer.issuer) == ("Test camera 7", "Verity test camera maker")
    assert credentials.signer.algorithm == "Es256"
    assert credentials.signed_at is None  # signed without a timestamp authority
    assert [(a.action, a.digital_source_type) for a in credentials.actions] == [("c2pa.created", "digitalCapture")]
    assert credentials.ingredients == []
    assert credentials.manifest_count == 1 and credentials.active_manifest
    assert credentials.report and credentials.active_manifest in credentials.report


def test_intact_signature_from_an_unknown_signer_is_signer_untrusted(signed: Path) -> None:
    credentials = read_content_credentials(signed)
    assert credentials.state == "signer_untrusted"
    assert credentials.signer_trusted is False and credentials.trust_anchors_configured is False
    assert "VERITY_C2PA_TRUST_ANCHORS" in (credentials.reason or "")
    assert [f.code for f in credentials.failures] == ["signingCredential.untrusted"]


def test_signature_chaining_to_a_configured_trust_anchor_is_valid(signed: Path, anchors: Path) -> None:
    credentials = read_content_credentials(signed, trust_anchors=anchors)
    assert (credentials.state, credentials.validation_state, credentials.signer_trusted) == ("valid", "Trusted", True)
    assert credentials.failures == [] and credentials.reason is None


def test_signer_of_another_root_stays_untrusted_with_trust_anchors_configured(
    folder: Path, plain: Path, anchors: Path
) -> None:
    stranger = sign_clip(plain, folder / "stranger.mp4", make_signing_chain("Someone else"))
    credentials = read_content_credentials(stranger, trust_anchors=anchors)
    assert credentials.state == "signer_untrusted" and credentials.trust_anchors_configured
    assert "none of the configured trust anchors" in (credentials.reason or "")


def test_a_byte_changed_in_the_media_after_signing_is_invalid_naming_the_hash_assertion(
    folder: Path, signed: Path, anchors: Path
) -> None:
    tampered = folder / "tampered.mp4"
    tampered.write_bytes(flip_byte(signed.read_bytes(), "mdat"))
    credentials = read_content_credentials(tampered, trust_anchors=anchors)
    assert credentials.state == "invalid"
    failed = [(f.code, f.assertion) for f in credentials.failures]
    assert failed == [("assertion.bmffHash.mismatch", "c2pa.hash.bmff.v3")]
    assert credentials.reason == "fails: assertion.bmffHash.mismatch (c2pa.hash.bmff.v3)"
    assert credentials.signer_trusted is True  # the signature itself still holds: the bytes do not
    assert credentials.claim_generator == "Verity test camera/1.0"  # what it claimed is still shown


def test_an_unreadable_manifest_is_malformed_with_the_readers_reason(folder: Path, signed: Path) -> None:
    garbled = garble_manifest(signed.read_bytes())
    with pytest.raises(Exception, match="readable manifest"):
        validation_state(garbled)  # the reader itself refuses it
    path = folder / "garbled.mp4"
    path.write_bytes(garbled)
    credentials = read_content_credentials(path)
    assert credentials.state == "malformed" and credentials.present
    assert "without a readable manifest" in (credentials.reason or "")
    assert credentials.report is None


def test_an_unsigned_clip_has_none(plain: Path) -> None:
    credentials = read_content_credentials(plain)
    assert (credentials.state, credentials.present, credentials.report) == ("none", False, None)
    assert credentials.reason is None and credentials.failures == []


def test_a_format_the_reader_does_not_look_in_is_unsupported(folder: Path) -> None:
    credentials = read_content_credentials(media.make_vp9_webm(folder / "clip.webm"))
    assert credentials.state == "unsupported" and not credentials.present
    assert "not a format" in (credentials.reason or "")


def test_a_manifest_the_file_only_points_to_is_not_fetched(folder: Path, plain: Path, chain: SigningChain) -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/manifest.c2pa"
        pointing = sign_clip(plain, folder / "pointing.mp4", chain, remote_url=url)
        credentials = read_content_credentials(pointing)
        listener.settimeout(0.2)
        with pytest.raises(TimeoutError):
            listener.accept()  # nobody came to fetch it
    assert credentials.state == "unsupported"
    assert "not fetched" in (credentials.reason or "") and url in (credentials.reason or "")


def test_an_edit_of_a_signed_clip_names_it_as_its_ingredient(
    folder: Path, plain: Path, signed: Path, chain: SigningChain
) -> None:
    edited = sign_clip(
        plain,
        folder / "edited.mp4",
        chain,
        actions=[{"action": "c2pa.opened", "parameters": {"ingredientIds": [PARENT]}}, {"action": "c2pa.edited"}],
        ingredient=signed,
    )
    credentials = read_content_credentials(edited)
    assert [(i.title, i.relationship, i.has_manifest) for i in credentials.ingredients] == [
        ("signed.mp4", "parentOf", True)
    ]
    assert [a.action for a in credentials.actions] == ["c2pa.opened", "c2pa.edited"]
    assert credentials.manifest_count == 2


def test_read_in_a_confined_child_process_it_is_what_it_is_here(signed: Path, anchors: Path) -> None:
    here = read_content_credentials(signed, trust_anchors=anchors)
    there = read_content_credentials(signed, trust_anchors=anchors, limits=Limits(timeout_s=60, memory_mb=512))
    assert there == here and there.report == here.report and there.state == "valid"


def test_a_box_larger_than_the_readers_memory_limit_leaves_the_credentials_not_read(
    folder: Path, plain: Path, chain: SigningChain
) -> None:
    large = sign_clip(with_large_box(plain, folder / "long.mp4", 96), folder / "long-signed.mp4", chain)
    assert read_content_credentials(large).state == "signer_untrusted"  # readable with memory enough
    credentials = read_content_credentials(large, limits=Limits(timeout_s=60, memory_mb=100))
    assert credentials.state == "not_read"  # and this process still stands: the child aborted, not us
    assert "more memory than the limit of 100 MB" in (credentials.reason or "")


def test_a_reading_past_the_time_limit_leaves_the_credentials_not_read(signed: Path) -> None:
    credentials = read_content_credentials(signed, limits=Limits(timeout_s=0.001, memory_mb=512))
    assert credentials.state == "not_read" and "longer than the limit" in (credentials.reason or "")


def test_trust_anchors_that_cannot_be_read_leave_the_credentials_not_read(folder: Path, signed: Path) -> None:
    credentials = read_content_credentials(signed, trust_anchors=folder / "missing.pem")
    assert credentials.state == "not_read"
    assert "trust anchors could not be used" in (credentials.reason or "")
