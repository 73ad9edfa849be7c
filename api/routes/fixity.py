"""Fixity: `GET /api/v1/fixity` (the last audit, the next, and the clips that failed) and
`POST /api/v1/clips/{id}/fixity` (check one clip now)."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import ArchiveDep, SessionDep
from api.errors import COMMON_ERRORS
from api.params import Analyst, Viewer
from api.schemas import FixityCheckOut, FixityReport
from ingest.fixity import audit_status, check_clip
from storage.access import archive_wide, on_clip
from storage.keys import Role

router = APIRouter(tags=["fixity"], responses=COMMON_ERRORS)


@router.get("/api/v1/fixity", response_model=FixityReport)
def fixity_report(session: SessionDep, archive: ArchiveDep, caller: Viewer) -> FixityReport:
    """Where the audits stand: the last finished, the one under way, when the next starts, and every
    clip whose last check (an audit's or a whole download's) failed, with what differed. For an
    archive-wide viewer only: the audits read the whole archive, and their counts would tell a
    case member how much it holds beyond their cases. A case member reads the fixity of their own
    clips in each clip's `fixity` (and `GET /api/v1/clips?fixity=failed`)."""
    archive_wide(caller.scope, Role.viewer, "the fixity report")
    return FixityReport.of(audit_status(session, archive.settings))


@router.post("/api/v1/clips/{clip_id}/fixity", response_model=FixityCheckOut)
def check_fixity(clip_id: str, archive: ArchiveDep, caller: Analyst) -> FixityCheckOut:
    """Check the clip now (an analyst or admin on the clip): read the whole original, recompute SHA-256
    and size, run the chain check, and record the outcome in its custody (`fixity_checked` or
    `fixity_failed`)."""
    # No request session: the check writes in transactions of its own, which on SQLite would wait for one.
    with archive.reads() as session:
        on_clip(session, caller.scope, clip_id, Role.analyst)
    outcome = check_clip(archive, clip_id, caller.actor)
    return FixityCheckOut(clip_id=clip_id, fixity="failed" if outcome.failed else "ok", problems=outcome.problems)
