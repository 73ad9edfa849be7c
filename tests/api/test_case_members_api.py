"""Case memberships (issue 11, item 2): who may add and remove members, what a membership grants
(its role there, its own permissions, until its end), how a key narrows it, and that every change
is in the case's history."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from storage.access import Grant, scope_of
from storage.archive import Archive
from storage.keys import Permission, Role, authenticate, create_key
from storage.members import CaseAdmin, set_member
from storage.models import CaseMember, utcnow
from storage.people import create_person
from tests.conftest import auth
from tests.helpers.access import member_key, person_key
from verity.errors import Forbidden

PASSWORD = "a long pass phrase for the lawyer"


def new_case(client: TestClient, admin: str, title: str = "Submission") -> str:
    response = client.post("/api/v1/cases", headers=auth(admin), json={"title": title})
    assert response.status_code == 201, response.text
    case_id: str = response.json()["id"]
    return case_id


def scope_for(archive: Archive, secret: str):  # type: ignore[no-untyped-def]
    with archive.sessions() as session:
        return scope_of(session, authenticate(session, secret))


def test_an_admin_shares_a_case_with_a_guest_until_a_date(
    client: TestClient, archive: Archive, keys: dict[str, str]
) -> None:
    case_id = new_case(client, keys["admin"])
    with archive.sessions.begin() as session:
        create_person(session, "lawyer", "none", PASSWORD)
    until = (utcnow() + timedelta(days=30)).isoformat()
    body = {"role": "viewer", "permissions": ["download"], "expires_at": until}
    put = client.put(f"/api/v1/cases/{case_id}/members/lawyer", headers=auth(keys["admin"]), json=body)
    assert put.status_code == 200, put.text
    assert put.json() | {"expires_at": None} == {
        "person": "lawyer",
        "role": "viewer",
        "permissions": ["download"],
        "expires_at": None,
        "live": True,
        "added_by": "admin-key",
        "added_at": put.json()["added_at"],
    }
    listed = client.get(f"/api/v1/cases/{case_id}/members", headers=auth(keys["admin"])).json()
    assert [member["person"] for member in listed["items"]] == ["lawyer"]

    signed_in = client.post("/api/v1/sessions", json={"name": "lawyer", "password": PASSWORD})
    assert signed_in.status_code == 201, signed_in.text
    assert signed_in.json()["role"] == "viewer"  # the most the person holds anywhere: in the case
    scope = scope_for(archive, signed_in.json()["key"])
    assert not scope.archive_wide
    assert dict(scope.cases) == {case_id: Grant(Role.viewer, frozenset({Permission.download}))}

    history = client.get(f"/api/v1/cases/{case_id}/history", headers=auth(keys["admin"])).json()
    assert history["verified"] and history["entries"][-1]["action"] == "member_set"
    assert history["entries"][-1]["details"]["person"] == "lawyer"

    gone = client.delete(f"/api/v1/cases/{case_id}/members/lawyer", headers=auth(keys["admin"]))
    assert gone.status_code == 204, gone.text
    assert scope_for(archive, signed_in.json()["key"]).cases == {}
    history = client.get(f"/api/v1/cases/{case_id}/history", headers=auth(keys["admin"])).json()
    assert [entry["action"] for entry in history["entries"]][-2:] == ["member_set", "member_removed"]


def test_a_membership_grants_nothing_once_it_has_ended(
    archive: Archive, client: TestClient, keys: dict[str, str]
) -> None:
    case_id = new_case(client, keys["admin"])
    secret = member_key(archive, case_id, "analyst", ["export"], person="ended")
    assert scope_for(archive, secret).in_case(case_id) == Grant(Role.analyst, frozenset({Permission.export}))
    with archive.sessions.begin() as session:
        session.execute(update(CaseMember).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert scope_for(archive, secret).cases == {}
    members = client.get(f"/api/v1/cases/{case_id}/members", headers=auth(keys["admin"])).json()["items"]
    assert [(member["person"], member["live"]) for member in members] == [("ended", False)]


def test_a_case_admin_manages_members_and_others_may_not(
    archive: Archive, client: TestClient, keys: dict[str, str]
) -> None:
    case_a, case_b = new_case(client, keys["admin"], "A"), new_case(client, keys["admin"], "B")
    lead = member_key(archive, case_a, "admin", person="lead")
    viewer = member_key(archive, case_a, "viewer", person="reader")
    other = member_key(archive, case_b, "admin", person="elsewhere")
    add = {"role": "contributor"}
    assert client.put(f"/api/v1/cases/{case_a}/members/reader", headers=auth(lead), json=add).status_code == 200
    refused = client.put(f"/api/v1/cases/{case_a}/members/lead", headers=auth(viewer), json=add)
    assert refused.status_code == 403 and "admin" in refused.json()["detail"], refused.text
    # A case admin elsewhere learns nothing of case A: as for an id no case has.
    hidden = client.get(f"/api/v1/cases/{case_a}/members", headers=auth(other))
    assert hidden.status_code == 404, hidden.text
    # Who is in is for all who see the case (its history says so too); changing it is not.
    assert client.get(f"/api/v1/cases/{case_a}/members", headers=auth(viewer)).status_code == 200
    analyst = client.put(f"/api/v1/cases/{case_a}/members/reader", headers=auth(keys["analyst"]), json=add)
    assert analyst.status_code == 403, analyst.text


def test_bad_memberships_are_refused_with_a_reason(archive: Archive, client: TestClient, keys: dict[str, str]) -> None:
    case_id = new_case(client, keys["admin"])
    with archive.sessions.begin() as session:
        create_person(session, "someone", "none")
    url = f"/api/v1/cases/{case_id}/members/someone"
    admin = auth(keys["admin"])
    assert client.put(url, headers=admin, json={"role": "none"}).status_code == 422
    assert client.put(url, headers=admin, json={"role": "viewer", "permissions": ["delete"]}).status_code == 422
    no_zone = client.put(url, headers=admin, json={"role": "viewer", "expires_at": "2030-01-01T00:00:00"})
    assert no_zone.status_code == 422, no_zone.text
    past = client.put(url, headers=admin, json={"role": "viewer", "expires_at": "2020-01-01T00:00:00Z"})
    assert past.status_code == 400 and "future" in past.json()["detail"], past.text
    nobody = client.put(f"/api/v1/cases/{case_id}/members/nobody", headers=admin, json={"role": "viewer"})
    assert nobody.status_code == 404 and "nobody" in nobody.json()["detail"], nobody.text
    absent = client.delete(url, headers=admin)
    assert absent.status_code == 404, absent.text
    assert client.get(f"/api/v1/cases/{case_id}/members", headers=admin).json()["items"] == []


def test_a_key_caps_its_persons_grants_and_a_narrowed_key_keeps_only_its_cases(
    archive: Archive, client: TestClient, keys: dict[str, str]
) -> None:
    case_a, case_b = new_case(client, keys["admin"], "A"), new_case(client, keys["admin"], "B")
    member_key(archive, case_a, "analyst", ["sources"], person="mina", archive_role="viewer")
    capped = person_key(archive, "mina", "viewer")
    scope = scope_for(archive, capped)
    assert scope.archive == Grant(Role.viewer, frozenset({Permission.download}))
    assert scope.in_case(case_a) == Grant(Role.viewer, frozenset({Permission.download, Permission.sources}))
    narrowed = person_key(archive, "mina", "analyst", cases=[case_b])
    scope = scope_for(archive, narrowed)
    assert not scope.archive_wide and dict(scope.cases) == {
        case_b: Grant(Role.viewer, frozenset({Permission.download}))
    }
    # The person's reach is analyst (in case A), so a key above it is refused.
    with archive.sessions.begin() as session:
        assert create_key(session, "mina-analyst", "analyst", person="mina")[0].role == "analyst"
    refused = client.post(
        "/api/v1/keys", headers=auth(keys["admin"]), json={"name": "m", "role": "admin", "person": "mina"}
    )
    assert refused.status_code == 403 and "analyst" in refused.json()["detail"], refused.text


def test_a_case_admin_grants_no_more_than_it_holds_there(
    archive: Archive, client: TestClient, keys: dict[str, str]
) -> None:
    case_id = new_case(client, keys["admin"])
    ends = utcnow() + timedelta(days=10)
    lead = member_key(archive, case_id, "admin", ["download"], person="lead", expires_at=ends)
    with archive.sessions.begin() as session:
        create_person(session, "helper", "none")
    url = f"/api/v1/cases/{case_id}/members/helper"
    later = (ends + timedelta(days=1)).isoformat()
    for body, named in (
        ({"role": "viewer", "permissions": ["download", "export"]}, "export"),
        ({"role": "viewer", "permissions": ["sources"]}, "sources"),
        ({"role": "viewer", "expires_at": later}, ends.isoformat()),
    ):
        refused = client.put(url, headers=auth(lead), json=body)
        assert refused.status_code == 403 and named in refused.json()["detail"], (body, refused.text)
    # No end given: the lead's own, which it cannot outlast.
    given = client.put(url, headers=auth(lead), json={"role": "admin", "permissions": ["download"]})
    assert given.status_code == 200, given.text
    assert datetime.fromisoformat(given.json()["expires_at"]) == ends
    sooner = ends - timedelta(days=1)
    shorter = client.put(url, headers=auth(lead), json={"role": "viewer", "expires_at": sooner.isoformat()})
    assert shorter.status_code == 200 and datetime.fromisoformat(shorter.json()["expires_at"]) == sooner
    # An archive-wide admin is bounded by nothing.
    everything = {"role": "admin", "permissions": ["download", "export", "sources"]}
    wide = client.put(url, headers=auth(keys["admin"]), json=everything)
    assert wide.status_code == 200 and wide.json()["expires_at"] is None, wide.text
    assert wide.json()["permissions"] == ["download", "export", "sources"]


def test_a_case_admin_grants_no_role_above_its_own(archive: Archive, client: TestClient, keys: dict[str, str]) -> None:
    """Unreachable through the API today (only an admin there changes members), so held here: the
    rule bounds the role too, should a lesser role ever manage members."""
    case_id = new_case(client, keys["admin"])
    with archive.sessions.begin() as session:
        create_person(session, "helper", "none")
        create_person(session, "lead", "none")
        with pytest.raises(Forbidden, match="at most your own role"):
            set_member(session, case_id, "helper", "admin", (), None, "lead", by=CaseAdmin("lead", Grant(Role.analyst)))


def test_a_case_admin_may_not_change_or_remove_its_own_membership(
    archive: Archive, client: TestClient, keys: dict[str, str]
) -> None:
    case_id = new_case(client, keys["admin"])
    ends = utcnow() + timedelta(days=10)
    lead = member_key(archive, case_id, "admin", person="lead", expires_at=ends)
    url = f"/api/v1/cases/{case_id}/members/lead"
    widen = {"role": "admin", "permissions": ["download", "export", "sources"], "expires_at": None}
    refused = client.put(url, headers=auth(lead), json=widen)
    assert refused.status_code == 403 and "own membership" in refused.json()["detail"], refused.text
    left = client.delete(url, headers=auth(lead))
    assert left.status_code == 403 and "own membership" in left.json()["detail"], left.text
    [member] = client.get(f"/api/v1/cases/{case_id}/members", headers=auth(lead)).json()["items"]
    assert (member["permissions"], datetime.fromisoformat(member["expires_at"])) == ([], ends)
    # Another admin may (here an archive-wide one).
    assert client.put(url, headers=auth(keys["admin"]), json=widen).status_code == 200
    assert client.delete(url, headers=auth(keys["admin"])).status_code == 204
