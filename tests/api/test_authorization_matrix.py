"""The authorization matrix: every route the app's OpenAPI schema lists, called by every kind of
caller, held to one table of who may call it. A route missing from EXPECTED, or a row for a route
that is gone, fails `test_every_route_has_one_rule`, so a new route cannot forget its rule.

The world: every record a route touches (clip, incident, link, case, export, upload) is in case A
(the clip linked to an incident of case A); case B is another, with an incident of its own. The
callers: no key and keys that no longer count; one archive-wide key per role; a guest member of
case A with each role there, and one holding download and export; an admin of case B."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from storage.archive import Archive
from storage.keys import Permission, Role, create_key, revoke_key
from storage.matches import is_suggested
from storage.members import MEMBER_ROLES
from storage.models import ApiKey, ClipRelation, utcnow
from storage.people import create_person, set_disabled
from tests import media
from tests.conftest import auth, open_test_archive
from tests.helpers.access import member_key
from tests.helpers.api_calls import INCIDENT, create_incident, upload_analysed, wait_for_stamp
from tests.helpers.exports import export_and_wait
from tests.helpers.tsa import LoopbackTsa, stamping

PUBLIC = "public"
ARCHIVE_ONLY = "archive-only"
MATRIX_PERSON, MATRIX_PASSWORD = "matrix-person", "a long pass phrase for the matrix"


@dataclass(frozen=True)
class Rule:
    """Who may call one route. `archive`: the least archive-wide role (or PUBLIC). `case`: the
    least role a member of the record's case needs there, or ARCHIVE_ONLY for what spans the whole
    archive (no membership reaches it). `permission`: what a member must hold besides (an
    archive-wide role holds it with the role: download viewer and up, export analyst and up).
    `lists`: the route answers a list or a search, so a member of another case gets a 200 naming
    none of case A's records instead of a 404."""

    archive: str
    case: str
    permission: str | None = None
    lists: bool = False


def public() -> Rule:
    return Rule(PUBLIC, PUBLIC)


def record(role: str, permission: str | None = None) -> Rule:
    return Rule(role, role, permission)


def listing(role: str) -> Rule:
    return Rule(role, role, lists=True)


def whole(role: str) -> Rule:
    return Rule(role, ARCHIVE_ONLY)


