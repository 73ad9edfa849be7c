"""What the incident and case pages share: links to the pages of a list, a record's history as
the API shows it, and what a stale edit met: the fields others changed after the version the
visitor's form was read at (each `updated`, `closed` … entry of the history names the version it
left and the fields it changed)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Form, Request
from sqlalchemy.orm import Session

from api.deps import MAX_INT
from api.schemas import HistoryEntryOut, HistoryLog
from storage.history import RecordKind, load_history

PAGE_SIZE = 25
CHOICES = 200  # the newest records a choice (an incident to add, a case to create in) offers

# The version a form was read at: what its change names, as If-Match does for the API.
ReadVersion = Annotated[int, Form(ge=1, le=MAX_INT)]


def pager(
    request: Request, total: int, offset: int, name: str = "offset", path: str | None = None
) -> dict[str, str | None]:
    """Links to the previous and next page of a list on the page at `path` (default: this
    request's; a page answering a form's POST names its own), its offset in `name`, the page's
    other parameters kept."""
    kept = [(key, value) for key, value in request.query_params.multi_items() if key != name]

    def at(position: int) -> str:
        return f"{path or request.url.path}?{urlencode([*kept, (name, str(position))])}"

    return {
        "previous": at(max(offset - PAGE_SIZE, 0)) if offset > 0 else None,
        "next": at(offset + PAGE_SIZE) if offset + PAGE_SIZE < total else None,
        "first": str(offset + 1) if total else "0",
        "last": str(min(offset + PAGE_SIZE, total)),
    }


def history_of(session: Session, kind: RecordKind, record_id: str) -> HistoryLog:
    return HistoryLog.of(load_history(session, kind, record_id))


@dataclass(frozen=True)
class StaleEdit:
    """A visitor's edit that named an older version: what they sent (as typed), the version they
    read, who changed which field since (`incidents` for a case's incidents), and the form to
    redo it with (`redo`): the visitor's value where they changed a field, the record's present
    value where they left it as they read it, so redoing the edit keeps what others changed in
    fields the visitor never touched. `both`: the fields the visitor and someone else both
    changed, to different values (the redo form holds the visitor's; the page says so)."""

    read_at: int
    yours: dict[str, str]
    changed: dict[str, list[str]]
    redo: dict[str, str]
    both: frozenset[str]


def stale_edit(
    history: HistoryLog, read_at: int, yours: dict[str, str], now: dict[str, str], read: dict[str, str]
) -> StaleEdit:
    """`now` and `read`: the form's fields as the record holds them now and held them at
    `read_at` (`as_read`), in the form's own spelling."""
    changed: dict[str, list[str]] = {}
    for entry in _later(history, read_at):
        after = entry.details.get("after")
        names = list(after) if isinstance(after, dict) else []
        if entry.action in ("incident_added", "incident_removed"):
            names = ["incidents"]
        for name in names:
            who = changed.setdefault(name, [])
            if entry.actor not in who:
                who.append(entry.actor)
    redo, both = {}, set()
    for name, present in now.items():
        mine = yours.get(name, read.get(name))
        untouched = mine == read.get(name)
        redo[name] = present if untouched else str(mine)
        if not untouched and present != read.get(name) and mine != present:
            both.add(name)
    return StaleEdit(read_at, yours, changed, redo, frozenset(both))


def as_read(history: HistoryLog, read_at: int, stored: dict[str, Any]) -> dict[str, Any]:
    """The record's fields as they were at version `read_at`: `stored` (as the record holds them
    now, times as ISO 8601 text) with what each later entry changed put back, newest first."""
    values = dict(stored)
    for entry in reversed(_later(history, read_at)):
        before = entry.details.get("before")
        if isinstance(before, dict):
            values.update({name: value for name, value in before.items() if name in values})
    return values


def _later(history: HistoryLog, read_at: int) -> list[HistoryEntryOut]:
    """The entries that left a version after `read_at`, oldest first."""
    return [
        entry
        for entry in history.entries
        if isinstance(entry.details.get("version"), int) and entry.details["version"] > read_at
    ]
