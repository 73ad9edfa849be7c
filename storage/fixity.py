"""Fixity as rows: a clip's check outcome (a custody event, `fixity_checked` or `fixity_failed`
with what differs, and the clip's searchable flag), and the audit runs with their cursor. The
audit itself, which reads the originals, is ingest/fixity.py."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.custody import append_event
from storage.models import Clip, CustodyEvent, FixityRun, utcnow

log = logging.getLogger("verity.fixity")


@dataclass(frozen=True)
class Failure:
    """A clip whose last fixity check failed: when, and what differed."""

    clip_id: str
    filename: str
    checked_at: datetime | None
    problems: list[str]


def record_outcome(
    session: Session, clip_id: str, actor: str, problems: list[str], details: dict[str, Any]
) -> CustodyEvent:
    """Record one check of the clip in the caller's transaction: a `fixity_checked` event when
    `problems` is empty, else `fixity_failed` naming each, and the clip's flag to match. A failure
    is logged (WARNING, logger `verity.fixity`)."""
    failed = bool(problems)
    event = append_event(
        session,
        clip_id,
        "fixity_failed" if failed else "fixity_checked",
        actor,
        {**details, "problems": problems} if failed else details,
    )
    clip = session.get_one(Clip, clip_id)
    clip.fixity_status = "failed" if failed else "ok"
    clip.fixity_checked_at = event.occurred_at
    if failed:
        log.warning("fixity check of clip %s (%s) failed: %s", clip_id, clip.filename, "; ".join(problems))
    return event


def count_failed(session: Session) -> int:
    return int(session.scalar(select(func.count()).where(Clip.fixity_status == "failed")) or 0)


def failures(session: Session, limit: int = 1000) -> list[Failure]:
    """The clips whose last check failed, oldest failure first, with the problems it named."""
    clips = list(
        session.scalars(
            select(Clip).where(Clip.fixity_status == "failed").order_by(Clip.fixity_checked_at, Clip.id).limit(limit)
        )
    )
    found = []
    for clip in clips:
        last = session.scalar(
            select(CustodyEvent)
            .where(CustodyEvent.clip_id == clip.id, CustodyEvent.action == "fixity_failed")
            .order_by(CustodyEvent.seq.desc())
            .limit(1)
        )
        problems = _problems(last.details) if last is not None else []
        found.append(Failure(clip.id, clip.filename, clip.fixity_checked_at, problems))
    return found


def _problems(details: str) -> list[str]:
    try:
        parsed = json.loads(details)
    except ValueError:
        return []
    problems = parsed.get("problems") if isinstance(parsed, dict) else None
    return [str(p) for p in problems] if isinstance(problems, list) else []


def unfinished_run(session: Session) -> FixityRun | None:
    """The run a restart cut off (or the one in progress), to resume."""
    query = select(FixityRun).where(FixityRun.finished_at.is_(None)).order_by(FixityRun.id.desc()).limit(1)
    return session.scalar(query)


def last_finished_run(session: Session) -> FixityRun | None:
    query = select(FixityRun).where(FixityRun.finished_at.is_not(None)).order_by(FixityRun.id.desc()).limit(1)
    return session.scalar(query)


def start_run(session: Session, actor: str) -> FixityRun:
    run = FixityRun(started_by=actor, started_at=utcnow())
    session.add(run)
    session.flush()
    return run


def clips_after(session: Session, cursor: str | None, limit: int) -> list[tuple[str, int]]:
    """The next `limit` clips (id, size) after `cursor`, in the id order a run audits them in."""
    query = select(Clip.id, Clip.size_bytes).order_by(Clip.id).limit(limit)
    if cursor is not None:
        query = query.where(Clip.id > cursor)
    return [(row[0], row[1]) for row in session.execute(query)]


def advance_run(session: Session, run_id: int, clip_id: str, bytes_read: int, failed: bool) -> None:
    """Move the run's cursor past `clip_id`, in the transaction that records the clip's outcome, so
    a restart neither skips a clip nor records one twice."""
    run = session.get_one(FixityRun, run_id, with_for_update=True, populate_existing=True)
    run.cursor = clip_id
    run.clips_checked += 1
    run.clips_failed += int(failed)
    run.bytes_read += bytes_read


def finish_run(session: Session, run_id: int) -> FixityRun:
    run = session.get_one(FixityRun, run_id, with_for_update=True, populate_existing=True)
    run.finished_at = utcnow()
    return run