# Roles rank none < viewer < contributor < analyst < admin (storage/keys.py).
EXPECTED: dict[tuple[str, str], Rule] = {
    ("GET", "/healthz"): public(),
    ("POST", "/api/v1/sessions"): public(),  # sign-in: a name and password, not a key
    ("POST", "/api/v1/clips"): record("contributor"),  # handed into case A
    ("GET", "/api/v1/clips"): listing("viewer"),
    ("GET", "/api/v1/clips/{clip_id}"): record("viewer"),
    ("GET", "/api/v1/clips/{clip_id}/original"): record("viewer", "download"),
    ("GET", "/api/v1/clips/{clip_id}/playback"): record("viewer", "download"),
    ("GET", "/api/v1/clips/{clip_id}/custody"): record("viewer"),
    ("GET", "/api/v1/clips/{clip_id}/probe"): record("viewer"),
    ("GET", "/api/v1/clips/{clip_id}/content-credentials"): record("viewer"),
    ("POST", "/api/v1/clips/{clip_id}/reprocess"): whole("admin"),
    # The uploader (here the archive-wide contributor) or an analyst: a case's contributor is neither.
    ("POST", "/api/v1/clips/{clip_id}/acquisitions/{acquisition_id}/corrections"): Rule("contributor", "analyst"),
    ("POST", "/api/v1/uploads"): record("contributor"),  # into case A
    ("GET", "/api/v1/uploads/{upload_id}"): record("contributor"),  # the caller's own upload
    ("PATCH", "/api/v1/uploads/{upload_id}"): record("contributor"),
    ("DELETE", "/api/v1/uploads/{upload_id}"): record("contributor"),
    ("OPTIONS", "/api/v1/uploads"): public(),  # tus: what the server supports, asked without a key
    ("HEAD", "/api/v1/uploads/{upload_id}"): record("contributor"),  # tus: where the caller's own upload stands
    ("GET", "/api/v1/clips/{clip_id}/keyframes"): record("viewer"),
    ("GET", "/api/v1/clips/{clip_id}/keyframes/{index}"): record("viewer"),
    ("GET", "/api/v1/clips/{clip_id}/viewing-copy"): record("viewer"),  # watching is not downloading
    ("GET", "/api/v1/keys"): whole("admin"),
    ("POST", "/api/v1/keys"): whole("admin"),
    ("DELETE", "/api/v1/keys/{name}"): whole("admin"),
    ("GET", "/api/v1/verify"): listing("viewer"),
    ("POST", "/api/v1/verify"): listing("viewer"),
    ("GET", "/api/v1/clips/{clip_id}/related"): record("viewer"),
    # The pair is the clip and the spare, both in case A: the role is asked on both.
    ("PUT", "/api/v1/clips/{clip_id}/related/{other_id}/decision"): record("analyst"),
    ("GET", "/api/v1/clips/{clip_id}/related/{other_id}/decision"): record("viewer"),
    ("POST", "/api/v1/clips/{clip_id}/related/{other_id}/review"): record("analyst"),
    ("GET", "/api/v1/clips/{clip_id}/family"): record("viewer"),
    ("POST", "/api/v1/incidents"): record("contributor"),  # into case A
    ("GET", "/api/v1/incidents"): listing("viewer"),
    ("GET", "/api/v1/incidents/{incident_id}"): record("viewer"),
    ("PATCH", "/api/v1/incidents/{incident_id}"): record("contributor"),
    ("DELETE", "/api/v1/incidents/{incident_id}"): record("contributor"),
    ("GET", "/api/v1/incidents/{incident_id}/history"): record("viewer"),
    ("POST", "/api/v1/incidents/{incident_id}/clips"): record("contributor"),
    ("GET", "/api/v1/incidents/{incident_id}/clips"): record("viewer"),
    ("GET", "/api/v1/incidents/{incident_id}/clips/{link_id}"): record("viewer"),
    ("PATCH", "/api/v1/incidents/{incident_id}/clips/{link_id}"): record("contributor"),
    ("DELETE", "/api/v1/incidents/{incident_id}/clips/{link_id}"): record("contributor"),
    ("GET", "/api/v1/clips/{clip_id}/incidents"): record("viewer"),
    ("POST", "/api/v1/clips/{clip_id}/verification"): record("analyst"),
    ("GET", "/api/v1/clips/{clip_id}/verification"): record("viewer"),
    ("POST", "/api/v1/cases"): whole("contributor"),
    ("GET", "/api/v1/cases"): listing("viewer"),
    ("GET", "/api/v1/cases/{case_id}"): record("viewer"),
    ("PATCH", "/api/v1/cases/{case_id}"): record("contributor"),
    ("DELETE", "/api/v1/cases/{case_id}"): record("contributor"),
    ("GET", "/api/v1/cases/{case_id}/history"): record("viewer"),
    ("PUT", "/api/v1/cases/{case_id}/incidents/{incident_id}"): record("contributor"),
    ("DELETE", "/api/v1/cases/{case_id}/incidents/{incident_id}"): record("contributor"),
    ("GET", "/api/v1/cases/{case_id}/members"): record("viewer"),
    ("PUT", "/api/v1/cases/{case_id}/members/{person}"): record("admin"),
    ("DELETE", "/api/v1/cases/{case_id}/members/{person}"): record("admin"),
    ("GET", "/api/v1/fixity"): whole("viewer"),  # the audits of the whole archive
    ("POST", "/api/v1/clips/{clip_id}/fixity"): record("analyst"),
    ("GET", "/api/v1/clips/{clip_id}/timestamp"): record("viewer"),
    ("GET", "/api/v1/clips/{clip_id}/timestamp/certificates"): record("viewer"),
    ("GET", "/api/v1/anchors"): whole("viewer"),  # an anchor's Merkle root covers every clip
    ("POST", "/api/v1/anchors"): whole("admin"),
    ("GET", "/api/v1/anchors/{anchor_id}"): whole("viewer"),
    # The token over an anchor's root: also for a member of a case whose records it covers (the
    # world's anchor covers case A's clip), to check the proof in the record's `anchored`.
    ("GET", "/api/v1/anchors/{anchor_id}/token"): record("viewer"),
    ("GET", "/api/v1/anchors/{anchor_id}/certificates"): record("viewer"),
    ("POST", "/api/v1/exports"): Rule("analyst", "viewer", "export"),
    # An export is read by its exporter (and archive-wide admins): each allowed caller reads its own.
    ("GET", "/api/v1/exports/{export_id}"): Rule("analyst", "viewer", "export"),
    ("GET", "/api/v1/exports/{export_id}/download"): Rule("analyst", "viewer", "export"),
}

