"""Examples for the OpenAPI description: one consistent story (a clip of a shooting, its incident
and case), so a reader can follow ids from one endpoint to the next. Each example validates
against its model (tests/api/test_openapi_examples.py checks)."""

from __future__ import annotations

from typing import Any

CLIP_ID = "6f1c3d2e-8a4b-4f0e-9a51-0d7f3c1b2a99"
COPY_ID = "0b8e5a61-3c2d-4f7e-8d90-5a4b3c2d1e0f"
INCIDENT_ID = "c41d9b7a-2e6f-4a83-b5c0-7d1e2f3a4b5c"
CASE_ID = "e5a0c3f2-9b1d-4e7a-8c6b-2f4d6a8b0c1e"
SHA256 = "3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b"
HASH = "5d41402abc4b2a76b9719d911017c592ae2f3a8cd0e5a7b6c4d3e2f1a0b9c8d7"

CORRECTION_IN = {
    "field": "source",
    "value": "witness A, via Signal",
    "why": "typed as witness B at intake; the Signal log shows witness A sent it",
}
CORRECTION = {
    "id": 1,
    "field": "source",
    "old_value": "witness B, via Signal",
    "new_value": "witness A, via Signal",
    "why": CORRECTION_IN["why"],
    "corrected_by": "field-team",
    "corrected_at": "2019-11-18T11:02:10Z",
}
ACQUISITION = {
    "id": 1,
    "received_at": "2019-11-18T09:12:44Z",
    "received_by": "field-team",
    "filename": "VID_20191116_141502.mp4",
    "source": "witness A, via Signal",
    "source_url": None,
    "captured_at": "2019-11-16T14:15:00+03:30",
    "note": "sent from the rooftop opposite the bank",
    "corrections": [CORRECTION],
}

MEDIA = {
    "container": "mov,mp4,m4a,3gp,3g2,mj2",
    "duration_s": 41.2,
    "size": 10485760,
    "bit_rate": 2036000,
    "video": {
        "codec": "h264",
        "profile": "High",
        "width": 1920,
        "height": 1080,
        "display_width": 1080,
        "display_height": 1920,
        "display_aspect_ratio": None,
        "pixel_format": "yuvj420p",
        "avg_frame_rate": 29.97,
        "real_frame_rate": 29.97,
        "variable_frame_rate": False,
        "frame_count": 1235,
        "bit_rate": 1965000,
    },
    "rotation": 90,
    "audio": {"codec": "aac", "channels": 1, "sample_rate": 48000},
    "creation_time": {"container": "2019-11-16T10:45:02Z", "stream": "2019-11-16T10:45:02Z"},
    "location": {"lat": 35.7219, "lon": 51.3347, "alt": 1190.0},
    "device": {"make": "Apple", "model": "iPhone 8", "software": "13.1.3"},
    "encoder": None,
}

CONTENT_CREDENTIALS: dict[str, Any] = {
    "state": "signer_untrusted",
    "reason": "no trust anchors are configured (VERITY_C2PA_TRUST_ANCHORS), so no signer is trusted",
    "validation_state": "Valid",
    "signer_trusted": False,
    "trust_anchors_configured": False,
    "failures": [
        {
            "code": "signingCredential.untrusted",
            "explanation": "signing certificate untrusted",
            "assertion": None,
            "url": "self#jumbf=/c2pa/urn:c2pa:8cf1fa4f-09bf-4230-9b30-8595e2d58e38/c2pa.signature",
        }
    ],
    "active_manifest": "urn:c2pa:8cf1fa4f-09bf-4230-9b30-8595e2d58e38",
    "manifest_count": 1,
    "title": "VID_20191116_141502.mp4",
    "format": "video/mp4",
    "claim_generator": "Camera App/2.1",
    "signer": {
        "common_name": "Camera App signing",
        "issuer": "Camera Maker Ltd",
        "serial_number": "132236141211725799584143671083666940167867571483",
        "algorithm": "Es256",
    },
    "signed_at": "2019-11-16T10:45:05+00:00",
    "actions": [
        {
            "action": "c2pa.created",
            "when": None,
            "software_agent": "Camera App/2.1",
            "digital_source_type": "digitalCapture",
            "description": None,
        }
    ],
    "ingredients": [],
    "reader": "c2pa-python 0.38.1 (c2pa-rs 0.91.3)",
}

