"""Fixity: `GET /api/v1/fixity` (the last audit, the next, and the clips that failed) and
`POST /api/v1/clips/{id}/fixity` (check one clip now)."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import ArchiveDep, SessionDep
from api.errors import COMMON_ERRORS
from api.params import Analyst, Viewer
from api.schemas import FixityCheckOut, FixityReport
from ingest.fixity import audit_status, check_clip

router = APIRouter(tags=["fixity"], responses=COMMON_ERRORS)


@router.get("/api/v1/fixity", response_model=FixityReport)
def fixity_report(session: SessionDep, archive: ArchiveDep, _caller: Viewer) -> FixityReport:
    """Where the audits stand: the last finished, the one under way, when the next starts, and every
    clip whose last check (an audit's or a whole download's) failed, with what differed."""
    return FixityReport.of(audit_status(session, archive.settings))


@router.post("/api/v1/clips/{clip_id}/fixity", response_model=FixityCheckOut)
def check_fixity(clip_id: str, archive: ArchiveDep, caller: Analyst) -> FixityCheckOut:
    """Check the clip now (analyst or admin): read the whole original, recompute SHA-256 and size, run
    the chain check, and record the outcome in its custody (`fixity_checked` or `fixity_failed`)."""
    # No request session: the check writes in transactions of its own, which on SQLite would wait for one.
    outcome = check_clip(archive, clip_id, caller.actor)
    return FixityCheckOut(clip_id=clip_id, fixity="failed" if outcome.failed else "ok", problems=outcome.problems)