UNAUTHENTICATED, ARCHIVE_WIDE, MEMBER, OUTSIDER = "unauthenticated", "archive-wide", "member of case A", "outsider"


@dataclass(frozen=True)
class Who:
    """One kind of caller: how it stands (`kind`), its role (archive-wide, or in its case) and the
    permissions its membership grants."""

    name: str
    kind: str
    role: Role = Role.none
    permissions: tuple[str, ...] = ()

    @property
    def person(self) -> str:
        return "matrix-" + self.name.replace(" ", "-").replace("+", "-")


CALLERS = [
    *(Who(name, UNAUTHENTICATED) for name in ("no key", "malformed key", "revoked key", "expired key")),
    Who("disabled person", UNAUTHENTICATED),
    *(Who(role.value, ARCHIVE_WIDE, role) for role in Role),
    *(Who(f"member {role.value}", MEMBER, role) for role in MEMBER_ROLES),
    Who("member viewer+download+export", MEMBER, Role.viewer, ("download", "export")),
    Who("outsider admin", OUTSIDER, Role.admin, tuple(Permission)),  # every permission, in case B
]
BY_NAME = {who.name: who for who in CALLERS}
HTTP_METHODS = {"get", "put", "post", "patch", "delete", "head", "options"}


@dataclass(frozen=True)
class Expect:
    """What one caller should be answered: "allowed" (the handler ran: not 401, 403, 404 or 500),
    "unauthenticated" (401), "refused" (403 whose detail names each of `names`), "hidden" (404,
    as for an unknown id) or "listed" (200 naming none of case A's records)."""

    outcome: str
    names: tuple[str, ...] = ()
    any_of: tuple[str, ...] = ()  # "refused": at least one of these named too


def expected(rule: Rule, who: Who) -> Expect:
    """The one table's answer for one caller."""
    if rule.archive == PUBLIC:
        return Expect("allowed")
    if who.kind == UNAUTHENTICATED:
        return Expect("unauthenticated")
    if who.kind == ARCHIVE_WIDE:
        if who.role.allows(Role(rule.archive)):
            return Expect("allowed")
        return Expect("refused", (rule.archive, who.role.value))
    if rule.case == ARCHIVE_ONLY:
        return Expect("refused", (rule.archive,))
    if who.kind == OUTSIDER:
        return Expect("listed" if rule.lists else "hidden")
    if not who.role.allows(Role(rule.case)):
        # A route may first ask a lower role than its last check does (corrections: contributor on
        # the clip, then uploader or analyst): the 403 names some role above the caller's.
        return Expect("refused", any_of=tuple(role.value for role in Role if role.rank > who.role.rank))
    if rule.permission is not None and rule.permission not in who.permissions:
        return Expect("refused", (rule.permission,))
    return Expect("allowed")


def openapi_routes() -> set[tuple[str, str]]:
    """(method, path) of every operation the app's schema lists; building it needs no archive."""
    schema = create_app().openapi()
    return {
        (method.upper(), path) for path, item in schema["paths"].items() for method in item if method in HTTP_METHODS
    }


ROUTES = sorted(EXPECTED)


def test_every_route_has_one_rule() -> None:
    listed = openapi_routes()
    assert sorted(listed - EXPECTED.keys()) == [], "routes without a rule in EXPECTED"
    assert sorted(EXPECTED.keys() - listed) == [], "rules in EXPECTED for routes that no longer exist"


def test_the_table_refuses_a_guest_what_it_allows_an_archive_wide_caller() -> None:
    """The rule's shape, checked on the table itself: a case's viewer without permissions may not
    download what an archive-wide viewer may, and no membership reaches the keys."""
    original = EXPECTED[("GET", "/api/v1/clips/{clip_id}/original")]
    assert expected(original, BY_NAME["viewer"]) == Expect("allowed")
    assert expected(original, BY_NAME["member viewer"]) == Expect("refused", ("download",))
    assert expected(EXPECTED[("GET", "/api/v1/keys")], BY_NAME["member admin"]).outcome == "refused"
    assert expected(original, BY_NAME["outsider admin"]) == Expect("hidden")