C2PA_REPORT: dict[str, Any] = {
    "active_manifest": "urn:c2pa:8cf1fa4f-09bf-4230-9b30-8595e2d58e38",
    "manifests": {
        "urn:c2pa:8cf1fa4f-09bf-4230-9b30-8595e2d58e38": {
            "claim_generator_info": [{"name": "Camera App", "version": "2.1"}],
            "title": "VID_20191116_141502.mp4",
            "assertions": [
                {
                    "label": "c2pa.actions.v2",
                    "data": {
                        "actions": [
                            {
                                "action": "c2pa.created",
                                "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture",
                            }
                        ]
                    },
                }
            ],
            "signature_info": {"alg": "Es256", "issuer": "Camera Maker Ltd", "common_name": "Camera App signing"},
            "label": "urn:c2pa:8cf1fa4f-09bf-4230-9b30-8595e2d58e38",
            "claim_version": 2,
        }
    },
    "validation_status": [
        {
            "code": "signingCredential.untrusted",
            "url": "self#jumbf=/c2pa/urn:c2pa:8cf1fa4f-09bf-4230-9b30-8595e2d58e38/c2pa.signature",
            "explanation": "signing certificate untrusted",
        }
    ],
    "validation_state": "Valid",
}

CLIP: dict[str, Any] = {
    "id": CLIP_ID,
    "sha256": SHA256,
    "size_bytes": 10485760,
    "filename": "VID_20191116_141502.mp4",
    "content_type": "video/mp4",
    "status": "ready",
    "status_reason": None,
    "created_at": "2019-11-18T09:12:44Z",
    "uploaded_by": "field-team",
    "verification_status": "in_review",
    "acquisitions": [ACQUISITION],
    "ingest": {"step": None, "progress": 1.0},
    "media": MEDIA,
    "content_credentials": CONTENT_CREDENTIALS,
    "fixity": "ok",
    "fixity_checked_at": "2019-12-02T03:10:00Z",
    "timestamp": {
        "state": "stamped",
        "tsa": "https://tsa.example.org/tsr",
        "time": "2019-11-18T09:12:45Z",
        "reason": None,
        "next_attempt_at": None,
    },
    "browser_playable": True,
    "viewing_copy": None,
    "viewing_copy_warning": None,
}

UPLOAD = {
    **CLIP,
    "status": "queued",
    "verification_status": "unverified",
    "media": None,
    "content_credentials": {"state": "not_read"},
    "duplicate": False,
}
UPLOAD["ingest"] = {"step": None, "progress": 0.0}
UPLOAD["timestamp"] = {
    "state": "pending",
    "tsa": None,
    "time": None,
    "reason": None,
    "next_attempt_at": "2019-11-18T09:12:44Z",
}

ANCHOR = {
    "id": 42,
    "root": "9f2b5c0e7d41a3b86c2d1e0f4a5b6c7d8e9f00112233445566778899aabbccdd",
    "chain_count": 1318,
    "tsa": "https://tsa.example.org/tsr",
    "time": "2019-11-18T10:00:01Z",
    "created_at": "2019-11-18T10:00:01Z",
}
ANCHOR_PAGE = {"items": [ANCHOR], "total": 1, "limit": 50, "offset": 0}

CLIP_PAGE = {"items": [CLIP], "total": 1, "limit": 50, "offset": 0}

UPLOAD_FORM = {
    "file": "(the video file's bytes)",
    "source": "witness A, via Signal",
    "captured_at": "2019-11-16T14:15:00+03:30",
}

