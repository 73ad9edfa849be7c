"""The history of incidents and cases: per record, an append-only list of entries sealed like the
custody log (storage/chain.py), saying what was done to the record, by whom and when, with what it
held before. storage/evidence.py and storage/cases.py write each entry in the transaction of the
change itself, so neither can commit without the other; the entries stay when the record is
deleted."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.anchors import AnchoredHead, check_against_anchor, newest_anchored_head
from storage.chain import ChainCheck, new_link, refuse_changes, verify_links
from storage.models import Case, HistoryEntry, Incident
from verity.errors import NotFound

RecordKind = Literal["incident", "case"]
MODELS: dict[RecordKind, type[Incident] | type[Case]] = {"incident": Incident, "case": Case}


def record_entry(
    session: Session, kind: RecordKind, entity_id: str, action: str, actor: str, details: dict[str, Any]
) -> HistoryEntry:
    """Add the next entry to the record's chain in the caller's transaction, after the change it
    records has been flushed. Two writers on one record wait for each other on the record's row
    lock (PostgreSQL; a deleted record's row stays locked by the DELETE) or the write lock
    (SQLite); the (kind, id, seq) unique constraint backs that up, so the chain can never fork."""
    model = MODELS[kind]
    session.execute(select(model.id).where(model.id == entity_id).with_for_update())
    last = (
        select(HistoryEntry.seq, HistoryEntry.hash)
        .where(HistoryEntry.entity_kind == kind, HistoryEntry.entity_id == entity_id)
        .order_by(HistoryEntry.seq.desc())
    )
    chain = {"entity_kind": kind, "entity_id": entity_id}
    entry = HistoryEntry(**new_link(session, last, chain, action, actor, details))
    session.add(entry)
    session.flush()
    return entry


def plain(value: Any) -> Any:
    """A stored value as the history keeps it in JSON (times in UTC, ISO 8601)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return value


def snapshot(record: Incident | Case) -> dict[str, Any]:
    """The record as stored, every column: what its `created` and `deleted` entries keep."""
    values = {attribute.key: plain(getattr(record, attribute.key)) for attribute in record.__mapper__.column_attrs}
    if isinstance(record, Incident):
        values["tags"] = json.loads(record.tags)
    else:
        values["incident_ids"] = record.incident_ids
    return values


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The fields that differ, as `{"before": {...}, "after": {...}}`."""
    names = [name for name in after if before.get(name) != after[name]]
    return {
        "before": {name: plain(before.get(name)) for name in names},
        "after": {name: plain(after[name]) for name in names},
    }


def list_entries(session: Session, kind: RecordKind, entity_id: str) -> list[HistoryEntry]:
    query = (
        select(HistoryEntry)
        .where(HistoryEntry.entity_kind == kind, HistoryEntry.entity_id == entity_id)
        .order_by(HistoryEntry.seq)
    )
    return list(session.scalars(query))


def verify_history(entries: Sequence[HistoryEntry]) -> ChainCheck:
    """Recompute every link of one record's chain, in `seq` order."""
    return verify_links(entries, ("entity_kind", "entity_id"), "entry")


@dataclass(frozen=True)
class RecordHistory:
    kind: RecordKind
    entity_id: str
    deleted: bool
    entries: list[HistoryEntry]
    check: ChainCheck
    anchored: AnchoredHead | None = None  # the newest head under a trusted timestamp


def load_history(session: Session, kind: RecordKind, entity_id: str) -> RecordHistory:
    """A record's history, also once the record is deleted; NotFound only when there never was
    such a record. (A record stored before histories were kept has none until it changes.)"""
    entries = list_entries(session, kind, entity_id)
    exists = session.get(MODELS[kind], entity_id) is not None
    if not entries and not exists:
        raise NotFound(f"no {kind} with id {entity_id}, now or before")
    check = check_against_anchor(session, kind, entity_id, entries, verify_history(entries), "entry")
    return RecordHistory(kind, entity_id, not exists, entries, check, newest_anchored_head(session, kind, entity_id))


refuse_changes(HistoryEntry)