@dataclass
class World:
    """Real objects for the path parameters, made once per archive through the API."""

    client: TestClient
    secrets: dict[str, str]
    admin: str
    clip_bytes: bytes
    clip: dict[str, Any]
    spare_clip_id: str
    incident_id: str
    link_id: str
    case_id: str
    other_case_id: str
    export_id: str
    upload_id: str
    anchor_id: int

    def case_a_ids(self) -> list[str]:
        """What a member of case B must never be shown."""
        return [self.clip["id"], self.spare_clip_id, self.incident_id, self.case_id, self.export_id]

    def _ok(self, response: Any, status: int = 200) -> Any:
        assert response.status_code == status, response.text
        return response

    def fresh_incident(self) -> tuple[str, str]:
        """A new incident in case A, and its ETag."""
        incident_id, _etag = create_incident(self.client, self.admin)
        self._ok(self.client.put(f"/api/v1/cases/{self.case_id}/incidents/{incident_id}", headers=auth(self.admin)))
        read = self._ok(self.client.get(f"/api/v1/incidents/{incident_id}", headers=auth(self.admin)))
        return incident_id, read.headers["etag"]

    def fresh_link(self) -> tuple[str, str, str]:
        incident_id, _etag = self.fresh_incident()
        response = self.client.post(
            f"/api/v1/incidents/{incident_id}/clips", headers=auth(self.admin), json={"clip_id": self.clip["id"]}
        )
        self._ok(response, 201)
        return incident_id, response.json()["id"], response.headers["etag"]

    def fresh_case(self, who: Who, with_incident: bool = False) -> tuple[str, str]:
        """A new case in which `who`, if a member of case A, holds the same membership."""
        response = self._ok(
            self.client.post("/api/v1/cases", headers=auth(self.admin), json={"title": "Matrix case"}), 201
        )
        case_id = response.json()["id"]
        if who.kind == MEMBER:
            self.share(case_id, who.person, who.role, who.permissions)
        if with_incident:
            self._ok(self.client.put(f"/api/v1/cases/{case_id}/incidents/{self.incident_id}", headers=auth(self.admin)))
        read = self._ok(self.client.get(f"/api/v1/cases/{case_id}", headers=auth(self.admin)))
        return case_id, read.headers["etag"]

    def share(self, case_id: str, person: str, role: str, permissions: tuple[str, ...] = ()) -> None:
        self._ok(
            self.client.put(
                f"/api/v1/cases/{case_id}/members/{person}",
                headers=auth(self.admin),
                json={"role": role, "permissions": list(permissions)},
            )
        )

    def own_upload(self, who: Who) -> str:
        """An upload begun by `who` into case A, if it may begin one; else the admin's (which only
        its owner and archive-wide admins reach)."""
        if expected(EXPECTED[("POST", "/api/v1/uploads")], who).outcome != "allowed":
            return self.upload_id
        response = self.client.post(
            "/api/v1/uploads",
            headers=auth(self.secrets[who.name]),
            json={"filename": "VID_9.mp4", "size_bytes": 1000, "case_id": self.case_id},
        )
        upload_id: str = self._ok(response, 201).json()["id"]
        return upload_id

    def fresh_key(self) -> str:
        name = f"doomed-{uuid.uuid4().hex[:8]}"
        self._ok(self.client.post("/api/v1/keys", headers=auth(self.admin), json={"name": name, "role": "viewer"}), 201)
        return name


@dataclass
class Call:
    """One request: the path parameters and what else it sends (httpx `request` arguments)."""

    params: dict[str, Any] = field(default_factory=dict)
    send: dict[str, Any] = field(default_factory=dict)
    # A 404 whose detail holds this is the route's answer of "nothing of that kind here", not a denial.
    none_here: str | None = None


def shared_params(world: World) -> dict[str, Any]:
    return {
        "clip_id": world.clip["id"],
        "acquisition_id": world.clip["acquisitions"][0]["id"],
        "incident_id": world.incident_id,
        "link_id": world.link_id,
        "case_id": world.case_id,
        "export_id": world.export_id,
        "upload_id": world.upload_id,
        "index": 0,
        "other_id": world.spare_clip_id,
        "anchor_id": world.anchor_id,
        "person": MATRIX_PERSON,
        # No shared "name": the one route that takes a key's name revokes it, so it gets a fresh key.
    }


