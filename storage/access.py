"""Need-to-know access: what one caller may see and do, and the one rule every read and write path
applies. Nothing is visible unless a grant covers it:

- an archive-wide role (a person's role of viewer or above, on a key not narrowed to cases) sees
  the whole archive, with the permissions that role holds (`PERMISSION_ROLES`);
- a case membership (`CaseMember`, live until its `expires_at`) sees that case, the incidents in
  it, and the clips linked to those incidents or handed into the case, with the membership's role
  there and the permissions it grants of its own.

A key may be narrower than its person: its role caps every grant, and a key narrowed to some
cases keeps only those (an archive-wide person's key narrowed to case X acts in X with the
person's role). Something the caller may not see is answered as if it did not exist (404), so an
id is no oracle; something it may see but not change is a 403 that says which role it needs."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, false, or_, select, true, union
from sqlalchemy.orm import QueryableAttribute, Session

from storage.keys import PERMISSION_ROLES, Permission, Role, lower_role
from storage.models import Acquisition, ApiKey, Case, CaseIncident, CaseMember, Clip, ClipLink, utcnow
from verity.errors import ClipNotFound, Forbidden, InvalidInput, NotFound


@dataclass(frozen=True)
class Grant:
    """What a caller may do in one place: a role there, and permissions of their own."""

    role: Role
    permissions: frozenset[Permission] = frozenset()

    def widen(self, other: Grant | None) -> Grant:
        if other is None:
            return self
        role = self.role if self.role.rank >= other.role.rank else other.role
        return Grant(role, self.permissions | other.permissions)

    def allows(self, needed: Role) -> bool:
        return self.role.allows(needed)

    def may(self, permission: Permission) -> bool:
        return permission in self.permissions


def role_grant(role: Role) -> Grant:
    """An archive-wide role's grant: the role, and the permissions it holds."""
    return Grant(role, frozenset(p for p, holders in PERMISSION_ROLES.items() if role in holders))


@dataclass(frozen=True)
class Scope:
    """A caller's grants: `archive` over everything (None: only the cases), `cases` per case."""

    archive: Grant | None
    cases: Mapping[str, Grant] = field(default_factory=dict)

    @property
    def archive_wide(self) -> bool:
        return self.archive is not None

    @property
    def case_ids(self) -> frozenset[str]:
        """The cases granted by membership or narrowing (archive-wide callers see others too)."""
        return frozenset(self.cases)

    def reach(self) -> Role:
        """The highest role the caller holds anywhere: what a route's role gate asks of it."""
        roles = [grant.role for grant in self.grants()]
        return max(roles, key=lambda role: role.rank, default=Role.none)

    def grants(self) -> list[Grant]:
        return [*([self.archive] if self.archive else []), *self.cases.values()]

    def archive_may(self, permission: Permission) -> bool:
        """Whether the caller holds `permission` over the whole archive."""
        return self.archive is not None and self.archive.may(permission)

    def may_anywhere(self, permission: Permission) -> bool:
        return any(grant.may(permission) for grant in self.grants())

    def in_case(self, case_id: str) -> Grant | None:
        """The caller's grant in one case (None: the case is not visible to it)."""
        grant = self.cases.get(case_id)
        if self.archive is None:
            return grant
        return self.archive.widen(grant)

    def over(self, case_ids: Iterable[str]) -> Grant | None:
        """The widest grant through any of these cases (and archive-wide), or None."""
        combined = self.archive
        for case_id in case_ids:
            grant = self.cases.get(case_id)
            if grant is not None:
                combined = grant if combined is None else combined.widen(grant)
        return combined


NOTHING = Grant(Role.none)
EVERYTHING = Scope(archive=role_grant(Role.admin))  # the local archive's owner (CLI without --server)


def live_memberships(session: Session, person_id: int) -> list[CaseMember]:
    now = utcnow()
    query = select(CaseMember).where(
        CaseMember.person_id == person_id, or_(CaseMember.expires_at.is_(None), CaseMember.expires_at > now)
    )
    return list(session.scalars(query.order_by(CaseMember.case_id)))


def membership_grant(member: CaseMember) -> Grant:
    return Grant(Role(member.role), frozenset(Permission(p) for p in json.loads(member.permissions)))


