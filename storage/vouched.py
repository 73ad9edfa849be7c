"""What a clip's custody chain vouches for, checked against the rows it vouches for: the clip's
`sha256` and size against its `uploaded` event, each acquisition against the event that recorded
it and each correction against its own, the review status against the last review event, each
link to an incident (and its segment) against the events that made, changed and removed it, each
decision on a suggested copy against the last event of it, and the fixity flag against the last
fixity event. A chain whose hashes all recompute proves only its
own events; a column edited beside it (with the database's guard lifted) is found here, named by
the field, and reported by the chain check like a broken link."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.chain import ChainCheck, timestamp
from storage.custody import StoredEvent, check_links, read_events
from storage.models import (
    Acquisition,
    AcquisitionCorrection,
    Clip,
    ClipLink,
    MatchDecision,
    VerificationChange,
)

RECEIPTS = ("uploaded", "acquired_duplicate")
# The acquisition fields an event of receipt records (received_by is its actor); events written
# before captured_at, note, received_at and case_id were recorded are checked on what they hold.
RECEIPT_FIELDS = ("filename", "source", "source_url", "captured_at", "note", "received_at", "case_id")
FIXITY_OUTCOMES = {"fixity_checked": "ok", "fixity_failed": "failed"}
# The events of a decision on a suggested copy (storage/matches.py MATCH_ACTIONS), and what each decides.
MATCH_OUTCOMES = {"match_confirmed": "confirmed", "match_rejected": "rejected"}
# The events that make, change and remove a link of the clip to an incident.
LINK_ACTIONS = ("linked", "unlinked", "link_changed")
# The events whose details vouch for a row (each read below); the others' details are not read.
VOUCHING = frozenset((*RECEIPTS, "acquisition_corrected", "verification_changed", *LINK_ACTIONS, *MATCH_OUTCOMES))
# What a Mismatch holds for a row as a whole: one an event records, one that is stored.
RECORDED, PRESENT = "recorded", "present"


@dataclass(frozen=True)
class Mismatch:
    """A field whose stored value is not what the chain recorded. `seq` is the event that vouches
    for it; None for a row no event vouches for (or an event whose row is gone: then `found` is
    None and `field` says so)."""

    seq: int | None
    field: str
    recorded: Any
    found: Any

    def describe(self) -> str:
        if self.seq is None and self.recorded is None:
            return f"{self.field} is recorded by no event"
        if self.found is None and self.recorded == RECORDED:
            return (
                f"{self.field} is missing"
                if self.seq is None
                else f"{self.field}, recorded by event {self.seq}, is gone"
            )
        where = f"event {self.seq}" if self.seq is not None else "no event"
        return f"{self.field} is {self.found!r} but {where} recorded {self.recorded!r}"


@dataclass(frozen=True)
class CustodyCheck:
    """The chain check of one clip: every link recomputes (`links`, storage/chain.py) and every row
    the chain vouches for holds what it recorded (`mismatches`)."""

    links: ChainCheck
    mismatches: list[Mismatch] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        return self.links.verified and not self.mismatches

    @property
    def first_bad_seq(self) -> int | None:
        if not self.links.verified:
            return self.links.first_bad_seq
        return self.mismatches[0].seq if self.mismatches else None

    @property
    def reason(self) -> str | None:
        if not self.links.verified:
            return self.links.reason
        return f"does not match its custody: {self.mismatches[0].describe()}" if self.mismatches else None

    def problems(self) -> list[str]:
        """Each thing wrong, in words: the broken link, then each field that differs."""
        broken = [f"custody chain: {self.links.reason}"] if not self.links.verified else []
        return broken + [f"custody: {mismatch.describe()}" for mismatch in self.mismatches]


def check_custody(session: Session, clip: Clip) -> tuple[list[StoredEvent], CustodyCheck]:
    """The clip's events, and the chain check over them and the rows they vouch for."""
    events = read_events(session, clip.id)
    return events, CustodyCheck(check_links(session, clip.id, events), vouched_mismatches(session, clip, events))


def _details(event: StoredEvent) -> dict[str, Any]:
    try:
        parsed = json.loads(event.details)
    except ValueError:
        return {}  # the chain check reports an event altered into something unreadable
    return parsed if isinstance(parsed, dict) else {}


