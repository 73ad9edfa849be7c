"""Tampering with a clip's records and its original, as someone holding the database (its guard
triggers lifted) and the object store could, on both databases and both stores: which layer
catches each kind.

Each row of TAMPERINGS names the layers that must catch it. Each layer looks at a clip of its own,
tampered the same way, so what one layer records (a fixity failure, say) cannot help another. The
clips' chains are anchored under a timestamp from a real (loopback) authority before the
tampering, as the hourly anchoring would have: the anchor layer is that check alone, and the
export layer is an evidence export made after the tampering, checked by its own verify.py as a
recipient runs it (or refused by the export itself, which reads every original). Verity's own
chain check (and so the fixity audit) holds a chain to its anchored head too: that is what
catches a chain recomputed with its rows to match, or cut back."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from ingest.anchors import anchor_heads
from ingest.export import bag_key, request_export, run_export
from ingest.fixity import check_clip
from storage.anchors import ChainHead, check_against_anchor
from storage.archive import Archive
from storage.chain import ChainCheck
from storage.custody import append_event, list_events
from storage.exports import ExportRequest
from storage.keys import create_key
from storage.models import Clip
from storage.vouched import check_custody
from tests.conftest import auth
from tests.helpers.evidence import EvidencedClip, edit, evidenced_clip, guarded_edit, rewrite_chain
from tests.helpers.exports import run_verify, unpack
from tests.helpers.tsa import LoopbackTsa, stamping

CHAIN_CHECK, FIXITY_AUDIT, DOWNLOAD = "chain check", "fixity audit", "download"
TIMESTAMP_ANCHOR, EXPORT_VERIFIER = "timestamp anchor", "export verifier"
Tamper = Callable[[Archive, EvidencedClip], None]


def _events(archive: Archive, clip_id: str) -> list[dict[str, object]]:
    with archive.sessions() as session:
        return [
            {"seq": e.seq, "action": e.action, "details": json.loads(e.details)} for e in list_events(session, clip_id)
        ]


def recompute_chain(archive: Archive, clip: EvidencedClip) -> None:
    uploaded = _events(archive, clip.clip_id)[0]
    rewrite_chain(archive, clip.clip_id, 0, {**uploaded["details"], "source": "witness Z"})  # type: ignore[dict-item]


def recompute_chain_and_rows(archive: Archive, clip: EvidencedClip) -> None:
    recompute_chain(archive, clip)
    edit(archive, "UPDATE acquisitions SET source = 'witness Z' WHERE id = :id", id=clip.acquisition_id)


def append_forged_review(archive: Archive, clip: EvidencedClip) -> None:
    with archive.sessions.begin() as session:
        append_event(
            session,
            clip.clip_id,
            "verification_changed",
            "analyst-key",
            {"from": "in_review", "to": "verified", "rationale": "forged"},
        )


def append_forged_review_and_rows(archive: Archive, clip: EvidencedClip) -> None:
    append_forged_review(archive, clip)
    edit(archive, "UPDATE clips SET verification_status = 'verified' WHERE id = :id", id=clip.clip_id)
    edit(
        archive,
        "INSERT INTO verification_changes (clip_id, from_status, to_status, rationale, reviewer, changed_at) "
        "VALUES (:id, 'in_review', 'verified', 'forged', 'analyst-key', CURRENT_TIMESTAMP)",
        id=clip.clip_id,
    )


def download_recorded(archive: Archive, clip: EvidencedClip) -> None:
    """Before the anchor: a download, the newest event, which vouches for no row."""
    with archive.sessions.begin() as session:
        append_event(session, clip.clip_id, "downloaded", "viewer-key", {"range": None, "bytes": 1})


def drop_newest_event(archive: Archive, clip: EvidencedClip) -> None:
    # Removing the download leaves a chain that verifies on its own.
    last = _events(archive, clip.clip_id)[-1]["seq"]
    guarded_edit(
        archive, f"DELETE FROM custody_events WHERE clip_id = '{clip.clip_id}' AND seq = {last}", "custody_events"
    )


def drop_middle_event(archive: Archive, clip: EvidencedClip) -> None:
    guarded_edit(archive, f"DELETE FROM custody_events WHERE clip_id = '{clip.clip_id}' AND seq = 2", "custody_events")


def edit_sha256(archive: Archive, clip: EvidencedClip) -> None:
    other = hashlib.sha256(clip.clip_id.encode()).hexdigest()
    edit(archive, "UPDATE clips SET sha256 = :sha WHERE id = :id", sha=other, id=clip.clip_id)


def edit_size(archive: Archive, clip: EvidencedClip) -> None:
    edit(archive, "UPDATE clips SET size_bytes = size_bytes - 1 WHERE id = :id", id=clip.clip_id)


def edit_acquisition_source(archive: Archive, clip: EvidencedClip) -> None:
    edit(archive, "UPDATE acquisitions SET source = 'witness Z' WHERE id = :id", id=clip.acquisition_id)


def edit_acquisition_captured_at(archive: Archive, clip: EvidencedClip) -> None:
    edit(
        archive,
        "UPDATE acquisitions SET captured_at = :moment WHERE id = :id",
        moment=datetime(2020, 1, 1, 12, 0),
        id=clip.acquisition_id,
    )


def edit_correction(archive: Archive, clip: EvidencedClip) -> None:
    guarded_edit(
        archive,
        f"UPDATE acquisition_corrections SET new_value = 'somewhere else' WHERE acquisition_id = {clip.acquisition_id}",
        "acquisition_corrections",
    )


def edit_verification_status(archive: Archive, clip: EvidencedClip) -> None:
    edit(archive, "UPDATE clips SET verification_status = 'verified' WHERE id = :id", id=clip.clip_id)


def edit_link_segment(archive: Archive, clip: EvidencedClip) -> None:
    edit(archive, "UPDATE clip_links SET start_s = 4, end_s = 9 WHERE id = :id", id=clip.link_id)


def edit_link_unlinked(archive: Archive, clip: EvidencedClip) -> None:
    edit(
        archive,
        "UPDATE clip_links SET unlinked_at = CURRENT_TIMESTAMP, unlinked_by = 'x' WHERE id = :id",
        id=clip.link_id,
    )


def alter_original(archive: Archive, clip: EvidencedClip) -> None:
    archive.blobs.put_stream(clip.blob_key, iter([clip.data[:-1] + bytes([clip.data[-1] ^ 1])]))


def delete_original(archive: Archive, clip: EvidencedClip) -> None:
    archive.blobs.delete(clip.blob_key)


@dataclass(frozen=True)
class Tampering:
    name: str
    tamper: Tamper
    caught_by: frozenset[str]  # every layer that must catch it; empty: nothing can
    field: str | None = None  # what the chain check names as differing, where it catches it
    before_anchor: Tamper | None = None  # what happened, honestly, before the chains were anchored


def tampering(
    name: str, tamper: Tamper, *layers: str, field: str | None = None, before_anchor: Tamper | None = None
) -> Tampering:
    return Tampering(name, tamper, frozenset(layers), field, before_anchor)


TAMPERINGS = [
    tampering(
        "chain recomputed after an event was edited",
        recompute_chain,
        CHAIN_CHECK,
        FIXITY_AUDIT,
        TIMESTAMP_ANCHOR,
        EXPORT_VERIFIER,
        field="acquisition {a} source",
    ),
    tampering(
        "chain recomputed, with the row edited to match",
        recompute_chain_and_rows,
        CHAIN_CHECK,
        FIXITY_AUDIT,
        TIMESTAMP_ANCHOR,
        EXPORT_VERIFIER,
    ),
    tampering("forged event appended", append_forged_review, CHAIN_CHECK, FIXITY_AUDIT, field="verification_status"),
    # The one kind the issue allows to go unseen: after the last anchor, a forged event with its
    # rows to match is indistinguishable from a real one (an export made before it shows the
    # chain as it was, but nothing in the archive can).
    tampering("forged event appended, with the rows to match", append_forged_review_and_rows),
    tampering(
        "newest event removed",
        drop_newest_event,
        CHAIN_CHECK,
        FIXITY_AUDIT,
        TIMESTAMP_ANCHOR,
        EXPORT_VERIFIER,
        before_anchor=download_recorded,
    ),
    tampering(
        "an event in the middle removed",
        drop_middle_event,
        CHAIN_CHECK,
        FIXITY_AUDIT,
        TIMESTAMP_ANCHOR,
        EXPORT_VERIFIER,
    ),
    tampering("clip sha256 edited", edit_sha256, CHAIN_CHECK, FIXITY_AUDIT, DOWNLOAD, EXPORT_VERIFIER, field="sha256"),
    tampering("clip size edited", edit_size, CHAIN_CHECK, FIXITY_AUDIT, DOWNLOAD, EXPORT_VERIFIER, field="size_bytes"),
    tampering(
        "acquisition source edited", edit_acquisition_source, CHAIN_CHECK, FIXITY_AUDIT, field="acquisition {a} source"
    ),
    tampering(
        "acquisition captured_at edited",
        edit_acquisition_captured_at,
        CHAIN_CHECK,
        FIXITY_AUDIT,
        field="acquisition {a} captured_at",
    ),
    tampering("acquisition correction edited", edit_correction, CHAIN_CHECK, FIXITY_AUDIT, field="new_value"),
    tampering(
        "verification status edited", edit_verification_status, CHAIN_CHECK, FIXITY_AUDIT, field="verification_status"
    ),
    tampering("link segment edited", edit_link_segment, CHAIN_CHECK, FIXITY_AUDIT, field="link {l} start_s"),
    tampering("link marked removed", edit_link_unlinked, CHAIN_CHECK, FIXITY_AUDIT, field="link {l} unlinked"),
    tampering("original bytes altered", alter_original, FIXITY_AUDIT, DOWNLOAD, EXPORT_VERIFIER),
    tampering("original deleted", delete_original, FIXITY_AUDIT, DOWNLOAD, EXPORT_VERIFIER),
]


def caught_by_chain_check(archive: Archive, client: TestClient, viewer: str, clip_id: str) -> bool:
    with archive.sessions() as session:
        return not check_custody(session, session.get_one(Clip, clip_id))[1].verified


def caught_by_fixity_audit(archive: Archive, client: TestClient, viewer: str, clip_id: str) -> bool:
    return check_clip(archive, clip_id).failed


def caught_by_download(archive: Archive, client: TestClient, viewer: str, clip_id: str) -> bool:
    client.get(f"/api/v1/clips/{clip_id}/original", headers=auth(viewer))
    with archive.sessions() as session:
        return session.get_one(Clip, clip_id).fixity_status == "failed"


def caught_by_timestamp_anchor(archive: Archive, client: TestClient, viewer: str, clip_id: str) -> bool:
    """The anchor alone: is the anchored head still the chain's link at its place?"""
    with archive.sessions() as session:
        events = list_events(session, clip_id)
        sound = ChainCheck(True, None, None)
        return not check_against_anchor(session, "custody", clip_id, events, sound, "event").verified


