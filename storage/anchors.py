"""Anchors as rows: the current head of every chain (custody of each clip, history of each
incident and case), the newest head each chain had anchored, and the check that a chain still
holds that head. Building the tree is verity/merkle.py's; stamping is ingest/anchors.py's.

A chain's check (storage/custody.py, storage/history.py) cannot see newest links removed, since
what remains still links up; against its anchored head it can: the link at the anchored length
must still be there with the anchored hash."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import and_, func, insert, or_, select
from sqlalchemy.orm import Session

from storage.access import Scope, case_visible, clip_visible, incident_visible
from storage.chain import ChainCheck, Link, refuse_changes
from storage.models import Anchor, AnchorInclusion, CustodyEvent, HistoryEntry, TimestampToken
from storage.vocabulary import ChainKind
from verity.errors import NotFound
from verity.merkle import ProofStep, leaf_hash, root_from_proof


@dataclass(frozen=True)
class ChainHead:
    kind: ChainKind
    chain_id: str
    length: int
    head_hash: str

    def leaf(self) -> bytes:
        return leaf_hash(self.kind, self.chain_id, self.length, self.head_hash)


def current_heads(session: Session) -> list[ChainHead]:
    """The last link of every chain, ordered by kind and id (the order of the anchor's leaves)."""
    heads: list[ChainHead] = []
    last_event = (
        select(CustodyEvent.clip_id, func.max(CustodyEvent.seq).label("seq")).group_by(CustodyEvent.clip_id).subquery()
    )
    custody = select(CustodyEvent.clip_id, CustodyEvent.seq, CustodyEvent.hash).join(
        last_event, (CustodyEvent.clip_id == last_event.c.clip_id) & (CustodyEvent.seq == last_event.c.seq)
    )
    for clip_id, seq, hash_ in session.execute(custody):
        heads.append(ChainHead("custody", clip_id, seq + 1, hash_))
    last_entry = (
        select(HistoryEntry.entity_kind, HistoryEntry.entity_id, func.max(HistoryEntry.seq).label("seq"))
        .group_by(HistoryEntry.entity_kind, HistoryEntry.entity_id)
        .subquery()
    )
    history = select(HistoryEntry.entity_kind, HistoryEntry.entity_id, HistoryEntry.seq, HistoryEntry.hash).join(
        last_entry,
        (HistoryEntry.entity_kind == last_entry.c.entity_kind)
        & (HistoryEntry.entity_id == last_entry.c.entity_id)
        & (HistoryEntry.seq == last_entry.c.seq),
    )
    for kind, entity_id, seq, hash_ in session.execute(history):
        heads.append(ChainHead("incident" if kind == "incident" else "case", entity_id, seq + 1, hash_))
    return sorted(heads, key=lambda head: (head.kind, head.chain_id))


def anchored_heads(session: Session) -> dict[tuple[str, str], tuple[int, str]]:
    """The newest anchored (length, head hash) of every chain ever anchored."""
    newest = (
        select(AnchorInclusion.kind, AnchorInclusion.chain_id, func.max(AnchorInclusion.length).label("length"))
        .group_by(AnchorInclusion.kind, AnchorInclusion.chain_id)
        .subquery()
    )
    query = select(AnchorInclusion.kind, AnchorInclusion.chain_id, AnchorInclusion.length, AnchorInclusion.head_hash)
    query = query.join(
        newest,
        (AnchorInclusion.kind == newest.c.kind)
        & (AnchorInclusion.chain_id == newest.c.chain_id)
        & (AnchorInclusion.length == newest.c.length),
    )
    return {(kind, chain_id): (length, head) for kind, chain_id, length, head in session.execute(query)}


def moved_heads(session: Session) -> list[ChainHead]:
    """The chains whose head is not the one last anchored (or that were never anchored)."""
    anchored = anchored_heads(session)
    heads = current_heads(session)
    return [head for head in heads if anchored.get((head.kind, head.chain_id)) != (head.length, head.head_hash)]


def record_anchor(
    session: Session,
    root_hex: str,
    token: TimestampToken,
    heads: Sequence[ChainHead],
    proofs: Sequence[list[ProofStep]],
) -> Anchor:
    """The anchor and one inclusion per head, in the caller's transaction."""
    anchor = Anchor(root=root_hex, chain_count=len(heads), token_id=token.id)
    session.add(anchor)
    session.flush()
    session.execute(
        insert(AnchorInclusion),
        [
            {
                "anchor_id": anchor.id,
                "kind": head.kind,
                "chain_id": head.chain_id,
                "length": head.length,
                "head_hash": head.head_hash,
                "proof": json.dumps(proof, separators=(",", ":")),
            }
            for head, proof in zip(heads, proofs, strict=True)
        ],
    )
    return anchor


def list_anchors(session: Session, limit: int, offset: int) -> tuple[int, list[Anchor]]:
    total = int(session.scalar(select(func.count()).select_from(Anchor)) or 0)
    rows = session.scalars(select(Anchor).order_by(Anchor.id.desc()).limit(limit).offset(offset))
    return total, list(rows)


def load_anchor(session: Session, anchor_id: int) -> Anchor:
    anchor = session.get(Anchor, anchor_id)
    if anchor is None:
        raise NotFound(f"no anchor {anchor_id}")
    return anchor


def load_reachable_anchor(session: Session, scope: Scope, anchor_id: int) -> Anchor:
    """The anchor, if it covers a chain `scope` may see (a clip's custody, an incident's or a case's
    history): what a case member needs to check its own records' proofs (their token). Another is
    answered as an unknown one."""
    if not scope.archive_wide:
        kind, chain = AnchorInclusion.kind, AnchorInclusion.chain_id
        covered = or_(
            and_(kind == "custody", clip_visible(scope, chain)),
            and_(kind == "incident", incident_visible(scope, chain)),
            and_(kind == "case", case_visible(scope, chain)),
        )
        covering = select(AnchorInclusion.id).where(AnchorInclusion.anchor_id == anchor_id, covered)
        if session.scalar(covering.limit(1)) is None:
            raise NotFound(f"no anchor {anchor_id}")
    return load_anchor(session, anchor_id)


def newest_inclusion(session: Session, kind: ChainKind, chain_id: str) -> AnchorInclusion | None:
    query = (
        select(AnchorInclusion)
        .where(AnchorInclusion.kind == kind, AnchorInclusion.chain_id == chain_id)
        .order_by(AnchorInclusion.length.desc(), AnchorInclusion.id.desc())
        .limit(1)
    )
    return session.scalar(query)


@dataclass(frozen=True)
class AnchoredHead:
    """A chain's head as an anchor covered it, with that anchor."""

    inclusion: AnchorInclusion
    anchor: Anchor


def newest_anchored_head(session: Session, kind: ChainKind, chain_id: str) -> AnchoredHead | None:
    inclusion = newest_inclusion(session, kind, chain_id)
    if inclusion is None:
        return None
    return AnchoredHead(inclusion, load_anchor(session, inclusion.anchor_id))


def inclusions_of(session: Session, kind: ChainKind, chain_id: str) -> list[AnchorInclusion]:
    """Every anchored head of one chain, oldest first (what an export carries with the chain)."""
    query = (
        select(AnchorInclusion)
        .where(AnchorInclusion.kind == kind, AnchorInclusion.chain_id == chain_id)
        .order_by(AnchorInclusion.length, AnchorInclusion.id)
    )
    return list(session.scalars(query))


def check_against_anchor(
    session: Session, kind: ChainKind, chain_id: str, links: Sequence[Link], check: ChainCheck, noun: str
) -> ChainCheck:
    """A chain that checks out on its own, checked against its newest anchored head: that link
    must still be there with the anchored hash, the proof must lead to the anchor's root, and the
    anchor's token must be over that root (its signature is for verity/timestamp_tokens.py).
    A chain already broken keeps its first problem."""
    if not check.verified:
        return check
    inclusion = newest_inclusion(session, kind, chain_id)
    if inclusion is None:
        return check
    anchor = session.get(Anchor, inclusion.anchor_id)
    seq = inclusion.length - 1
    head = f"{noun} {seq} (hash {inclusion.head_hash})"
    when = f"anchor {inclusion.anchor_id}" + (f" of {anchor.token.gen_time.isoformat()}" if anchor else "")
    if len(links) < inclusion.length:
        return ChainCheck(False, seq, f"{head}, anchored by {when}, is no longer in the chain")
    if links[seq].hash != inclusion.head_hash:
        return ChainCheck(False, seq, f"{head}, anchored by {when}, was replaced (now hash {links[seq].hash})")
    leaf = leaf_hash(kind, chain_id, inclusion.length, inclusion.head_hash)
    if anchor is None or root_from_proof(leaf, json.loads(inclusion.proof)).hex() != anchor.root:
        return ChainCheck(False, seq, f"the inclusion proof of {head} does not lead to the root of {when}")
    if anchor.token.digest != anchor.root:
        return ChainCheck(False, seq, f"the token of {when} does not stamp its root")
    return check


refuse_changes(Anchor)
refuse_changes(AnchorInclusion)