UPLOAD_ID = "9a2f4c1e-5b7d-4e3a-8f60-1c2d3e4f5a6b"
UPLOAD_CREATE = {
    "filename": "VID_20191116_141502.mp4",
    "size_bytes": 10485760,
    "content_type": "video/mp4",
    "source": "witness A, via Signal",
    "captured_at": "2019-11-16T14:15:00+03:30",
    "note": "sent from the rooftop opposite the bank",
}
UPLOAD_STATE = {
    **UPLOAD_CREATE,
    "id": UPLOAD_ID,
    "received_bytes": 8388608,
    "source_url": None,
    "created_by": "field-team",
    "created_at": "2019-11-18T09:10:02Z",
    "updated_at": "2019-11-18T09:12:40Z",
    "clip_id": None,
}
UPLOAD_COMPLETED = {**UPLOAD, "upload_id": UPLOAD_ID}

CUSTODY_LOG = {
    "clip_id": CLIP_ID,
    "verified": True,
    "first_bad_seq": None,
    "reason": None,
    "events": [
        {
            "seq": 1,
            "action": "uploaded",
            "actor": "field-team",
            "occurred_at": "2019-11-18T09:12:44Z",
            "details": {
                "acquisition_id": 1,
                "filename": "VID_20191116_141502.mp4",
                "sha256": SHA256,
                "size_bytes": 10485760,
                "source": "witness A, via Signal",
                "source_url": None,
            },
            "prev_hash": "0" * 64,
            "hash": HASH,
        },
        {
            "seq": 2,
            "action": "linked",
            "actor": "field-team",
            "occurred_at": "2019-11-19T16:03:10Z",
            "details": {"link_id": 7, "incident_id": INCIDENT_ID, "start_s": 12.5, "end_s": 19.0, "note": None},
            "prev_hash": HASH,
            "hash": "9c1185a5c5e9fc54612808977ee8f548b2258d31a4b2c3d4e5f60718293a4b5c",
        },
    ],
}

KEYFRAME = {
    "index": 3,
    "time_s": 12.48,
    "reason": "scene",
    "scene_score": 0.41,
    "width": 360,
    "height": 640,
    "size_bytes": 28113,
    "url": f"/api/v1/clips/{CLIP_ID}/keyframes/3",
}

KEY_CREATE = {
    "name": "mina-laptop",
    "role": "contributor",
    "person": "mina",
    "cases": [CASE_ID],
    "expires_at": "2020-03-31T23:59:59Z",
}
KEY = {
    "name": "mina-laptop",
    "role": "contributor",
    "person": "mina",
    "cases": [CASE_ID],
    "created_at": "2019-11-17T08:00:00Z",
    "expires_at": "2020-03-31T23:59:59Z",
    "revoked_at": None,
}
KEY_CREATED = {**KEY, "key": "vrt_4f9d2c7a1b8e6d3f0a5c9b2e7d4a1f6c"}
PERSON = {"name": "mina", "role": "analyst", "totp": True, "created_at": "2019-11-17T08:00:00Z", "disabled_at": None}
SIGN_IN = {"name": "mina", "password": "correct horse battery staple", "totp": "492039"}

NEAR_DUPLICATE = {
    "clip_id": CLIP_ID,
    "filename": "VID_20191116_141502.mp4",
    "score": 0.92,
    "matched_seconds": 18.5,
    "mirrored": False,
    "signals": ["picture", "audio"],
    "segments": [{"query_start_s": 0.0, "clip_start_s": 12.5, "duration_s": 18.5}],
    "first_seen_at": "2019-11-18T09:12:44Z",
    "verification_status": "verified",
}

VERIFY = {
    "sha256": "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9",
    "exact_match": None,
    "near_duplicates": [NEAR_DUPLICATE],
    "not_analysed": None,
}

MATCH_DECISION_IN = {"decision": "confirmed", "note": "Same rooftop and skyline; the copy is cropped and re-encoded."}

MATCH_DECISION = {
    "clip_id": COPY_ID,
    "other_clip_id": CLIP_ID,
    "decision": "confirmed",
    "note": MATCH_DECISION_IN["note"],
    "decided_by": "analyst-key",
    "decided_at": "2019-11-20T10:04:00Z",
}