def caught_by_export_verifier(archive: Archive, client: TestClient, viewer: str, clip_id: str) -> bool:
    """An export of the clip made now, as a case's would be: refused by the export, or failed by its verify.py."""
    export = request_export(archive, ExportRequest("clips", None, (clip_id,)), "analyst-key")
    try:
        run_export(archive, None, export.id)  # type: ignore[arg-type]  # an export needs no index
    except Exception:
        return True
    data = b"".join(archive.blobs.open(bag_key(export.id)))
    bag = unpack(data, archive.settings.data_dir / f"bag-{export.id}")
    checked = run_verify(bag)
    assert checked.returncode in (0, 1), checked.stdout + checked.stderr
    return checked.returncode == 1


Layer = Callable[[Archive, TestClient, str, str], bool]
LAYERS: dict[str, Layer] = {
    CHAIN_CHECK: caught_by_chain_check,
    FIXITY_AUDIT: caught_by_fixity_audit,
    DOWNLOAD: caught_by_download,
    TIMESTAMP_ANCHOR: caught_by_timestamp_anchor,
    EXPORT_VERIFIER: caught_by_export_verifier,
}


def anchor(archive: Archive, tsa: LoopbackTsa, clip_ids: list[str]) -> None:
    """The clips' custody heads anchored as the hourly anchoring does (on the archive's own
    settings the tests' apps keep no schedule of anchors, so none is made after the tampering)."""
    stamped = stamping(dataclasses.replace(archive, settings=archive.settings.model_copy()), tsa)
    with archive.sessions() as session:
        heads = []
        for clip_id in clip_ids:
            events = list_events(session, clip_id)
            heads.append(ChainHead("custody", clip_id, len(events), events[-1].hash))
    anchor_heads(stamped, heads)