def scope_of(session: Session, key: ApiKey) -> Scope:
    """What `key` may see and do now: its person's archive-wide role and live memberships, capped
    by the key's role and narrowed to the key's cases if it has any."""
    cap = Role(key.role)
    person_role = lower_role(cap, Role(key.person.role))
    person_wide = role_grant(person_role) if person_role.allows(Role.viewer) else None
    cases: dict[str, Grant] = {}
    for member in live_memberships(session, key.person.id):
        grant = membership_grant(member)
        capped = Grant(lower_role(cap, grant.role), grant.permissions)
        if capped.role.allows(Role.viewer):
            cases[member.case_id] = capped
    if not key.case_ids:
        return Scope(archive=person_wide, cases=cases)
    narrowed: dict[str, Grant] = {}
    for case_id in key.case_ids:
        given = person_wide.widen(cases.get(case_id)) if person_wide else cases.get(case_id)
        if given is not None and session.get(Case, case_id) is not None:
            narrowed[case_id] = given
    return Scope(archive=None, cases=narrowed)


def reach_of(session: Session, person_id: int, person_role: Role) -> Role:
    """The highest role a person holds anywhere: archive-wide or in a live membership (the most a
    key of theirs may carry)."""
    roles = [person_role, *(Role(member.role) for member in live_memberships(session, person_id))]
    return max(roles, key=lambda role: role.rank)


# --- the rule, as SQL: ids of what a scope sees (None: everything) ---------------------------


def clips_in_cases(case_ids: Iterable[str]) -> Select[Any]:
    """Ids of the clips handed into these cases or linked (and not unlinked) to their incidents."""
    ids = sorted(case_ids)
    handed = select(Acquisition.clip_id).where(Acquisition.case_id.in_(ids))
    linked = (
        select(ClipLink.clip_id)
        .join(CaseIncident, CaseIncident.incident_id == ClipLink.incident_id)
        .where(CaseIncident.case_id.in_(ids), ClipLink.unlinked_at.is_(None))
    )
    return select(union(handed, linked).subquery().c[0])


def incidents_in_cases(case_ids: Iterable[str]) -> Select[Any]:
    return select(CaseIncident.incident_id).where(CaseIncident.case_id.in_(sorted(case_ids)))


# A column holding an id: an ORM attribute (`Clip.id`) or a Core column.
IdColumn = ColumnElement[str] | QueryableAttribute[str]


def clip_visible(scope: Scope, clip_id_column: IdColumn) -> ColumnElement[bool]:
    """A WHERE clause keeping the clips `scope` may see (the column holds a clip id)."""
    return true() if scope.archive_wide else clip_id_column.in_(clips_in_cases(scope.case_ids))


def visible_clip_ids(session: Session, scope: Scope, clip_ids: Iterable[str]) -> set[str]:
    """Those of `clip_ids` the scope may see, in one query (for lists of matches or copies)."""
    ids = set(clip_ids)
    if scope.archive_wide or not ids:
        return ids
    query = select(Clip.id).where(Clip.id.in_(sorted(ids)), clip_visible(scope, Clip.id))
    return set(session.scalars(query))


def incident_visible(scope: Scope, incident_id_column: IdColumn) -> ColumnElement[bool]:
    return true() if scope.archive_wide else incident_id_column.in_(incidents_in_cases(scope.case_ids))


def case_visible(scope: Scope, case_id_column: IdColumn) -> ColumnElement[bool]:
    return true() if scope.archive_wide else case_id_column.in_(sorted(scope.case_ids))


# --- which cases hold a record ----------------------------------------------------------------


def cases_of_clip(session: Session, clip_id: str) -> set[str]:
    """The cases a clip is in: handed into, or linked to one of their incidents."""
    return cases_of_clips(session, [clip_id])[clip_id]


def cases_of_clips(session: Session, clip_ids: Iterable[str]) -> dict[str, set[str]]:
    """`cases_of_clip` for many clips in two queries (for a page of them)."""
    ids = sorted(set(clip_ids))
    found: dict[str, set[str]] = {clip_id: set() for clip_id in ids}
    if not ids:
        return found
    handed = select(Acquisition.clip_id, Acquisition.case_id).where(
        Acquisition.clip_id.in_(ids), Acquisition.case_id.is_not(None)
    )
    linked = (
        select(ClipLink.clip_id, CaseIncident.case_id)
        .join(CaseIncident, CaseIncident.incident_id == ClipLink.incident_id)
        .where(ClipLink.clip_id.in_(ids), ClipLink.unlinked_at.is_(None))
    )
    rows = cast("list[tuple[str, str]]", session.execute(union(handed, linked)).all())
    for clip_id, case_id in rows:
        found[clip_id].add(case_id)
    return found


def cases_of_incident(session: Session, incident_id: str) -> set[str]:
    return set(session.scalars(select(CaseIncident.case_id).where(CaseIncident.incident_id == incident_id)))


# --- checks a route makes before it reads or changes one record -------------------------------