def _same(recorded: Any, found: Any) -> bool:
    if isinstance(found, datetime) and isinstance(recorded, str):
        try:
            return datetime.fromisoformat(recorded.replace("Z", "+00:00")) == found
        except ValueError:
            return False
    return bool(recorded == found)


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def vouched_mismatches(session: Session, clip: Clip, events: Sequence[StoredEvent]) -> list[Mismatch]:
    """Every field, of the clip and the rows its chain vouches for, that differs from what the
    chain recorded, in the order of the events that recorded them (rows no event vouches for last)."""
    found: list[Mismatch] = []

    def compare(seq: int | None, name: str, recorded: Any, value: Any) -> None:
        if not _same(recorded, value):
            found.append(Mismatch(seq, name, _plain(recorded), _plain(value)))

    # Only the events that vouch for a row are read (a long log is mostly downloads and checks).
    parsed = [(event, _details(event) if event.action in VOUCHING else {}) for event in events]
    found += _receipts(session, clip, parsed, compare)
    found += _corrections(session, clip, parsed, compare)
    found += _reviews(session, clip, parsed, compare)
    found += _links(session, clip, parsed, compare)
    found += _matches(session, clip, parsed, compare)
    fixity = [(event.seq, FIXITY_OUTCOMES[event.action]) for event, _ in parsed if event.action in FIXITY_OUTCOMES]
    seq, status = fixity[-1] if fixity else (None, "unchecked")
    compare(seq, "fixity_status", status, clip.fixity_status)
    return sorted(found, key=lambda m: (m.seq is None, m.seq or 0))


Parsed = list[tuple[StoredEvent, dict[str, Any]]]


def _receipts(session: Session, clip: Clip, parsed: Parsed, compare: Any) -> list[Mismatch]:
    missing: list[Mismatch] = []
    acquisitions = {a.id: a for a in session.scalars(select(Acquisition).where(Acquisition.clip_id == clip.id))}
    vouched: set[int] = set()
    uploads = [(event, details) for event, details in parsed if event.action == "uploaded"]
    if not uploads:
        missing.append(Mismatch(None, "the uploaded event", RECORDED, None))
    for event, details in parsed:
        if event.action not in RECEIPTS:
            continue
        if event.action == "uploaded":
            compare(event.seq, "sha256", details.get("sha256"), clip.sha256)
            compare(event.seq, "size_bytes", details.get("size_bytes"), clip.size_bytes)
        elif "sha256" in details:
            compare(event.seq, "sha256", details["sha256"], clip.sha256)
        acquisition_id = details.get("acquisition_id")
        acquisition = acquisitions.get(acquisition_id) if isinstance(acquisition_id, int) else None
        if acquisition is None:
            missing.append(Mismatch(event.seq, f"acquisition {acquisition_id}", RECORDED, None))
            continue
        vouched.add(acquisition.id)
        prefix = f"acquisition {acquisition.id}"
        compare(event.seq, f"{prefix} received_by", event.actor, acquisition.received_by)
        for name in RECEIPT_FIELDS:
            if name in details:
                value = getattr(acquisition, name)
                if name == "received_at":
                    value = timestamp(value)
                compare(event.seq, f"{prefix} {name}", details[name], value)
    for acquisition_id in sorted(set(acquisitions) - vouched):
        missing.append(Mismatch(None, f"acquisition {acquisition_id}", None, PRESENT))
    return missing


def _corrections(session: Session, clip: Clip, parsed: Parsed, compare: Any) -> list[Mismatch]:
    missing: list[Mismatch] = []
    query = (
        select(AcquisitionCorrection)
        .join(Acquisition, Acquisition.id == AcquisitionCorrection.acquisition_id)
        .where(Acquisition.clip_id == clip.id)
    )
    rows = {c.id: c for c in session.scalars(query)}
    vouched: set[int] = set()
    for event, details in parsed:
        if event.action != "acquisition_corrected":
            continue
        correction = rows.get(details.get("correction_id"))  # type: ignore[arg-type]
        if correction is None:
            missing.append(Mismatch(event.seq, f"correction {details.get('correction_id')}", RECORDED, None))
            continue
        vouched.add(correction.id)
        prefix = f"correction {correction.id}"
        compare(event.seq, f"{prefix} corrected_by", event.actor, correction.corrected_by)
        for name in ("acquisition_id", "field", "old_value", "new_value", "why"):
            compare(event.seq, f"{prefix} {name}", details.get(name), getattr(correction, name))
    for correction_id in sorted(set(rows) - vouched):
        missing.append(Mismatch(None, f"correction {correction_id}", None, PRESENT))
    return missing