def _if_match(etag: str) -> dict[str, str]:
    return {"If-Match": etag}


def _patch_incident(world: World, who: Who) -> Call:
    incident_id, etag = world.fresh_incident()
    return Call({"incident_id": incident_id}, {"headers": _if_match(etag), "json": {"title": "Renamed"}})


def _delete_incident(world: World, who: Who) -> Call:
    incident_id, etag = world.fresh_incident()
    return Call({"incident_id": incident_id}, {"headers": _if_match(etag)})


def _patch_link(world: World, who: Who) -> Call:
    incident_id, link_id, etag = world.fresh_link()
    return Call({"incident_id": incident_id, "link_id": link_id}, {"headers": _if_match(etag), "json": {"note": "n"}})


def _delete_link(world: World, who: Who) -> Call:
    incident_id, link_id, etag = world.fresh_link()
    return Call({"incident_id": incident_id, "link_id": link_id}, {"headers": _if_match(etag)})


def _patch_case(world: World, who: Who) -> Call:
    case_id, etag = world.fresh_case(who)
    return Call({"case_id": case_id}, {"headers": _if_match(etag), "json": {"description": "corrected"}})


def _delete_case(world: World, who: Who) -> Call:
    case_id, etag = world.fresh_case(who)
    return Call({"case_id": case_id}, {"headers": _if_match(etag)})


def _remove_case_incident(world: World, who: Who) -> Call:
    case_id, _etag = world.fresh_case(who, with_incident=True)
    return Call({"case_id": case_id})


def _delete_member(world: World, who: Who) -> Call:
    case_id, _etag = world.fresh_case(who)
    world.share(case_id, MATRIX_PERSON, "viewer")
    return Call({"case_id": case_id, "person": MATRIX_PERSON})


def _export_of(world: World, who: Who, route: tuple[str, str]) -> Call:
    """An export is its exporter's (and an archive-wide admin's): a caller the table lets through
    reads one it made itself; any other tries the world's, made by the admin."""
    if expected(EXPECTED[route], who).outcome != "allowed":
        return Call()
    export = export_and_wait(world.client, world.secrets[who.name], clip_ids=[world.clip["id"]])
    return Call({"export_id": export["id"]})


def _file(world: World, who: Who) -> Call:
    return Call(send={"files": {"file": ("VID_0001.mp4", world.clip_bytes, "video/mp4")}})


def _file_into_case(world: World, who: Who) -> Call:
    return Call(send={**_file(world, who).send, "data": {"case_id": world.case_id}})


