"""Cases: CRUD with ETag / If-Match, the incidents each contains, and its members. Each route
checks the case it touches (storage/access.py): one the caller may not see is a 404 as for an
unknown id, one it sees but may not change a 403."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import SessionDep
from api.errors import COMMON_ERRORS, error_responses
from api.params import Admin, Contributor, IfMatchVersion, Limit, Offset, Viewer, etag
from api.schemas import CaseIn, CaseOut, CasePage, CasePatch, HistoryLog, MemberIn, MemberList, MemberOut
from storage.access import archive_wide, on_case, on_filing
from storage.cases import create_case, delete_case, load_case, set_case_incident, update_case
from storage.history import load_history
from storage.keys import Role
from storage.members import member_changer, members_of, remove_member, set_member
from storage.models import Case
from storage.search import search_cases
from storage.vocabulary import CaseStatus

router = APIRouter(prefix="/api/v1/cases", tags=["cases"], responses=COMMON_ERRORS)


def _out(case: Case, response: Response) -> CaseOut:
    response.headers["ETag"] = etag(case.version)
    return CaseOut.model_validate(case)


@router.post("", status_code=201, response_model=CaseOut)
def create(body: CaseIn, response: Response, session: SessionDep, caller: Contributor) -> CaseOut:
    """Open a case: for archive-wide contributors only, since a case is a new boundary of access
    (a caller who sees only some cases cannot widen its own reach)."""
    archive_wide(caller.scope, Role.contributor, "opening a case")
    case = create_case(session, body.title, body.description, body.status, caller.actor)
    response.headers["Location"] = f"/api/v1/cases/{case.id}"
    return _out(case, response)


@router.get("", response_model=CasePage)
def index(
    session: SessionDep,
    caller: Viewer,
    limit: Limit = 50,
    offset: Offset = 0,
    status: Annotated[CaseStatus | None, Query()] = None,
    q: Annotated[str | None, Query(description="Text in the title or description.")] = None,
) -> CasePage:
    """The cases the caller may see, newest first."""
    total, rows = search_cases(session, status, q, limit, offset, scope=caller.scope)
    return CasePage(items=[CaseOut.model_validate(row) for row in rows], total=total, limit=limit, offset=offset)


@router.get("/{case_id}", response_model=CaseOut)
def show(case_id: str, response: Response, session: SessionDep, caller: Viewer) -> CaseOut:
    on_case(session, caller.scope, case_id)
    return _out(load_case(session, case_id), response)


@router.patch("/{case_id}", response_model=CaseOut, responses=error_responses(412, 428))
def update(
    case_id: str,
    body: CasePatch,
    response: Response,
    session: SessionDep,
    caller: Contributor,
    if_match: IfMatchVersion = None,
) -> CaseOut:
    on_case(session, caller.scope, case_id, Role.contributor)
    case = update_case(session, case_id, body.model_dump(exclude_unset=True), if_match, caller.actor)
    return _out(case, response)


@router.delete("/{case_id}", status_code=204, responses=error_responses(412, 428))
def delete(case_id: str, session: SessionDep, caller: Contributor, if_match: IfMatchVersion = None) -> Response:
    """Delete an open case (its incidents stay); its history stays readable (to archive-wide
    callers: its memberships go with it)."""
    on_case(session, caller.scope, case_id, Role.contributor)
    delete_case(session, case_id, if_match, caller.actor)
    return Response(status_code=204)


@router.get("/{case_id}/history", response_model=HistoryLog)
def history(case_id: str, session: SessionDep, caller: Viewer) -> HistoryLog:
    """Every change to the case, oldest first, and whether the chain verifies; also once it is
    deleted (404 only for an id no case ever had). A deleted case has no members any more, so
    only archive-wide callers read its history."""
    on_case(session, caller.scope, case_id)
    return HistoryLog.of(load_history(session, "case", case_id))


@router.put("/{case_id}/incidents/{incident_id}", response_model=CaseOut, responses=error_responses(409))
def add_incident(
    case_id: str, incident_id: str, response: Response, session: SessionDep, caller: Contributor
) -> CaseOut:
    """Put an incident the caller may see into the case (it then shows to the case's members)."""
    on_filing(session, caller.scope, case_id, incident_id)
    case = set_case_incident(session, case_id, incident_id, True, caller.actor)
    return _out(case, response)


@router.delete("/{case_id}/incidents/{incident_id}", response_model=CaseOut, responses=error_responses(409))
def remove_incident(
    case_id: str, incident_id: str, response: Response, session: SessionDep, caller: Contributor
) -> CaseOut:
    on_filing(session, caller.scope, case_id, incident_id)
    case = set_case_incident(session, case_id, incident_id, False, caller.actor)
    return _out(case, response)


@router.get("/{case_id}/members", response_model=MemberList)
def members(case_id: str, session: SessionDep, caller: Viewer) -> MemberList:
    """Who belongs to the case, with their roles, permissions and ends (expired ones too): for
    whoever sees the case, as its history (each change a `member_set` or `member_removed` entry)
    already shows them; changing them is for its admins."""
    on_case(session, caller.scope, case_id)
    return MemberList(case_id=case_id, items=[MemberOut.of(m) for m in members_of(session, case_id)])


@router.put("/{case_id}/members/{person}", response_model=MemberOut)
def put_member(case_id: str, person: str, body: MemberIn, session: SessionDep, caller: Admin) -> MemberOut:
    """Add a person to the case, or change their role, permissions or end there (case admin). An
    admin of the case alone grants at most what it holds there: no role above its own, only
    permissions it holds, no end past its own membership's (none given: that one); and it leaves
    its own membership to another admin (403)."""
    by = member_changer(session, caller.scope, caller.person, case_id)
    member = set_member(session, case_id, person, body.role, body.permissions, body.expires_at, caller.actor, by=by)
    return MemberOut.of(member)


@router.delete("/{case_id}/members/{person}", status_code=204)
def delete_member(case_id: str, person: str, session: SessionDep, caller: Admin) -> Response:
    """End a person's membership at once; their keys see the case no more from the next request.
    An admin of the case alone may not end its own (403)."""
    by = member_changer(session, caller.scope, caller.person, case_id)
    remove_member(session, case_id, person, caller.actor, by=by)
    return Response(status_code=204)