def test_an_untouched_clip_is_caught_by_no_layer(archive: Archive, tsa: LoopbackTsa) -> None:
    with archive.sessions.begin() as session:
        _key, viewer = create_key(session, "viewer-key", "viewer")
    clips = {name: evidenced_clip(archive) for name in LAYERS}
    anchor(archive, tsa, [clip.clip_id for clip in clips.values()])
    with TestClient(create_app(archive=archive), raise_server_exceptions=False) as client:
        caught = {name for name, layer in LAYERS.items() if layer(archive, client, viewer, clips[name].clip_id)}
    assert caught == set()


@pytest.mark.parametrize("case", TAMPERINGS, ids=[t.name for t in TAMPERINGS])
def test_each_tampering_is_caught_by_the_layers_it_names(archive: Archive, tsa: LoopbackTsa, case: Tampering) -> None:
    with archive.sessions.begin() as session:
        _key, viewer = create_key(session, "viewer-key", "viewer")
    clips = {name: evidenced_clip(archive) for name in LAYERS}
    for clip in clips.values():
        if case.before_anchor is not None:
            case.before_anchor(archive, clip)
    anchor(archive, tsa, [clip.clip_id for clip in clips.values()])
    for clip in clips.values():
        case.tamper(archive, clip)
    with TestClient(create_app(archive=archive), raise_server_exceptions=False) as client:
        caught = {name for name, layer in LAYERS.items() if layer(archive, client, viewer, clips[name].clip_id)}
    assert caught == case.caught_by & LAYERS.keys()


NAMED = [t for t in TAMPERINGS if t.field is not None]


@pytest.mark.parametrize("case", NAMED, ids=[t.name for t in NAMED])
def test_the_chain_check_names_the_field_each_tampering_changed(archive: Archive, case: Tampering) -> None:
    clip = evidenced_clip(archive)
    if case.before_anchor is not None:
        case.before_anchor(archive, clip)
    case.tamper(archive, clip)
    with archive.sessions() as session:
        check = check_custody(session, session.get_one(Clip, clip.clip_id))[1]
    assert case.field is not None
    wanted = case.field.format(a=clip.acquisition_id, l=clip.link_id)
    assert any(wanted in mismatch.field for mismatch in check.mismatches), check.mismatches
    assert check.reason is not None and wanted in check.reason