# How to call a route so that an allowed caller reaches its handler: a minimal valid body, and
# a fresh object for each call that changes or removes one (so no cell spoils another's), in a
# case where the caller, if a member of case A, holds the same membership.
CALLS: dict[tuple[str, str], Callable[[World, Who], Call]] = {
    ("POST", "/api/v1/clips"): _file_into_case,
    ("GET", "/api/v1/clips/{clip_id}/content-credentials"): lambda w, who: Call(
        none_here="has no Content Credentials report"
    ),
    ("POST", "/api/v1/verify"): _file,
    ("GET", "/api/v1/verify"): lambda w, who: Call(send={"params": {"sha256": w.clip["sha256"]}}),
    ("POST", "/api/v1/clips/{clip_id}/reprocess"): lambda w, who: Call({"clip_id": w.spare_clip_id}),
    # The main clip is a QuickTime file, which plays as its viewing copy: the spare MP4 plays itself.
    ("GET", "/api/v1/clips/{clip_id}/playback"): lambda w, who: Call({"clip_id": w.spare_clip_id}),
    # A note, not a source: correcting a source is the sources rule's business, not this table's.
    ("POST", "/api/v1/clips/{clip_id}/acquisitions/{acquisition_id}/corrections"): lambda w, who: Call(
        send={"json": {"field": "note", "value": "second camera", "why": "typed wrong at intake"}}
    ),
    ("POST", "/api/v1/sessions"): lambda w, who: Call(
        send={"json": {"name": MATRIX_PERSON, "password": MATRIX_PASSWORD}}
    ),
    ("POST", "/api/v1/uploads"): lambda w, who: Call(
        send={"json": {"filename": "VID_2.mp4", "size_bytes": 1000, "case_id": w.case_id}}
    ),
    ("GET", "/api/v1/uploads/{upload_id}"): lambda w, who: Call({"upload_id": w.own_upload(who)}),
    ("PATCH", "/api/v1/uploads/{upload_id}"): lambda w, who: Call(
        {"upload_id": w.own_upload(who)},
        {
            "headers": {"Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"},
            "content": b"\0",
        },
    ),
    ("DELETE", "/api/v1/uploads/{upload_id}"): lambda w, who: Call({"upload_id": w.own_upload(who)}),
    ("HEAD", "/api/v1/uploads/{upload_id}"): lambda w, who: Call({"upload_id": w.own_upload(who)}),
    ("POST", "/api/v1/keys"): lambda w, who: Call(
        send={"json": {"name": f"k-{uuid.uuid4().hex[:8]}", "role": "viewer"}}
    ),
    ("DELETE", "/api/v1/keys/{name}"): lambda w, who: Call({"name": w.fresh_key()}),
    ("POST", "/api/v1/incidents"): lambda w, who: Call(send={"json": {**INCIDENT, "case_id": w.case_id}}),
    ("PATCH", "/api/v1/incidents/{incident_id}"): _patch_incident,
    ("DELETE", "/api/v1/incidents/{incident_id}"): _delete_incident,
    ("POST", "/api/v1/incidents/{incident_id}/clips"): lambda w, who: Call(send={"json": {"clip_id": w.clip["id"]}}),
    ("PATCH", "/api/v1/incidents/{incident_id}/clips/{link_id}"): _patch_link,
    ("DELETE", "/api/v1/incidents/{incident_id}/clips/{link_id}"): _delete_link,
    ("POST", "/api/v1/clips/{clip_id}/verification"): lambda w, who: Call(
        send={"json": {"status": "in_review", "rationale": "looking at it"}}
    ),
    ("PUT", "/api/v1/clips/{clip_id}/related/{other_id}/decision"): lambda w, who: Call(
        send={"json": {"decision": "confirmed", "note": "the same footage"}}
    ),
    ("POST", "/api/v1/clips/{clip_id}/related/{other_id}/review"): lambda w, who: Call(
        send={"json": {"decision": "confirmed", "note": "the same footage"}}
    ),
    ("POST", "/api/v1/cases"): lambda w, who: Call(send={"json": {"title": "Another case"}}),
    ("PATCH", "/api/v1/cases/{case_id}"): _patch_case,
    ("DELETE", "/api/v1/cases/{case_id}"): _delete_case,
    ("DELETE", "/api/v1/cases/{case_id}/incidents/{incident_id}"): _remove_case_incident,
    ("PUT", "/api/v1/cases/{case_id}/members/{person}"): lambda w, who: Call(
        {"person": MATRIX_PERSON}, {"json": {"role": "viewer"}}
    ),
    ("DELETE", "/api/v1/cases/{case_id}/members/{person}"): _delete_member,
    ("POST", "/api/v1/exports"): lambda w, who: Call(send={"json": {"clip_ids": [w.clip["id"]]}}),
    ("GET", "/api/v1/exports/{export_id}"): lambda w, who: _export_of(w, who, ("GET", "/api/v1/exports/{export_id}")),
    ("GET", "/api/v1/exports/{export_id}/download"): lambda w, who: _export_of(
        w, who, ("GET", "/api/v1/exports/{export_id}/download")
    ),
}


