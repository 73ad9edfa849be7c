"""What the evidence export takes from the other proofs Verity keeps, one function each: a clip's
timestamp, Content Credentials and fixity history for its JSON, the tokens the bag carries (each
original's, and the anchors over the heads of the chains it holds, one made for the bag itself),
the manifest's stamp, and the fixity failure an export that finds an altered original records.

The layout of the tokens (docs/design.md, "The evidence export"):
- data/timestamps/<name>.tsr: a token, DER, as the TSA answered; data/timestamps/<name>.json:
  {"kind": "original" | "anchor", "digest": hex (the token's hashed message), "clip_id": (for
  "original"), "tsa_certs": "<name>.pem" (beside it: the TSA's certificates, then the roots they
  chain up to, PEM)}; an anchor adds "chains": [{"chain_kind": "custody" | "incident" | "case",
  "chain_id", "length", "head_hash", "proof": [{"side": "left" | "right", "hash": hex}, …]}]
  (verity/merkle.py: leaf, node and proof rules).
- timestamps/manifest.tsr, .json ({"kind": "manifest", "digest": sha256 of manifest-sha256.txt})
  and its .pem: tag files, since the payload manifest cannot list its own stamp.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest.anchors import anchor_heads
from ingest.timestamps import stamp_digest
from storage.anchors import ChainHead, inclusions_of, load_anchor
from storage.archive import Archive
from storage.fixity import record_outcome
from storage.models import Clip, ClipTimestamp, CustodyEvent, TimestampToken
from storage.vocabulary import StampState
from verity.errors import ExportFailed, TimestampRefused, TimestampUnavailable

log = logging.getLogger("verity.export")

__all__ = ["ChainHead", "ClipExtras", "TimestampFile"]

FIXITY_ACTIONS = ("fixity_checked", "fixity_failed")
EXPORT_ACTOR = "export"


@dataclass(frozen=True)
class TimestampFile:
    """One token of the bag: `name` without suffix (e.g. "original-<clip id>"), what it stamps
    (`description`: the .json, whose "tsa_certs" the writer fills), the token (DER) and the
    certificates that verify it (PEM)."""

    name: str
    description: dict[str, Any]
    token: bytes
    tsa_certs_pem: bytes


@dataclass
class ClipExtras:
    """What the other proofs add to a clip's JSON in the bag."""

    content_credentials: dict[str, Any] | None = None
    fixity_history: list[dict[str, Any]] = field(default_factory=list)
    timestamp: dict[str, Any] | None = None


def _certificates(token: TimestampToken) -> bytes:
    """The TSA's certificates as its token embeds them, then the roots they chain up to: what
    `openssl ts -verify -CAfile … -untrusted …` needs."""
    return (token.tsa_certs_pem.rstrip("\n") + "\n" + token.root_pem.lstrip("\n")).encode()


def content_credentials_of(session: Session, clip_id: str) -> dict[str, Any] | None:
    """The clip's Content Credentials summary as ingest read them (the reader's whole report is
    served by GET /api/v1/clips/{id}/content-credentials); None: not read."""
    stored = session.get_one(Clip, clip_id).content_credentials
    return json.loads(stored) if stored else None


def fixity_history_of(session: Session, clip_id: str) -> list[dict[str, Any]]:
    """Every fixity check of the clip (audits, whole downloads, exports), oldest first."""
    query = (
        select(CustodyEvent)
        .where(CustodyEvent.clip_id == clip_id, CustodyEvent.action.in_(FIXITY_ACTIONS))
        .order_by(CustodyEvent.seq)
    )
    return [
        {
            "seq": event.seq,
            "at": event.occurred_at.isoformat().replace("+00:00", "Z"),
            "outcome": "ok" if event.action == "fixity_checked" else "failed",
            "by": event.actor,
            "details": json.loads(event.details),
        }
        for event in session.scalars(query)
    ]