RELATED = {
    "clip_id": COPY_ID,
    "first_seen_clip_id": CLIP_ID,
    "related": [
        {
            **NEAR_DUPLICATE,
            "decision": "confirmed",
            "note": MATCH_DECISION_IN["note"],
            "decided_by": "analyst-key",
            "decided_at": "2019-11-20T10:04:00Z",
        }
    ],
    "rejected": [],
}

FAMILY = {
    "clip_id": COPY_ID,
    "first_seen_clip_id": CLIP_ID,
    "clips": [
        {
            "clip_id": CLIP_ID,
            "filename": "VID_20191116_141502.mp4",
            "first_seen_at": "2019-11-18T09:12:44Z",
            "first_seen": True,
            "verification_status": "verified",
        },
        {
            "clip_id": COPY_ID,
            "filename": "copy.mp4",
            "first_seen_at": "2019-11-19T16:30:02Z",
            "first_seen": False,
            "verification_status": "in_review",
        },
    ],
}

INCIDENT_IN = {
    "title": "Shooting at Sadeghieh square",
    "description": "Security forces fire on protesters from a rooftop.",
    "starts_at": "2019-11-16T14:00:00+03:30",
    "time_precision": "hour",
    "place_name": "Sadeghieh square, Tehran",
    "lat": 35.7219,
    "lon": 51.3347,
    "radius_m": 300,
    "tags": ["rooftop", "shooting"],
}

INCIDENT_PATCH = {"ends_at": "2019-11-16T15:30:00+03:30", "time_precision": "exact"}

INCIDENT = {
    **INCIDENT_IN,
    "id": INCIDENT_ID,
    "ends_at": None,
    "version": 2,
    "created_by": "field-team",
    "created_at": "2019-11-19T15:58:02Z",
    "updated_at": "2019-11-19T16:20:41Z",
}

INCIDENT_PAGE = {"items": [INCIDENT], "total": 1, "limit": 50, "offset": 0}

LINK_IN = {"clip_id": CLIP_ID, "start_s": 12.5, "end_s": 19.0, "note": "muzzle flash on the second-floor roof"}
LINK_PATCH = {"end_s": 21.0}
LINK = {
    **LINK_IN,
    "id": 7,
    "incident_id": INCIDENT_ID,
    "linked_by": "field-team",
    "linked_at": "2019-11-19T16:03:10Z",
    "unlinked_by": None,
    "unlinked_at": None,
    "version": 1,
}

VERIFICATION_IN = {"status": "verified", "rationale": "Skyline and shadow angles match 14:10 local time."}
VERIFICATION = {
    "clip_id": CLIP_ID,
    "status": "verified",
    "history": [
        {
            "from_status": "unverified",
            "to_status": "in_review",
            "rationale": "Geolocating the rooftop.",
            "reviewer": "analyst-mina",
            "changed_at": "2019-11-20T10:00:00Z",
        },
        {
            "from_status": "in_review",
            "to_status": "verified",
            "rationale": "Skyline and shadow angles match 14:10 local time.",
            "reviewer": "analyst-mina",
            "changed_at": "2019-11-21T17:45:12Z",
        },
    ],
}

CASE_IN = {"title": "Submission to the fact-finding mission", "description": "November 2019, Tehran province."}
CASE_PATCH = {"status": "closed"}
CASE = {
    **CASE_IN,
    "id": CASE_ID,
    "status": "open",
    "incident_ids": [INCIDENT_ID],
    "version": 3,
    "created_by": "field-team",
    "created_at": "2019-11-19T15:40:00Z",
    "updated_at": "2019-11-19T16:00:00Z",
}

CASE_PAGE = {"items": [CASE], "total": 1, "limit": 50, "offset": 0}

MEMBER_IN = {"role": "viewer", "permissions": [], "expires_at": "2027-03-31T23:59:59Z"}
MEMBER = {
    **MEMBER_IN,
    "person": "defence-lawyer",
    "live": True,
    "added_by": "lead-investigator",
    "added_at": "2026-12-01T09:00:00Z",
}
MEMBER_LIST = {"case_id": CASE_ID, "items": [MEMBER]}