def _check(grant: Grant | None, missing: NotFound, needed: Role, permission: Permission | None, what: str) -> Grant:
    if grant is None or not grant.allows(Role.viewer):
        raise missing
    if not grant.allows(needed):
        raise Forbidden(f"{what} needs the {needed.value} role there; you hold {grant.role.value}")
    if permission is not None and not grant.may(permission):
        raise Forbidden(f"{what} needs the {permission.value} permission, which you do not hold there")
    return grant


def on_clip(
    session: Session, scope: Scope, clip_id: str, needed: Role = Role.viewer, permission: Permission | None = None
) -> Grant:
    """The caller's grant on a clip: 404 (as for an unknown id) when it may not see it, 403 when it
    may see it but not with `needed` or `permission`."""
    grant = scope.over(cases_of_clip(session, clip_id) if scope.cases else ())
    return _check(grant, ClipNotFound(f"no clip with id {clip_id}"), needed, permission, "this clip")


def on_clips(
    session: Session,
    scope: Scope,
    clip_ids: Iterable[str],
    needed: Role = Role.viewer,
    permission: Permission | None = None,
) -> None:
    """`on_clip` for many clips, their cases read in two queries (an export names thousands)."""
    ids = list(dict.fromkeys(clip_ids))
    cases = cases_of_clips(session, ids) if scope.cases else {}
    for clip_id in ids:
        grant = scope.over(cases.get(clip_id, ()))
        _check(grant, ClipNotFound(f"no clip with id {clip_id}"), needed, permission, "this clip")


def on_incident(
    session: Session, scope: Scope, incident_id: str, needed: Role = Role.viewer, permission: Permission | None = None
) -> Grant:
    grant = scope.over(cases_of_incident(session, incident_id) if scope.cases else ())
    return _check(grant, NotFound(f"no incident with id {incident_id}"), needed, permission, "this incident")


def on_case(
    session: Session, scope: Scope, case_id: str, needed: Role = Role.viewer, permission: Permission | None = None
) -> Grant:
    return _check(scope.in_case(case_id), NotFound(f"no case with id {case_id}"), needed, permission, "this case")


def on_filing(session: Session, scope: Scope, case_id: str, incident_id: str) -> None:
    """Putting an incident into a case or taking it out: contributor in the case, and where the
    incident already is, so filing never pulls an incident the caller cannot see into a case (nor
    tells it that one exists), nor lets a viewer of one case carry its incidents into another."""
    on_case(session, scope, case_id, Role.contributor)
    on_incident(session, scope, incident_id, Role.contributor)


def archive_wide(scope: Scope, needed: Role, what: str) -> Grant:
    """The caller's archive-wide grant, if it holds `needed` there: for what spans the whole
    archive (keys, anchors, reprocessing). A case-only caller gets a 403 saying so."""
    if scope.archive is None:
        raise Forbidden(f"{what} spans the whole archive: it needs an archive-wide {needed.value} role")
    if not scope.archive.allows(needed):
        raise Forbidden(f"{what} needs the {needed.value} role; you hold {scope.archive.role.value}")
    return scope.archive


def hand_in(session: Session, scope: Scope, case_id: str | None) -> str | None:
    """Check that the caller may hand footage in, into `case_id` (contributor there; 404 for a
    case it cannot see) or archive-wide (None: an archive-wide contributor). A caller who sees
    only some cases must name one, else its own footage would be visible only archive-wide,
    so not to itself. Returns the case."""
    if case_id is not None:
        if session.get(Case, case_id) is None:
            raise NotFound(f"no case with id {case_id}")
        on_case(session, scope, case_id, Role.contributor)
        return case_id
    if scope.archive is None:
        raise InvalidInput("give case_id: your key sees only some cases, so footage you hand in goes into one of them")
    archive_wide(scope, Role.contributor, "an upload into no case")
    return None


def sources_visible_clause(scope: Scope) -> ColumnElement[bool]:
    """`sources_visible` as a WHERE clause on `Acquisition`: for a search by source or uploader,
    which must match only acquisitions whose source the caller may read (else it is an oracle)."""
    if scope.archive_may(Permission.sources):
        return true()
    holding = sorted(case_id for case_id, grant in scope.cases.items() if grant.may(Permission.sources))
    return Acquisition.case_id.in_(holding) if holding else false()


def sources_visible(scope: Scope, acquisition: Acquisition) -> bool:
    """Whether the caller may see who handed this acquisition in and from where: with the sources
    permission archive-wide, or in the case it was handed into. Each case guards its own sources,
    and the archive's own (handed in with no case) are for archive-wide holders alone: were they
    shown to holders in any case the clip is in, a guest could hand in a copy of widely shared
    footage to its case and read who first sent it to the archive."""
    if scope.archive_may(Permission.sources):
        return True
    if acquisition.case_id is None:
        return False
    return scope.cases.get(acquisition.case_id, NOTHING).may(Permission.sources)