def _reviews(session: Session, clip: Clip, parsed: Parsed, compare: Any) -> list[Mismatch]:
    missing: list[Mismatch] = []
    reviews = [(event, details) for event, details in parsed if event.action == "verification_changed"]
    seq, status = (reviews[-1][0].seq, reviews[-1][1].get("to")) if reviews else (None, "unverified")
    compare(seq, "verification_status", status, clip.verification_status)
    query = select(VerificationChange).where(VerificationChange.clip_id == clip.id).order_by(VerificationChange.id)
    changes = list(session.scalars(query))
    for index, (event, details) in enumerate(reviews):
        if index >= len(changes):
            missing.append(Mismatch(event.seq, f"review {index + 1}", RECORDED, None))
            continue
        change = changes[index]
        compare(event.seq, f"review {index + 1} reviewer", event.actor, change.reviewer)
        for name, column in (("from", "from_status"), ("to", "to_status"), ("rationale", "rationale")):
            compare(event.seq, f"review {index + 1} {column}", details.get(name), getattr(change, column))
    for index in range(len(reviews), len(changes)):
        missing.append(Mismatch(None, f"review {index + 1}", None, PRESENT))
    return missing


def _links(session: Session, clip: Clip, parsed: Parsed, compare: Any) -> list[Mismatch]:
    missing: list[Mismatch] = []
    expected: dict[int, tuple[int, dict[str, Any]]] = {}  # link id → (last event's seq, state)
    for event, details in parsed:
        link_id = details.get("link_id")
        if not isinstance(link_id, int):
            continue
        if event.action == "linked":
            state: dict[str, Any] = {
                name: details[name] for name in ("incident_id", "start_s", "end_s", "note") if name in details
            }
            expected[link_id] = (event.seq, {**state, "linked_by": event.actor, "unlinked_by": None})
        elif event.action == "link_changed" and link_id in expected:
            state = {**expected[link_id][1], **(details.get("after") or {})}
            expected[link_id] = (event.seq, state)
        elif event.action == "unlinked" and link_id in expected:
            expected[link_id] = (event.seq, {**expected[link_id][1], "unlinked_by": event.actor})
    rows = {link.id: link for link in session.scalars(select(ClipLink).where(ClipLink.clip_id == clip.id))}
    for link_id, (seq, state) in expected.items():
        link = rows.get(link_id)
        if link is None:
            missing.append(Mismatch(seq, f"link {link_id}", RECORDED, None))
            continue
        for name, recorded in state.items():
            compare(seq, f"link {link_id} {name}", recorded, getattr(link, name))
        compare(seq, f"link {link_id} unlinked", state["unlinked_by"] is not None, link.unlinked_at is not None)
    for link_id in sorted(set(rows) - set(expected)):
        missing.append(Mismatch(None, f"link {link_id}", None, PRESENT))
    return missing


def _matches(session: Session, clip: Clip, parsed: Parsed, compare: Any) -> list[Mismatch]:
    """Each decision row against the last event of it on this clip (a new decision replaces the row)."""
    missing: list[Mismatch] = []
    expected: dict[int, tuple[StoredEvent, dict[str, Any]]] = {}  # decision id → its last event
    for event, details in parsed:
        if event.action in MATCH_OUTCOMES and isinstance(details.get("decision_id"), int):
            expected[details["decision_id"]] = (event, details)
    query = select(MatchDecision).where((MatchDecision.clip_id == clip.id) | (MatchDecision.other_clip_id == clip.id))
    rows = {row.id: row for row in session.scalars(query)}
    for decision_id, (event, details) in expected.items():
        row = rows.get(decision_id)
        if row is None:
            missing.append(Mismatch(event.seq, f"match {decision_id}", RECORDED, None))
            continue
        other = row.other_clip_id if row.clip_id == clip.id else row.clip_id
        compare(event.seq, f"match {decision_id} other_clip_id", details.get("other_clip_id"), other)
        compare(event.seq, f"match {decision_id} decision", MATCH_OUTCOMES[event.action], row.decision)
        compare(event.seq, f"match {decision_id} note", details.get("note"), row.note)
        compare(event.seq, f"match {decision_id} decided_by", event.actor, row.decided_by)
    for decision_id in sorted(set(rows) - set(expected)):
        missing.append(Mismatch(None, f"match {decision_id}", None, PRESENT))
    return missing