def timestamp_of(session: Session, clip_id: str) -> dict[str, Any]:
    """The original's timestamp as the clip shows it: not configured, pending, stamped (TSA and
    the time it asserts) or failed (the reason)."""
    row = session.get(ClipTimestamp, clip_id)
    if row is None:
        return {"state": str(StampState.not_configured)}
    token = row.token
    return {
        "state": row.state,
        "tsa": token.tsa_url if token is not None else None,
        "time": token.gen_time.isoformat().replace("+00:00", "Z") if token is not None else None,
        "reason": row.reason if row.state != StampState.stamped else None,
        "token": f"data/timestamps/original-{clip_id}.tsr" if token is not None else None,
    }


def anchor_bag_heads(archive: Archive, heads: Sequence[ChainHead]) -> None:
    """Anchor the heads of the chains as the bag holds them, so each chain in it is vouched for
    up to its last line by a trusted timestamp (the hourly anchors lag by up to an hour). Nothing
    without an authority configured; one the authorities cannot give now fails the export (it can
    be asked for again): an export promised under a timestamp is not made without one."""
    if not archive.settings.timestamps_configured or not heads:
        return
    try:
        anchor_heads(archive, heads)
    except (TimestampUnavailable, TimestampRefused) as exc:
        raise ExportFailed(f"the chains could not be anchored under a timestamp: {exc.detail}") from exc


def timestamp_files(session: Session, clip_ids: Sequence[str], heads: Sequence[ChainHead]) -> list[TimestampFile]:
    """Every token the bag carries: each clip's original token, and every anchor that covers one
    of `heads`' chains, with the inclusion proofs of those chains' anchored heads."""
    files: list[TimestampFile] = []
    for clip_id in clip_ids:
        row = session.get(ClipTimestamp, clip_id)
        if row is None or row.token is None:
            continue
        description: dict[str, Any] = {"kind": "original", "digest": row.token.digest, "clip_id": clip_id}
        files.append(TimestampFile(f"original-{clip_id}", description, row.token.token, _certificates(row.token)))
    chains_by_anchor: dict[int, list[dict[str, Any]]] = {}
    for head in heads:
        for inclusion in inclusions_of(session, head.kind, head.chain_id):
            if inclusion.length > head.length:
                continue  # anchored after the bag's copy of the chain was written
            chains_by_anchor.setdefault(inclusion.anchor_id, []).append(
                {
                    "chain_kind": inclusion.kind,
                    "chain_id": inclusion.chain_id,
                    "length": inclusion.length,
                    "head_hash": inclusion.head_hash,
                    "proof": json.loads(inclusion.proof),
                }
            )
    for anchor_id in sorted(chains_by_anchor):
        anchor = load_anchor(session, anchor_id)
        covered = {"kind": "anchor", "digest": anchor.root, "chains": chains_by_anchor[anchor_id]}
        files.append(TimestampFile(f"anchor-{anchor_id}", covered, anchor.token.token, _certificates(anchor.token)))
    return files


def record_fixity_failure(archive: Archive, clip_id: str, what_differs: dict[str, Any]) -> None:
    """An export found the stored original altered or gone (`what_differs`: sha256/size found and
    archived, or missing: true): a `fixity_failed` event, and the clip flagged, before it fails."""
    if what_differs.get("missing"):
        problems = ["original: the object store holds no object for it"]
    else:
        found, archived = what_differs["found"], what_differs["archived"]
        problems = [
            f"original: an export read sha256 {found['sha256']}, {found['size_bytes']} bytes, where sha256 "
            f"{archived['sha256']}, {archived['size_bytes']} bytes was archived"
        ]
    with archive.sessions.begin() as session:
        record_outcome(session, clip_id, EXPORT_ACTOR, problems, {"check": "export", **what_differs})


def stamp_manifest(archive: Archive, digest: str) -> TimestampFile | None:
    """A timestamp over the payload manifest's SHA-256, or None without an authority configured
    (the bag then has no timestamps/manifest.*). One the authorities cannot give now fails the
    export, as for the anchors."""
    if not archive.settings.timestamps_configured:
        return None
    try:
        token = stamp_digest(archive, digest, "export")
    except (TimestampUnavailable, TimestampRefused) as exc:
        raise ExportFailed(f"the bag's manifest could not be timestamped: {exc.detail}") from exc
    return TimestampFile("manifest", {"kind": "manifest", "digest": digest}, token.token, _certificates(token))