CHAIN_VERIFIES = {"verified": True, "first_bad_seq": None, "reason": None}
INCIDENT_RECORD = {
    **INCIDENT,
    "ends_at": None,
    "covers_until": "2019-11-16T11:30:00Z",
    "starts_at": "2019-11-16T10:30:00Z",
    "radius_m": 1000,
    "version": 1,
    "updated_at": "2019-11-19T15:58:02Z",
}
INCIDENT_HISTORY = {
    "kind": "incident",
    "id": INCIDENT_ID,
    "deleted": False,
    **CHAIN_VERIFIES,
    "entries": [
        {
            "seq": 0,
            "action": "created",
            "actor": "field-team",
            "occurred_at": "2019-11-19T15:58:02Z",
            "details": {"record": INCIDENT_RECORD},
            "prev_hash": "0" * 64,
            "hash": "7e0d2b4c6a8f1e3d5b7a9c0e2f4d6b8a1c3e5f7d9b0a2c4e6f8d1b3a5c7e9f0d",
        },
        {
            "seq": 1,
            "action": "updated",
            "actor": "analyst-mina",
            "occurred_at": "2019-11-19T16:20:41Z",
            "details": {"version": 2, "before": {"radius_m": 1000}, "after": {"radius_m": 300}},
            "prev_hash": "7e0d2b4c6a8f1e3d5b7a9c0e2f4d6b8a1c3e5f7d9b0a2c4e6f8d1b3a5c7e9f0d",
            "hash": "2a4c6e8f0b1d3f5a7c9e1b3d5f7a9c0e2b4d6f8a1c3e5b7d9f0a2c4e6b8d1f3a",
        },
    ],
}

DRAFT_CASE_ID = "a7c9e1b3-5d7f-4a2c-9e0b-3d5f7a9c1e2b"
DRAFT_CASE = {
    "id": DRAFT_CASE_ID,
    "title": "Draft: press briefing",
    "description": "",
    "status": "open",
    "incident_ids": [],
    "version": 3,
    "created_by": "field-team",
    "created_at": "2019-11-20T08:00:00Z",
    "updated_at": "2019-11-20T08:05:00Z",
}
CASE_HISTORY = {
    "kind": "case",
    "id": DRAFT_CASE_ID,
    "deleted": True,
    **CHAIN_VERIFIES,
    "entries": [
        {
            "seq": 0,
            "action": "created",
            "actor": "field-team",
            "occurred_at": "2019-11-20T08:00:00Z",
            "details": {"record": {**DRAFT_CASE, "version": 1, "updated_at": "2019-11-20T08:00:00Z"}},
            "prev_hash": "0" * 64,
            "hash": "c3e5a7b9d1f2e4a6c8b0d2f4a6e8c0b2d4f6a8e0c2b4d6f8a0e2c4b6d8f0a2e4",
        },
        {
            "seq": 1,
            "action": "incident_added",
            "actor": "field-team",
            "occurred_at": "2019-11-20T08:01:00Z",
            "details": {"version": 2, "incident_id": INCIDENT_ID},
            "prev_hash": "c3e5a7b9d1f2e4a6c8b0d2f4a6e8c0b2d4f6a8e0c2b4d6f8a0e2c4b6d8f0a2e4",
            "hash": "e1f3a5c7b9d0e2f4a6c8b1d3f5a7c9e0b2d4f6a8c1e3b5d7f9a0c2e4b6d8f1a3",
        },
        {
            "seq": 2,
            "action": "incident_removed",
            "actor": "field-team",
            "occurred_at": "2019-11-20T08:05:00Z",
            "details": {"version": 3, "incident_id": INCIDENT_ID},
            "prev_hash": "e1f3a5c7b9d0e2f4a6c8b1d3f5a7c9e0b2d4f6a8c1e3b5d7f9a0c2e4b6d8f1a3",
            "hash": "5b7d9f1a3c5e7b9d0f2a4c6e8b0d2f4a6c8e0b2d4f6a8c0e2b4d6f8a1c3e5b7d",
        },
        {
            "seq": 3,
            "action": "deleted",
            "actor": "field-team",
            "occurred_at": "2019-11-20T08:06:30Z",
            "details": {"record": DRAFT_CASE},
            "prev_hash": "5b7d9f1a3c5e7b9d0f2a4c6e8b0d2f4a6c8e0b2d4f6a8c0e2b4d6f8a1c3e5b7d",
            "hash": "9d1f3b5a7c9e0d2f4b6a8c1e3d5f7b9a0c2e4d6f8b1a3c5e7d9f0b2a4c6e8d1f",
        },
    ],
}

