"""What the incident and case pages share: links to the pages of a list, a record's history as
the API shows it, and what a stale edit met: the fields others changed after the version the
visitor's form was read at (each `updated`, `closed` … entry of the history names the version it
left and the fields it changed)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Form, Request
from sqlalchemy.orm import Session

from api.deps import MAX_INT
from api.schemas import HistoryLog
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
    read, and who changed which field since (`incidents` for a case's incidents)."""

    read_at: int
    yours: dict[str, str]
    changed: dict[str, list[str]]


def stale_edit(history: HistoryLog, read_at: int, yours: dict[str, str]) -> StaleEdit:
    changed: dict[str, list[str]] = {}
    for entry in history.entries:
        left = entry.details.get("version")
        if not isinstance(left, int) or left <= read_at:
            continue
        after = entry.details.get("after")
        names = list(after) if isinstance(after, dict) else []
        if entry.action in ("incident_added", "incident_removed"):
            names = ["incidents"]
        for name in names:
            who = changed.setdefault(name, [])
            if entry.actor not in who:
                who.append(entry.actor)
    return StaleEdit(read_at, yours, changed)
