"""Anchoring: one trusted timestamp over the Merkle root (verity/merkle.py) of the heads of every
chain that moved since its last anchor, each chain keeping its inclusion proof; 100,000 chains
cost one request to the authority. Run on a schedule (ingest/periodic.py) and by
`verity timestamps anchor`."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ingest.timestamps import stamp_digest
from storage.anchors import ChainHead, moved_heads, record_anchor
from storage.archive import Archive
from verity.merkle import inclusion_proofs

log = logging.getLogger("verity.anchors")


@dataclass(frozen=True)
class AnchorMade:
    anchor_id: int
    root: str
    chain_count: int
    tsa_url: str
    time: datetime


def anchor_chains(archive: Archive) -> AnchorMade | None:
    """Anchor the heads that moved; None when nothing moved or no authority is configured. A link
    added meanwhile is anchored next time. TimestampUnavailable / TimestampRefused leave nothing
    recorded: the same chains are still moved at the next run."""
    if not archive.settings.timestamps_configured:
        return None
    with archive.reads() as session:
        heads = moved_heads(session)
    if not heads:
        return None
    return anchor_heads(archive, heads)


def anchor_heads(archive: Archive, heads: Sequence[ChainHead]) -> AnchorMade:
    """Anchor these heads now under one stamp (an export anchors the heads of the chains it holds,
    as they are in its bag). Raises TimestampsNotConfigured, TimestampUnavailable or
    TimestampRefused, recording nothing."""
    root, proofs = inclusion_proofs([head.leaf() for head in heads])
    token = stamp_digest(archive, root.hex(), "anchor")
    with archive.sessions.begin() as session:
        anchor = record_anchor(session, root.hex(), token, heads, proofs)
    log.info("anchored %d chain heads under root %s (anchor %d, %s)", len(heads), root.hex(), anchor.id, token.tsa_url)
    return AnchorMade(anchor.id, root.hex(), len(heads), token.tsa_url, token.gen_time)
