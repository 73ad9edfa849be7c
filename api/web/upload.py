"""The upload page: many files dragged in at once, each sent by tus-js-client over the tus
protocol of /api/v1/uploads (resuming after a dropped connection or a page reload), each with its
own progress bar and then the status of its analysis."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.deps import SessionDep
from api.web.render import page
from api.web.visitor import VisitorDep
from storage.keys import Role
from storage.search import search_cases
from verity.errors import Forbidden

router = APIRouter(include_in_schema=False)
CASE_CHOICES = 200
CHUNK_BYTES = 8 * 1024 * 1024  # as the CLI sends


@router.get("/upload", response_class=HTMLResponse)
def upload_page(request: Request, session: SessionDep, visitor: VisitorDep) -> HTMLResponse:
    scope = visitor.caller.scope
    if not visitor.may_hand_in:
        raise Forbidden("handing footage in needs the contributor role, in the archive or in a case")
    _, cases = search_cases(session, "open", None, CASE_CHOICES, 0, scope=scope)
    choices = [case for case in cases if (grant := scope.in_case(case.id)) and grant.allows(Role.contributor)]
    context = {
        "cases": choices,
        "archive_wide": scope.archive is not None and scope.archive.allows(Role.contributor),
        "chunk_bytes": CHUNK_BYTES,
    }
    return page(request, "upload.html", context)