@pytest.fixture(scope="module")
def matrix_clips(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("matrix-clips")
    # The main clip a QuickTime file, so that it has a viewing copy to be read.
    return media.make_silent_clip(folder / "main.mov", seconds=2), media.make_silent_clip(folder / "spare.mp4")


def _archive_keys(archive: Archive) -> dict[str, str]:
    """A secret for every caller that is not a guest but "no key": archive-wide keys per role, and
    keys that no longer count (revoked, expired, of a disabled person)."""
    with archive.sessions.begin() as session:
        secrets = {role.value: create_key(session, f"{role.value}-key", role.value)[1] for role in Role}
        secrets["revoked key"] = create_key(session, "revoked-admin", "admin")[1]
        soon = utcnow() + timedelta(hours=1)
        secrets["expired key"] = create_key(session, "expired-admin", "admin", expires_at=soon)[1]
        create_person(session, "matrix-disabled", "admin")
        secrets["disabled person"] = create_key(session, "disabled-admin", "admin", person="matrix-disabled")[1]
        create_person(session, MATRIX_PERSON, "viewer", password=MATRIX_PASSWORD)
    with archive.sessions.begin() as session:
        revoke_key(session, "revoked-admin")
        expired = session.query(ApiKey).filter_by(name="expired-admin").one()
        expired.expires_at = utcnow() - timedelta(minutes=1)  # made live (a past end is refused), then aged
        set_disabled(session, "matrix-disabled", True)
    secrets["malformed key"] = "not-a-verity-key"
    return secrets


def suggest_spare_as_copy(
    archive: Archive, client: TestClient, admin: str, incident_id: str, clip_id: str, spare_id: str
) -> None:
    """The spare in case A too, paired with the clip as the matcher pairs copies (it may have
    already: both are cut from one test pattern), so the pair's routes have a match to decide."""
    linked = client.post(f"/api/v1/incidents/{incident_id}/clips", headers=auth(admin), json={"clip_id": spare_id})
    assert linked.status_code == 201, linked.text
    with archive.sessions.begin() as session:
        if not is_suggested(session, clip_id, spare_id):
            session.add(
                ClipRelation(
                    clip_id=spare_id,
                    related_clip_id=clip_id,
                    score=1.0,
                    matched_seconds=1.0,
                    mirrored=False,
                    segments="[]",
                )
            )


def _guest_keys(archive: Archive, case_a: str, case_b: str) -> dict[str, str]:
    """A key for each guest: a person with no archive-wide role, a member of case A (or B)."""
    return {
        who.name: member_key(
            archive, case_a if who.kind == MEMBER else case_b, who.role, who.permissions, person=who.person
        )
        for who in CALLERS
        if who.kind in (MEMBER, OUTSIDER)
    }


@pytest.fixture(scope="module", params=["embedded", pytest.param("scaled", marks=pytest.mark.slow)])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, matrix_clips: tuple[Path, Path]
) -> Iterator[World]:
    """One archive and one app per backend for the whole matrix, with an object behind every path
    parameter, in case A, and a key for every caller. The loopback TSA stamps, so the clip's
    timestamp and an anchor exist to be read."""
    archive: Archive = open_test_archive(request, request.param, tmp_path_factory.mktemp(f"matrix-{request.param}"))
    tsa: LoopbackTsa = request.getfixturevalue("tsa_server")
    tsa.reset()
    stamping(archive, tsa, timestamp_retry_initial_s=3600)  # the TSA answers: nothing to retry
    try:
        secrets = _archive_keys(archive)
        admin, viewer = secrets["admin"], secrets["viewer"]
        with TestClient(create_app(archive=archive)) as client:
            main_path, spare_path = matrix_clips
            clip = upload_analysed(client, secrets, main_path)  # handed in by the archive-wide contributor
            spare = upload_analysed(client, secrets, spare_path)
            wait_for_stamp(client, viewer, clip["id"], "stamped")
            anchor = client.post("/api/v1/anchors", headers=auth(admin))
            assert anchor.status_code == 201, anchor.text
            cases = {}
            for title in ("Case A", "Case B"):
                made = client.post("/api/v1/cases", headers=auth(admin), json={"title": title})
                assert made.status_code == 201, made.text
                incident_id, _etag = create_incident(client, admin)
                added = client.put(f"/api/v1/cases/{made.json()['id']}/incidents/{incident_id}", headers=auth(admin))
                assert added.status_code == 200, added.text
                cases[title] = made.json()["id"], incident_id
            case_a, incident_id = cases["Case A"]
            linked = client.post(
                f"/api/v1/incidents/{incident_id}/clips", headers=auth(admin), json={"clip_id": clip["id"]}
            )
            assert linked.status_code == 201, linked.text
            export = export_and_wait(client, admin, case_id=case_a)
            assert export["status"] == "ready", export["status_reason"]
            suggest_spare_as_copy(archive, client, admin, incident_id, clip["id"], spare["id"])
            # The admin's own upload (its owner and archive-wide admins reach it), for callers that
            # may not begin one of their own.
            started = client.post(
                "/api/v1/uploads", headers=auth(admin), json={"filename": "VID_1.mp4", "size_bytes": 1000}
            )
            assert started.status_code == 201, started.text
            yield World(
                client=client,
                secrets={**secrets, **_guest_keys(archive, case_a, cases["Case B"][0])},
                admin=admin,
                clip_bytes=main_path.read_bytes(),
                clip=clip,
                spare_clip_id=spare["id"],
                incident_id=incident_id,
                link_id=linked.json()["id"],
                case_id=case_a,
                other_case_id=cases["Case B"][0],
                export_id=export["id"],
                upload_id=started.json()["id"],
                anchor_id=anchor.json()["id"],
            )
    finally:
        archive.close()