HEALTH = {"status": "ok", "database": "ok", "object_store": "ok", "fixity": "ok"}

FIXITY_PROBLEM = (
    "the original's SHA-256 is 5d41402abc4b2a76b9719d911017c592ae6f1e4c2b1f3e5b7a9c0d2e4f6a8b0c, the clip says "
    + SHA256
)
FIXITY_REPORT = {
    "last_run": {
        "id": 41,
        "started_at": "2019-12-02T03:00:00Z",
        "finished_at": "2019-12-02T04:12:31Z",
        "started_by": "fixity-audit",
        "clips_checked": 1830,
        "clips_failed": 1,
        "bytes_read": 412316860416,
    },
    "running": None,
    "next_run_at": "2019-12-03T03:00:00Z",
    "interval_s": 86400,
    "failed": 1,
    "failures": [
        {
            "clip_id": CLIP_ID,
            "filename": "VID_20191116_141502.mp4",
            "checked_at": "2019-12-02T03:10:00Z",
            "problems": [FIXITY_PROBLEM],
        }
    ],
}
FIXITY_CHECK = {"clip_id": CLIP_ID, "fixity": "failed", "problems": [FIXITY_PROBLEM]}

ERROR = {
    "error": "stale_write",
    "detail": 'the incident changed since you read it (you sent "1", it is now "2"); read it again',
}
OFFSET_CONFLICT = {
    "error": "offset_mismatch",
    "detail": f"upload {UPLOAD_ID} stands at byte 8388608, not 0; continue from there",
    "offset": 8388608,
}
VALIDATION_ERROR = {
    "error": "invalid_request",
    "detail": "starts_at: give a time zone, e.g. 2019-11-16T14:00:00+03:30",
    "errors": [
        {
            "type": "value_error",
            "loc": ["body", "starts_at"],
            "msg": "Value error, give a time zone, e.g. 2019-11-16T14:00:00+03:30",
            "input": "2019-11-16T14:00:00",
        }
    ],
}

PROBE = {
    "format": {"format_name": "mov,mp4,m4a,3gp,3g2,mj2", "duration": "41.200000", "tags": {"make": "Apple"}},
    "streams": [{"index": 0, "codec_type": "video", "codec_name": "h264", "width": 1920, "height": 1080}],
}


def examples(*values: dict[str, Any]) -> dict[str, Any]:
    """A model's `json_schema_extra`: its examples, as OpenAPI 3.1 lists them."""
    return {"examples": list(values)}


EXPORT_ID = "9d2f4b6a-1c3e-4f5a-8b7d-0e2c4a6f8b1d"
EXPORT_IN = {"case_id": CASE_ID, "include_keyframes": True}
EXPORT = {
    "id": EXPORT_ID,
    "scope": "case",
    "scope_id": CASE_ID,
    "clip_ids": [CLIP_ID, COPY_ID],
    "include_originals": True,
    "include_keyframes": True,
    "include_probe": False,
    "include_sources": False,
    "status": "ready",
    "status_reason": None,
    "step": None,
    "progress": 1.0,
    "bytes_written": 52428800,
    "requested_by": "analyst-mina",
    "created_at": "2019-12-02T09:00:00Z",
    "started_at": "2019-12-02T09:00:01Z",
    "finished_at": "2019-12-02T09:00:40Z",
    "size_bytes": 52428800,
    "sha256": HASH,
    "manifest_sha256": SHA256,
    "download_url": f"/api/v1/exports/{EXPORT_ID}/download",
}
