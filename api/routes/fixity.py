"""Fixity: `GET /api/v1/fixity` (the last audit, the next, and the clips that failed) and
`POST /api/v1/clips/{id}/fixity` (check one clip now)."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import ArchiveDep, SessionDep
from api.errors import COMMON_ERRORS
from api.params import Analyst, Viewer
from api.schemas import FixityCheckOut, FixityFailureOut, FixityReport, FixityRunOut
from ingest.fixity import check_clip, next_run_at
from storage.clips import load_clip
from storage.fixity import count_failed, failures, last_finished_run, unfinished_run

router = APIRouter(tags=["fixity"], responses=COMMON_ERRORS)


@router.get("/api/v1/fixity", response_model=FixityReport)
def fixity_report(session: SessionDep, archive: ArchiveDep, _caller: Viewer) -> FixityReport:
    """Where the audits stand: the last finished, the one under way, when the next starts, and every
    clip whose last check (an audit's or a whole download's) failed, with what differed."""
    last, running = last_finished_run(session), unfinished_run(session)
    return FixityReport(
        last_run=FixityRunOut.model_validate(last) if last else None,
        running=FixityRunOut.model_validate(running) if running else None,
        next_run_at=next_run_at(last, archive.settings),
        interval_s=archive.settings.fixity_interval_s,
        failed=count_failed(session),
        failures=[FixityFailureOut.model_validate(vars(failure)) for failure in failures(session)],
    )


@router.post("/api/v1/clips/{clip_id}/fixity", response_model=FixityCheckOut)
def check_fixity(clip_id: str, session: SessionDep, archive: ArchiveDep, caller: Analyst) -> FixityCheckOut:
    """Check the clip now (analyst or admin): read the whole original, recompute SHA-256 and size, run
    the chain check, and record the outcome in its custody (`fixity_checked` or `fixity_failed`)."""
    load_clip(session, clip_id)
    outcome = check_clip(archive, clip_id, caller.name)
    return FixityCheckOut(clip_id=clip_id, fixity="failed" if outcome.failed else "ok", problems=outcome.problems)
