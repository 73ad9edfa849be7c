"""Where the other parts of issue 10 plug into the evidence export, one function each. Until they
are merged each answers "nothing yet", and the bag keeps the place for it: the per-clip JSON has
`content_credentials: null`, `fixity_history: []` and `timestamp: null`, data/timestamps/ is
empty, and the manifest is not stamped.

The layout they fill (docs/design.md, "The evidence export"):
- data/timestamps/<name>.tsr: a token, DER, as the TSA answered; data/timestamps/<name>.json:
  {"kind": "original" | "anchor", "digest": hex (the token's hashed message), "clip_id": (for
  "original"), "tsa_certs": "<name>.pem" (beside it: the TSA's certificates, PEM)}; an anchor adds
  "chains": [{"chain_kind": "custody" | "incident" | "case", "chain_id", "length", "head_hash",
  "proof": [{"side": "left" | "right", "hash": hex}, …]}]: leaf = sha256(b"\\x00" +
  f"{chain_kind}\\n{chain_id}\\n{length}\\n{head_hash}".encode()), node = sha256(b"\\x01" + left +
  right), an odd node is promoted unchanged, the proof is applied from the leaf upward (`side` is
  the sibling's) and ends at `digest`.
- timestamps/manifest.tsr, .json ({"kind": "manifest", "digest": sha256 of manifest-sha256.txt})
  and its .pem: tag files, since the payload manifest cannot list its own stamp.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from storage.archive import Archive
from verity.settings import Settings


@dataclass(frozen=True)
class TimestampFile:
    """One token of the bag: `name` without suffix (e.g. "original-<clip id>"), what it stamps
    (`description`: the .json, whose "tsa_certs" the writer fills), the token (DER) and the TSA's
    certificates (PEM)."""

    name: str
    description: dict[str, Any]
    token: bytes
    tsa_certs_pem: bytes


@dataclass(frozen=True)
class ChainHead:
    """A chain the bag holds, as an anchor names it: kind ("custody", "incident", "case"), id, how
    many links it has in the bag, and its last link's hash."""

    chain_kind: str
    chain_id: str
    length: int
    head_hash: str


@dataclass
class ClipExtras:
    """What the other parts add to a clip's JSON in the bag."""

    content_credentials: dict[str, Any] | None = None
    fixity_history: list[dict[str, Any]] = field(default_factory=list)
    timestamp: dict[str, Any] | None = None


def content_credentials_of(session: Session, clip_id: str) -> dict[str, Any] | None:
    """The clip's Content Credentials as the C2PA part records them (issue10-c2pa); None: not read."""
    return None


def fixity_history_of(session: Session, clip_id: str) -> list[dict[str, Any]]:
    """Every fixity audit of the clip, oldest first (issue10-fixity); empty until that part is in."""
    return []


def timestamp_of(session: Session, clip_id: str) -> dict[str, Any] | None:
    """The original's timestamp state as the clip shows it (issue10-tsa: pending, stamped with TSA and
    time, failed with the reason, or not configured); None until that part is in."""
    return None


def timestamp_files(session: Session, clip_ids: Sequence[str], heads: Sequence[ChainHead]) -> list[TimestampFile]:
    """Every token the bag should carry: each clip's original token and every anchor that covers one
    of `heads`, with its inclusion proofs for those heads (issue10-tsa); none until that part is in."""
    return []


def record_fixity_failure(archive: Archive, clip_id: str, what_differs: dict[str, Any]) -> None:
    """Called when an export finds a stored original that is not the archived one, or none at all
    (`what_differs`: sha256/size found and archived, or missing: true), before the export fails:
    issue10-fixity records it as a `fixity_failed` event and flags the clip. Nothing yet."""


def stamp_manifest(settings: Settings, digest: str) -> TimestampFile | None:
    """A timestamp over the payload manifest's SHA-256 (issue10-tsa's `stamp_digest`, when a TSA is
    configured), or None: the bag then carries no timestamps/manifest.*."""
    return None