def prepare(world: World, route: tuple[str, str], who: Who) -> Call:
    return CALLS.get(route, lambda w, who: Call())(world, who)


def send(world: World, route: tuple[str, str], who: Who, prepared: Call) -> Any:
    method, template = route
    path = template.format(**{**shared_params(world), **prepared.params})
    sent = dict(prepared.send)
    headers = dict(sent.pop("headers", {}))
    if who.name != "no key":
        headers.update(auth(world.secrets[who.name]))
    return world.client.request(method, path, headers=headers, **sent)


def check_answer(world: World, response: Any, expect: Expect, none_here: str | None = None) -> None:
    """The response is what `expect` says, as `Expect` describes each outcome."""
    if response.request.method == "HEAD":  # no body to read: the status says it (tus HEAD)
        statuses = {"allowed": None, "unauthenticated": 401, "refused": 403, "hidden": 404}
        if expect.outcome == "allowed":
            assert response.status_code not in (401, 403, 404, 500), response.status_code
        else:
            assert response.status_code == statuses[expect.outcome], (expect.outcome, response.status_code)
        return
    if expect.outcome == "allowed":
        if none_here is not None and response.status_code == 404:
            assert none_here in response.json()["detail"], response.text
            return
        assert response.status_code not in (401, 403, 404, 500), response.text
    elif expect.outcome == "unauthenticated":
        assert response.status_code == 401, response.text
        assert response.json()["error"] == "unauthenticated"
        assert response.json()["detail"]
    elif expect.outcome == "refused":
        assert response.status_code == 403, response.text
        body = response.json()
        assert body["error"] == "forbidden"
        assert all(name in body["detail"] for name in expect.names), (expect.names, body["detail"])
        assert not expect.any_of or any(name in body["detail"] for name in expect.any_of), body["detail"]
    elif expect.outcome == "hidden":
        assert response.status_code == 404, response.text
        assert response.json()["error"].endswith("not_found"), response.text
    else:
        assert response.status_code == 200, response.text
        named = [record_id for record_id in world.case_a_ids() if record_id in response.text]
        assert named == [], f"a member of case B was shown case A's {named}: {response.text}"
        body = response.json()
        if "total" in body:
            assert body["total"] == len(body["items"]), body


@pytest.mark.parametrize("who", CALLERS, ids=[who.name for who in CALLERS])
@pytest.mark.parametrize("route", ROUTES, ids=[f"{method} {path}" for method, path in ROUTES])
def test_route_answers_caller_as_the_table_says(world: World, route: tuple[str, str], who: Who) -> None:
    prepared = prepare(world, route, who)
    check_answer(world, send(world, route, who, prepared), expected(EXPECTED[route], who), prepared.none_here)


def json_body_routes() -> list[tuple[str, str]]:
    schema = create_app().openapi()
    return sorted(
        (method.upper(), path)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if "application/json" in operation.get("requestBody", {}).get("content", {})
    )


JSON_ROUTES = sorted(route for route in json_body_routes() if EXPECTED[route].archive != PUBLIC)


# FastAPI decodes a JSON body before it solves a route's dependencies, the key check among them;
# api/json_bodies.py checks the key first, so a refused caller is refused whatever its body holds.
def test_a_refused_caller_is_refused_before_its_json_body_is_decoded(world: World) -> None:
    answers = {}
    for method, template in JSON_ROUTES:
        for caller in ("no key", "viewer"):
            headers = {"Content-Type": "application/json"}
            if caller != "no key":
                headers.update(auth(world.secrets[caller]))
            path = template.format(**shared_params(world))
            answers[(method, template, caller)] = world.client.request(
                method, path, headers=headers, content=b"{bad"
            ).status_code
    wrong = {cell: status for cell, status in answers.items() if status != (401 if cell[2] == "no key" else 403)}
    assert len(answers) == 2 * len(JSON_ROUTES) > 0
    assert wrong == {}
