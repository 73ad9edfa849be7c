"""The authorization matrix: every route the app's OpenAPI schema lists, called by every kind of
caller, held to one table of who may call it. A route missing from EXPECTED, or a row for a route
that is gone, fails `test_every_route_has_one_rule`, so a new route cannot forget its rule."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from storage.archive import Archive
from storage.keys import Role, create_key, revoke_key
from storage.people import create_person
from tests import media
from tests.conftest import auth, open_test_archive
from tests.helpers.api_calls import INCIDENT, create_incident, upload_analysed, wait_for_stamp
from tests.helpers.exports import export_and_wait
from tests.helpers.tsa import LoopbackTsa, stamping

PUBLIC = "public"
MATRIX_PERSON, MATRIX_PASSWORD = "matrix-person", "a long pass phrase for the matrix"

# The least role each route lets through ("public": anyone, without a key). Roles rank
# viewer < contributor < analyst < admin (storage/keys.py); the export permission's holders,
# analyst and admin, are "analyst and up" too.
EXPECTED: dict[tuple[str, str], str] = {
    ("GET", "/healthz"): PUBLIC,
    ("POST", "/api/v1/sessions"): PUBLIC,  # sign-in: a name and password, not a key
    ("POST", "/api/v1/clips"): "contributor",
    ("GET", "/api/v1/clips"): "viewer",
    ("GET", "/api/v1/clips/{clip_id}"): "viewer",
    ("GET", "/api/v1/clips/{clip_id}/original"): "viewer",
    ("GET", "/api/v1/clips/{clip_id}/custody"): "viewer",
    ("GET", "/api/v1/clips/{clip_id}/probe"): "viewer",
    ("GET", "/api/v1/clips/{clip_id}/content-credentials"): "viewer",
    ("POST", "/api/v1/clips/{clip_id}/reprocess"): "admin",
    ("POST", "/api/v1/clips/{clip_id}/acquisitions/{acquisition_id}/corrections"): "contributor",
    ("POST", "/api/v1/uploads"): "contributor",
    ("GET", "/api/v1/uploads/{upload_id}"): "contributor",
    ("PATCH", "/api/v1/uploads/{upload_id}"): "contributor",
    ("DELETE", "/api/v1/uploads/{upload_id}"): "contributor",
    ("GET", "/api/v1/clips/{clip_id}/keyframes"): "viewer",
    ("GET", "/api/v1/clips/{clip_id}/keyframes/{index}"): "viewer",
    ("GET", "/api/v1/keys"): "admin",
    ("POST", "/api/v1/keys"): "admin",
    ("DELETE", "/api/v1/keys/{name}"): "admin",
    ("GET", "/api/v1/verify"): "viewer",
    ("POST", "/api/v1/verify"): "viewer",
    ("GET", "/api/v1/clips/{clip_id}/related"): "viewer",
    ("POST", "/api/v1/incidents"): "contributor",
    ("GET", "/api/v1/incidents"): "viewer",
    ("GET", "/api/v1/incidents/{incident_id}"): "viewer",
    ("PATCH", "/api/v1/incidents/{incident_id}"): "contributor",
    ("DELETE", "/api/v1/incidents/{incident_id}"): "contributor",
    ("GET", "/api/v1/incidents/{incident_id}/history"): "viewer",
    ("POST", "/api/v1/incidents/{incident_id}/clips"): "contributor",
    ("GET", "/api/v1/incidents/{incident_id}/clips"): "viewer",
    ("GET", "/api/v1/incidents/{incident_id}/clips/{link_id}"): "viewer",
    ("PATCH", "/api/v1/incidents/{incident_id}/clips/{link_id}"): "contributor",
    ("DELETE", "/api/v1/incidents/{incident_id}/clips/{link_id}"): "contributor",
    ("GET", "/api/v1/clips/{clip_id}/incidents"): "viewer",
    ("POST", "/api/v1/clips/{clip_id}/verification"): "analyst",
    ("GET", "/api/v1/clips/{clip_id}/verification"): "viewer",
    ("POST", "/api/v1/cases"): "contributor",
    ("GET", "/api/v1/cases"): "viewer",
    ("GET", "/api/v1/cases/{case_id}"): "viewer",
    ("PATCH", "/api/v1/cases/{case_id}"): "contributor",
    ("DELETE", "/api/v1/cases/{case_id}"): "contributor",
    ("GET", "/api/v1/cases/{case_id}/history"): "viewer",
    ("PUT", "/api/v1/cases/{case_id}/incidents/{incident_id}"): "contributor",
    ("DELETE", "/api/v1/cases/{case_id}/incidents/{incident_id}"): "contributor",
    ("GET", "/api/v1/cases/{case_id}/members"): "admin",
    ("PUT", "/api/v1/cases/{case_id}/members/{person}"): "admin",
    ("DELETE", "/api/v1/cases/{case_id}/members/{person}"): "admin",
    ("GET", "/api/v1/fixity"): "viewer",
    ("POST", "/api/v1/clips/{clip_id}/fixity"): "analyst",
    ("GET", "/api/v1/clips/{clip_id}/timestamp"): "viewer",
    ("GET", "/api/v1/clips/{clip_id}/timestamp/certificates"): "viewer",
    ("GET", "/api/v1/anchors"): "viewer",
    ("POST", "/api/v1/anchors"): "admin",
    ("GET", "/api/v1/anchors/{anchor_id}"): "viewer",
    ("GET", "/api/v1/anchors/{anchor_id}/token"): "viewer",
    ("GET", "/api/v1/anchors/{anchor_id}/certificates"): "viewer",
    ("POST", "/api/v1/exports"): "analyst",
    ("GET", "/api/v1/exports/{export_id}"): "analyst",
    ("GET", "/api/v1/exports/{export_id}/download"): "analyst",
}

# Who calls: without a key, with a key that is none, with a revoked admin key, and one key a role.
CALLERS = ["no key", "malformed key", "revoked key", *(role.value for role in Role)]
UNAUTHENTICATED = {"no key", "malformed key", "revoked key"}
HTTP_METHODS = {"get", "put", "post", "patch", "delete", "head", "options"}


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


@dataclass
class World:
    """Real objects for the path parameters, made once per archive through the API."""

    client: TestClient
    secrets: dict[str, str]
    admin: str
    contributor: str
    clip_bytes: bytes
    clip: dict[str, Any]
    spare_clip_id: str
    incident_id: str
    link_id: str
    case_id: str
    export_id: str
    upload_id: str
    anchor_id: int

    def fresh_incident(self) -> tuple[str, str]:
        return create_incident(self.client, self.admin)

    def fresh_link(self) -> tuple[str, str, str]:
        incident_id, _etag = self.fresh_incident()
        response = self.client.post(
            f"/api/v1/incidents/{incident_id}/clips", headers=auth(self.admin), json={"clip_id": self.clip["id"]}
        )
        assert response.status_code == 201, response.text
        return incident_id, response.json()["id"], response.headers["etag"]

    def fresh_case(self, with_incident: bool = False) -> tuple[str, str]:
        response = self.client.post("/api/v1/cases", headers=auth(self.admin), json={"title": "Matrix case"})
        assert response.status_code == 201, response.text
        case_id, etag = response.json()["id"], response.headers["etag"]
        if with_incident:
            added = self.client.put(f"/api/v1/cases/{case_id}/incidents/{self.incident_id}", headers=auth(self.admin))
            assert added.status_code == 200, added.text
            etag = added.headers["etag"]
        return case_id, etag

    def fresh_upload(self) -> str:
        response = self.client.post(
            "/api/v1/uploads", headers=auth(self.contributor), json={"filename": "VID_9.mp4", "size_bytes": 1000}
        )
        assert response.status_code == 201, response.text
        upload_id: str = response.json()["id"]
        return upload_id

    def fresh_key(self) -> str:
        name = f"doomed-{uuid.uuid4().hex[:8]}"
        response = self.client.post("/api/v1/keys", headers=auth(self.admin), json={"name": name, "role": "viewer"})
        assert response.status_code == 201, response.text
        return name


@dataclass
class Call:
    """One request: the path parameters and what else it sends (httpx `request` arguments)."""

    params: dict[str, Any] = field(default_factory=dict)
    send: dict[str, Any] = field(default_factory=dict)


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
        "anchor_id": world.anchor_id,
        "person": MATRIX_PERSON,
        # No shared "name": the one route that takes a key's name revokes it, so it gets a fresh key.
    }


def _if_match(etag: str) -> dict[str, str]:
    return {"If-Match": etag}


def _patch_incident(world: World) -> Call:
    incident_id, etag = world.fresh_incident()
    return Call({"incident_id": incident_id}, {"headers": _if_match(etag), "json": {"title": "Renamed"}})


def _delete_incident(world: World) -> Call:
    incident_id, etag = world.fresh_incident()
    return Call({"incident_id": incident_id}, {"headers": _if_match(etag)})


def _patch_link(world: World) -> Call:
    incident_id, link_id, etag = world.fresh_link()
    return Call({"incident_id": incident_id, "link_id": link_id}, {"headers": _if_match(etag), "json": {"note": "n"}})


def _delete_link(world: World) -> Call:
    incident_id, link_id, etag = world.fresh_link()
    return Call({"incident_id": incident_id, "link_id": link_id}, {"headers": _if_match(etag)})


def _patch_case(world: World) -> Call:
    case_id, etag = world.fresh_case()
    return Call({"case_id": case_id}, {"headers": _if_match(etag), "json": {"description": "corrected"}})


def _delete_case(world: World) -> Call:
    case_id, etag = world.fresh_case()
    return Call({"case_id": case_id}, {"headers": _if_match(etag)})


def _remove_case_incident(world: World) -> Call:
    case_id, _etag = world.fresh_case(with_incident=True)
    return Call({"case_id": case_id})


def _delete_member(world: World) -> Call:
    case_id, _etag = world.fresh_case()
    added = world.client.put(
        f"/api/v1/cases/{case_id}/members/{MATRIX_PERSON}", headers=auth(world.admin), json={"role": "viewer"}
    )
    assert added.status_code == 200, added.text
    return Call({"case_id": case_id, "person": MATRIX_PERSON})


def _file(world: World) -> Call:
    return Call(send={"files": {"file": ("VID_0001.mp4", world.clip_bytes, "video/mp4")}})


# How to call a route so that an allowed caller reaches its handler: a minimal valid body, and
# a fresh object for each call that changes or removes one (so no cell spoils another's).
CALLS: dict[tuple[str, str], Callable[[World], Call]] = {
    ("POST", "/api/v1/clips"): _file,
    ("POST", "/api/v1/verify"): _file,
    ("GET", "/api/v1/verify"): lambda w: Call(send={"params": {"sha256": w.clip["sha256"]}}),
    ("POST", "/api/v1/clips/{clip_id}/reprocess"): lambda w: Call({"clip_id": w.spare_clip_id}),
    ("POST", "/api/v1/clips/{clip_id}/acquisitions/{acquisition_id}/corrections"): lambda w: Call(
        send={"json": {"field": "source", "value": "witness A", "why": "typed wrong at intake"}}
    ),
    ("POST", "/api/v1/sessions"): lambda w: Call(send={"json": {"name": MATRIX_PERSON, "password": MATRIX_PASSWORD}}),
    ("POST", "/api/v1/uploads"): lambda w: Call(send={"json": {"filename": "VID_2.mp4", "size_bytes": 1000}}),
    ("PATCH", "/api/v1/uploads/{upload_id}"): lambda w: Call(
        send={
            "headers": {"Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"},
            "content": b"\0",
        }
    ),
    ("DELETE", "/api/v1/uploads/{upload_id}"): lambda w: Call({"upload_id": w.fresh_upload()}),
    ("POST", "/api/v1/keys"): lambda w: Call(send={"json": {"name": f"k-{uuid.uuid4().hex[:8]}", "role": "viewer"}}),
    ("DELETE", "/api/v1/keys/{name}"): lambda w: Call({"name": w.fresh_key()}),
    ("POST", "/api/v1/incidents"): lambda w: Call(send={"json": INCIDENT}),
    ("PATCH", "/api/v1/incidents/{incident_id}"): _patch_incident,
    ("DELETE", "/api/v1/incidents/{incident_id}"): _delete_incident,
    ("POST", "/api/v1/incidents/{incident_id}/clips"): lambda w: Call(send={"json": {"clip_id": w.clip["id"]}}),
    ("PATCH", "/api/v1/incidents/{incident_id}/clips/{link_id}"): _patch_link,
    ("DELETE", "/api/v1/incidents/{incident_id}/clips/{link_id}"): _delete_link,
    ("POST", "/api/v1/clips/{clip_id}/verification"): lambda w: Call(
        send={"json": {"status": "in_review", "rationale": "looking at it"}}
    ),
    ("POST", "/api/v1/cases"): lambda w: Call(send={"json": {"title": "Another case"}}),
    ("PATCH", "/api/v1/cases/{case_id}"): _patch_case,
    ("DELETE", "/api/v1/cases/{case_id}"): _delete_case,
    ("DELETE", "/api/v1/cases/{case_id}/incidents/{incident_id}"): _remove_case_incident,
    ("PUT", "/api/v1/cases/{case_id}/members/{person}"): lambda w: Call(
        {"person": MATRIX_PERSON}, {"json": {"role": "viewer"}}
    ),
    ("DELETE", "/api/v1/cases/{case_id}/members/{person}"): _delete_member,
    ("POST", "/api/v1/exports"): lambda w: Call(send={"json": {"clip_ids": [w.clip["id"]]}}),
}


@pytest.fixture(scope="module")
def matrix_clips(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("matrix-clips")
    return media.make_silent_clip(folder / "main.mp4", seconds=2), media.make_silent_clip(folder / "spare.mp4")


@pytest.fixture(scope="module", params=["embedded", pytest.param("scaled", marks=pytest.mark.slow)])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, matrix_clips: tuple[Path, Path]
) -> Iterator[World]:
    """One archive and one app per backend for the whole matrix, with an object behind every path
    parameter, one key per role, and a revoked admin key. The loopback TSA stamps, so the clip's
    timestamp and an anchor exist to be read."""
    archive: Archive = open_test_archive(request, request.param, tmp_path_factory.mktemp(f"matrix-{request.param}"))
    tsa: LoopbackTsa = request.getfixturevalue("tsa_server")
    tsa.reset()
    stamping(archive, tsa, timestamp_retry_initial_s=0.2, timestamp_retry_max_s=0.5)
    try:
        with archive.sessions.begin() as session:
            secrets = {role.value: create_key(session, f"{role.value}-key", role.value)[1] for role in Role}
            secrets["revoked key"] = create_key(session, "revoked-admin", "admin")[1]
            create_person(session, MATRIX_PERSON, "viewer", password=MATRIX_PASSWORD)
        with archive.sessions.begin() as session:
            revoke_key(session, "revoked-admin")
        secrets["malformed key"] = "not-a-verity-key"
        with TestClient(create_app(archive=archive)) as client:
            main_path, spare_path = matrix_clips
            clip = upload_analysed(client, secrets, main_path)
            spare = upload_analysed(client, secrets, spare_path)
            wait_for_stamp(client, secrets["viewer"], clip["id"], "stamped")
            anchor = client.post("/api/v1/anchors", headers=auth(secrets["admin"]))
            assert anchor.status_code == 201, anchor.text
            incident_id, _etag = create_incident(client, secrets["admin"])
            linked = client.post(
                f"/api/v1/incidents/{incident_id}/clips", headers=auth(secrets["admin"]), json={"clip_id": clip["id"]}
            )
            assert linked.status_code == 201, linked.text
            case = client.post("/api/v1/cases", headers=auth(secrets["admin"]), json={"title": "Matrix"})
            assert case.status_code == 201, case.text
            added = client.put(
                f"/api/v1/cases/{case.json()['id']}/incidents/{incident_id}", headers=auth(secrets["admin"])
            )
            assert added.status_code == 200, added.text
            export = export_and_wait(client, secrets["admin"], case_id=case.json()["id"])
            assert export["status"] == "ready", export["status_reason"]
            started = client.post(
                "/api/v1/uploads",
                headers=auth(secrets["contributor"]),
                json={"filename": "VID_1.mp4", "size_bytes": 1000},
            )
            assert started.status_code == 201, started.text
            yield World(
                client=client,
                secrets=secrets,
                admin=secrets["admin"],
                contributor=secrets["contributor"],
                clip_bytes=main_path.read_bytes(),
                clip=clip,
                spare_clip_id=spare["id"],
                incident_id=incident_id,
                link_id=linked.json()["id"],
                case_id=case.json()["id"],
                export_id=export["id"],
                upload_id=started.json()["id"],
                anchor_id=anchor.json()["id"],
            )
    finally:
        archive.close()


def allowed(least: str, caller: str) -> bool:
    if least == PUBLIC:
        return True
    return caller not in UNAUTHENTICATED and Role(caller).allows(Role(least))


def call(world: World, route: tuple[str, str], caller: str) -> Any:
    method, template = route
    prepared = CALLS.get(route, lambda w: Call())(world)
    params = {**shared_params(world), **prepared.params}
    path = template.format(**params)
    send = dict(prepared.send)
    headers = dict(send.pop("headers", {}))
    if caller != "no key":
        headers.update(auth(world.secrets[caller]))
    return world.client.request(method, path, headers=headers, **send)


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("route", ROUTES, ids=[f"{method} {path}" for method, path in ROUTES])
def test_route_answers_caller_as_the_table_says(world: World, route: tuple[str, str], caller: str) -> None:
    least = EXPECTED[route]
    response = call(world, route, caller)
    if allowed(least, caller):
        assert response.status_code not in (401, 403, 500), response.text
        return
    if caller in UNAUTHENTICATED:
        assert response.status_code == 401, response.text
        assert response.json()["error"] == "unauthenticated"
        assert response.json()["detail"]
        return
    assert response.status_code == 403, response.text
    body = response.json()
    assert body["error"] == "forbidden"
    assert least in body["detail"] and caller in body["detail"], body["detail"]


def json_body_routes() -> list[tuple[str, str]]:
    schema = create_app().openapi()
    return sorted(
        (method.upper(), path)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if "application/json" in operation.get("requestBody", {}).get("content", {})
    )


JSON_ROUTES = sorted(route for route in json_body_routes() if EXPECTED[route] != PUBLIC)


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
