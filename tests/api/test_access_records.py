"""Incidents, cases, links and reviews held to the access rule (storage/access.py): a member of
case A sees A, its incidents and their clips, and of everything else nothing, not even that it
exists (404 as for an unknown id, totals and text searches that count only what it sees); it
changes only what its role in A allows; archive-wide roles see and do what they did."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from storage.archive import Archive
from storage.models import CaseMember, Person
from tests.conftest import auth
from tests.helpers.access import member_key
from tests.helpers.api_calls import INCIDENT
from tests.helpers.evidence import archived_clip


@dataclass(frozen=True)
class World:
    """Case A ("Alpha") and case B ("Bravo"), an incident in each and one in no case; clip
    `in_a` linked to A's incident, `in_b` to B's, `in_both` to both, `loose` to none."""

    admin: str
    case_a: str
    case_b: str
    incident_a: str
    incident_b: str
    incident_loose: str
    in_a: str
    in_b: str
    in_both: str
    loose: str
    link_a: int
    link_b: int
    link_both_b: int  # of a clip A's guest sees, to an incident it does not


def _call(client: TestClient, key: str, method: str, path: str, **kwargs: Any) -> Any:
    response = client.request(method, path, headers=auth(key), **kwargs)
    assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.text}"
    return response.json() if response.content else None


def _incident(client: TestClient, key: str, title: str, **fields: Any) -> str:
    created: str = _call(client, key, "POST", "/api/v1/incidents", json={**INCIDENT, "title": title, **fields})["id"]
    return created


def _case(client: TestClient, key: str, title: str, *incident_ids: str) -> str:
    case_id: str = _call(client, key, "POST", "/api/v1/cases", json={"title": title})["id"]
    for incident_id in incident_ids:
        _call(client, key, "PUT", f"/api/v1/cases/{case_id}/incidents/{incident_id}")
    return case_id


def _link(client: TestClient, key: str, incident_id: str, clip_id: str) -> int:
    link_id: int = _call(client, key, "POST", f"/api/v1/incidents/{incident_id}/clips", json={"clip_id": clip_id})["id"]
    return link_id


@pytest.fixture
def world(archive: Archive, client: TestClient, keys: dict[str, str]) -> World:
    admin = keys["admin"]
    incident_a = _incident(client, admin, "Alpha shooting")
    incident_b = _incident(client, admin, "Bravo shooting at the embassy")
    incident_loose = _incident(client, admin, "Loose shooting")
    case_a = _case(client, admin, "Alpha report", incident_a)
    case_b = _case(client, admin, "Bravo report", incident_b)
    in_a, in_b, in_both, loose = (archived_clip(archive)[0] for _ in range(4))
    link_a = _link(client, admin, incident_a, in_a)
    link_b = _link(client, admin, incident_b, in_b)
    _link(client, admin, incident_a, in_both)
    link_both_b = _link(client, admin, incident_b, in_both)
    clips = (in_a, in_b, in_both, loose)
    return World(admin, case_a, case_b, incident_a, incident_b, incident_loose, *clips, link_a, link_b, link_both_b)


def _status(client: TestClient, key: str, method: str, path: str, **kwargs: Any) -> int:
    return client.request(method, path, headers=auth(key), **kwargs).status_code


def _page(client: TestClient, key: str, path: str) -> tuple[int, list[str]]:
    body = _call(client, key, "GET", path)
    return body["total"], [item["id"] for item in body["items"]]


def _reads_of_one(incident_id: str, case_id: str, clip_id: str, link_id: int) -> list[str]:
    return [
        f"/api/v1/incidents/{incident_id}",
        f"/api/v1/incidents/{incident_id}/history",
        f"/api/v1/incidents/{incident_id}/clips",
        f"/api/v1/incidents/{incident_id}/clips/{link_id}",
        f"/api/v1/cases/{case_id}",
        f"/api/v1/cases/{case_id}/history",
        f"/api/v1/clips/{clip_id}/incidents",
        f"/api/v1/clips/{clip_id}/verification",
    ]


def test_a_guest_of_one_case_lists_only_that_case_and_its_incidents(
    archive: Archive, client: TestClient, world: World
) -> None:
    guest = member_key(archive, world.case_a)
    assert _page(client, guest, "/api/v1/incidents") == (1, [world.incident_a])
    assert _page(client, guest, "/api/v1/cases") == (1, [world.case_a])
    assert _page(client, guest, "/api/v1/incidents?limit=1&offset=1") == (1, [])
    assert _page(client, world.admin, "/api/v1/incidents")[0] == 3
    assert _page(client, world.admin, "/api/v1/cases")[0] == 2


def test_a_text_search_tells_a_guest_nothing_of_another_case(
    archive: Archive, client: TestClient, world: World
) -> None:
    guest = member_key(archive, world.case_a)
    assert _page(client, guest, "/api/v1/incidents?q=bravo") == (0, [])
    assert _page(client, guest, "/api/v1/incidents?q=shooting") == (1, [world.incident_a])
    assert _page(client, guest, "/api/v1/cases?q=bravo") == (0, [])
    assert _page(client, world.admin, "/api/v1/incidents?q=bravo") == (1, [world.incident_b])
    assert _page(client, world.admin, "/api/v1/cases?q=bravo") == (1, [world.case_b])


def test_a_guest_reads_its_case_and_gets_404_for_anything_outside_it(
    archive: Archive, client: TestClient, world: World
) -> None:
    guest = member_key(archive, world.case_a)
    for path in _reads_of_one(world.incident_a, world.case_a, world.in_a, world.link_a):
        assert _status(client, guest, "GET", path) == 200, path
    for path in _reads_of_one(world.incident_b, world.case_b, world.in_b, world.link_b):
        assert _status(client, guest, "GET", path) == 404, path
        assert _status(client, world.admin, "GET", path) == 200, path
    assert _status(client, guest, "GET", f"/api/v1/incidents/{world.incident_b}/clips/{world.link_both_b}") == 404
    for path in (
        f"/api/v1/incidents/{world.incident_loose}",
        f"/api/v1/incidents/{world.incident_loose}/history",
        f"/api/v1/incidents/{world.incident_loose}/clips",
        f"/api/v1/clips/{world.loose}/incidents",
        f"/api/v1/clips/{world.loose}/verification",
    ):
        assert _status(client, guest, "GET", path) == 404, path
    unknown = client.get(f"/api/v1/incidents/{uuid.uuid4()}", headers=auth(guest)).json()
    hidden = client.get(f"/api/v1/incidents/{world.incident_b}", headers=auth(guest)).json()
    assert hidden["error"] == unknown["error"]


def test_a_clip_in_two_cases_shows_a_guest_only_its_own_cases_links(
    archive: Archive, client: TestClient, world: World
) -> None:
    guest = member_key(archive, world.case_a)
    links = _call(client, guest, "GET", f"/api/v1/clips/{world.in_both}/incidents")
    assert [link["incident_id"] for link in links] == [world.incident_a]
    everything = _call(client, world.admin, "GET", f"/api/v1/clips/{world.in_both}/incidents")
    assert sorted(link["incident_id"] for link in everything) == sorted([world.incident_a, world.incident_b])


def test_a_removed_link_to_a_clip_gone_from_the_case_is_not_named_to_a_guest(
    archive: Archive, client: TestClient, world: World
) -> None:
    guest = member_key(archive, world.case_a)
    link_id = _link(client, world.admin, world.incident_a, world.loose)
    etag = client.get(f"/api/v1/incidents/{world.incident_a}/clips/{link_id}", headers=auth(world.admin)).headers
    removed = client.delete(
        f"/api/v1/incidents/{world.incident_a}/clips/{link_id}", headers={**auth(world.admin), "If-Match": etag["etag"]}
    )
    assert removed.status_code == 200, removed.text
    path = f"/api/v1/incidents/{world.incident_a}/clips?include_removed=true"
    assert world.loose not in {link["clip_id"] for link in _call(client, guest, "GET", path)}
    assert world.loose in {link["clip_id"] for link in _call(client, world.admin, "GET", path)}
    assert _status(client, guest, "GET", f"/api/v1/incidents/{world.incident_a}/clips/{link_id}") == 404
    # Nor to one who may change A's links: as for a link id the incident never had, not "removed".
    editor = member_key(archive, world.case_a, "contributor")
    headers = {**auth(editor), "If-Match": '"2"'}
    for method, body in (("PATCH", {"note": "n"}), ("DELETE", None)):
        answer = client.request(
            method, f"/api/v1/incidents/{world.incident_a}/clips/{link_id}", headers=headers, json=body
        )
        assert answer.status_code == 404, answer.text


def _etag(client: TestClient, key: str, path: str) -> dict[str, str]:
    return {**auth(key), "If-Match": client.get(path, headers=auth(key)).headers["etag"]}


def test_a_viewer_member_may_not_change_anything_in_its_case(
    archive: Archive, client: TestClient, world: World
) -> None:
    viewer = member_key(archive, world.case_a, "viewer", person="lawyer")
    contributor_elsewhere = member_key(archive, world.case_b, "contributor", person="lawyer")
    incident = f"/api/v1/incidents/{world.incident_a}"
    case = f"/api/v1/cases/{world.case_a}"
    # The second key can pass the contributor gate; in case A its holder is still only a viewer.
    for key in (viewer, contributor_elsewhere):
        assert client.patch(incident, headers=_etag(client, key, incident), json={"title": "x"}).status_code == 403
        assert client.delete(incident, headers=_etag(client, key, incident)).status_code == 403
        assert client.patch(case, headers=_etag(client, key, case), json={"title": "x"}).status_code == 403
        assert _status(client, key, "POST", f"{incident}/clips", json={"clip_id": world.in_a}) == 403
        assert _status(client, key, "PUT", f"{case}/incidents/{world.incident_loose}") == 403
        assert _status(client, key, "DELETE", f"{case}/incidents/{world.incident_a}") == 403
        assert _status(client, key, "POST", "/api/v1/incidents", json={**INCIDENT, "case_id": world.case_a}) == 403
    refused = client.patch(incident, headers=_etag(client, contributor_elsewhere, incident), json={"title": "x"})
    assert "contributor" in refused.json()["detail"]


def test_a_contributor_member_edits_in_its_case_and_gets_404_outside_it(
    archive: Archive, client: TestClient, world: World
) -> None:
    member = member_key(archive, world.case_a, "contributor")
    incident_a, incident_b = f"/api/v1/incidents/{world.incident_a}", f"/api/v1/incidents/{world.incident_b}"
    case_a, case_b = f"/api/v1/cases/{world.case_a}", f"/api/v1/cases/{world.case_b}"
    changed = client.patch(incident_a, headers=_etag(client, member, incident_a), json={"title": "Alpha, revised"})
    assert changed.status_code == 200 and changed.json()["title"] == "Alpha, revised"
    assert client.patch(case_a, headers=_etag(client, member, case_a), json={"title": "A2"}).status_code == 200
    admin_etag = {"If-Match": client.get(incident_b, headers=auth(world.admin)).headers["etag"]}
    assert client.patch(incident_b, headers={**auth(member), **admin_etag}, json={"title": "x"}).status_code == 404
    assert client.delete(incident_b, headers={**auth(member), **admin_etag}).status_code == 404
    case_b_etag = {"If-Match": client.get(case_b, headers=auth(world.admin)).headers["etag"]}
    assert client.patch(case_b, headers={**auth(member), **case_b_etag}, json={"title": "x"}).status_code == 404
    assert client.delete(case_b, headers={**auth(member), **case_b_etag}).status_code == 404
    link_b = f"{incident_b}/clips/{world.link_b}"
    assert client.patch(link_b, headers={**auth(member), "If-Match": '"1"'}, json={"note": "x"}).status_code == 404
    assert client.delete(link_b, headers={**auth(member), "If-Match": '"1"'}).status_code == 404
    assert _status(client, member, "POST", f"{incident_b}/clips", json={"clip_id": world.in_b}) == 404
    # Filing: into A only incidents it sees; into B nothing.
    assert _status(client, member, "PUT", f"{case_a}/incidents/{world.incident_b}") == 404
    assert _status(client, member, "PUT", f"{case_a}/incidents/{world.incident_loose}") == 404
    assert _status(client, member, "PUT", f"{case_b}/incidents/{world.incident_a}") == 404
    assert _status(client, member, "DELETE", f"{case_b}/incidents/{world.incident_b}") == 404
    assert _page(client, world.admin, "/api/v1/incidents?q=alpha")[0] == 1
    assert _call(client, world.admin, "GET", case_a)["incident_ids"] == [world.incident_a]


def test_linking_a_clip_the_caller_cannot_see_is_404(archive: Archive, client: TestClient, world: World) -> None:
    member = member_key(archive, world.case_a, "contributor")
    path = f"/api/v1/incidents/{world.incident_a}/clips"
    for clip_id in (world.in_b, world.loose):
        refused = client.post(path, headers=auth(member), json={"clip_id": clip_id})
        assert refused.status_code == 404 and refused.json()["error"] == "clip_not_found", refused.text
    assert world.loose not in {link["clip_id"] for link in _call(client, world.admin, "GET", path)}
    assert _status(client, world.admin, "POST", path, json={"clip_id": world.loose}) == 201


def test_a_viewer_of_one_case_cannot_carry_its_clips_or_incidents_into_another(
    archive: Archive, client: TestClient, world: World
) -> None:
    """Linking and filing bring a record into another case's sight: they need the contributor
    role where the record already is, not only where it goes."""
    person = "two-cases"
    member_key(archive, world.case_a, "contributor", person=person)
    both = member_key(archive, world.case_b, "viewer", person=person, key_role="contributor")
    carried = client.post(
        f"/api/v1/incidents/{world.incident_a}/clips", headers=auth(both), json={"clip_id": world.in_b}
    )
    assert carried.status_code == 403 and "contributor" in carried.json()["detail"], carried.text
    filed = client.put(f"/api/v1/cases/{world.case_a}/incidents/{world.incident_b}", headers=auth(both))
    assert filed.status_code == 403 and "contributor" in filed.json()["detail"], filed.text
    links = _call(client, world.admin, "GET", f"/api/v1/incidents/{world.incident_a}/clips")
    assert world.in_b not in {link["clip_id"] for link in links}
    assert world.incident_b not in _call(client, world.admin, "GET", f"/api/v1/cases/{world.case_a}")["incident_ids"]


def test_a_contributor_member_creates_incidents_only_into_its_case(
    archive: Archive, client: TestClient, world: World
) -> None:
    member = member_key(archive, world.case_a, "contributor")
    incident_id = _incident(client, member, "Charlie sighting", case_id=world.case_a)
    assert _call(client, member, "GET", f"/api/v1/incidents/{incident_id}")["title"] == "Charlie sighting"
    assert incident_id in _call(client, member, "GET", f"/api/v1/cases/{world.case_a}")["incident_ids"]
    history = _call(client, member, "GET", f"/api/v1/cases/{world.case_a}/history")["entries"]
    assert history[-1]["action"] == "incident_added" and history[-1]["details"]["incident_id"] == incident_id
    assert _link(client, member, incident_id, world.in_a) > 0
    unnamed = client.post("/api/v1/incidents", headers=auth(member), json=INCIDENT)
    assert unnamed.status_code == 400 and "case_id" in unnamed.json()["detail"]
    elsewhere = client.post("/api/v1/incidents", headers=auth(member), json={**INCIDENT, "case_id": world.case_b})
    assert elsewhere.status_code == 404
    assert _status(client, member, "POST", "/api/v1/cases", json={"title": "my own"}) == 403
    assert _page(client, world.admin, "/api/v1/incidents")[0] == 4  # nothing half-made by the refusals
    assert _page(client, world.admin, "/api/v1/cases")[0] == 2


def test_an_incident_put_into_a_closed_case_at_creation_is_not_made(
    archive: Archive, client: TestClient, world: World
) -> None:
    case = f"/api/v1/cases/{world.case_a}"
    closed = client.patch(case, headers=_etag(client, world.admin, case), json={"status": "closed"})
    assert closed.status_code == 200
    refused = client.post("/api/v1/incidents", headers=auth(world.admin), json={**INCIDENT, "case_id": world.case_a})
    assert refused.status_code == 409
    assert _page(client, world.admin, "/api/v1/incidents")[0] == 3


def test_review_needs_the_analyst_role_in_one_of_the_clips_cases(
    archive: Archive, client: TestClient, world: World
) -> None:
    # Viewer in A, analyst in B: the analyst gate lets the key through, the clip decides.
    member_key(archive, world.case_a, "viewer", person="reviewer")
    key = member_key(archive, world.case_b, "analyst", person="reviewer")
    review = {"status": "in_review", "rationale": "checking the skyline"}
    refused = client.post(f"/api/v1/clips/{world.in_a}/verification", headers=auth(key), json=review)
    assert refused.status_code == 403 and "analyst" in refused.json()["detail"]
    assert _status(client, key, "POST", f"/api/v1/clips/{world.loose}/verification", json=review) == 404
    for clip_id in (world.in_b, world.in_both):
        done = _call(client, key, "POST", f"/api/v1/clips/{clip_id}/verification", json=review)
        assert done["status"] == "in_review"
    assert _call(client, world.admin, "GET", f"/api/v1/clips/{world.in_a}/verification")["status"] == "unverified"


def test_the_history_of_a_deleted_record_is_for_archive_wide_callers(
    archive: Archive, client: TestClient, world: World
) -> None:
    admin, person = world.admin, "former-member"
    gone_incident = _incident(client, admin, "Filed by mistake", case_id=world.case_a)
    gone_case = _case(client, admin, "Opened by mistake")
    member_key(archive, gone_case, "viewer", person=person)
    guest = member_key(archive, world.case_a, "viewer", person=person)
    assert _status(client, guest, "GET", f"/api/v1/incidents/{gone_incident}/history") == 200
    assert _status(client, guest, "GET", f"/api/v1/cases/{gone_case}/history") == 200
    _call(client, admin, "DELETE", f"/api/v1/cases/{world.case_a}/incidents/{gone_incident}")
    incident, case = f"/api/v1/incidents/{gone_incident}", f"/api/v1/cases/{gone_case}"
    assert client.delete(incident, headers=_etag(client, admin, incident)).status_code == 204
    assert client.delete(case, headers=_etag(client, admin, case)).status_code == 204
    for path in (f"{incident}/history", f"{case}/history"):
        assert _status(client, guest, "GET", path) == 404, path
        assert _call(client, admin, "GET", path)["deleted"] is True


def test_archive_wide_roles_see_and_do_what_they_did(client: TestClient, keys: dict[str, str], world: World) -> None:
    viewer, contributor = keys["viewer"], keys["contributor"]
    assert _page(client, viewer, "/api/v1/incidents")[0] == 3
    assert _page(client, viewer, "/api/v1/cases")[0] == 2
    assert _status(client, viewer, "GET", f"/api/v1/incidents/{world.incident_loose}") == 200
    assert _status(client, viewer, "GET", f"/api/v1/clips/{world.loose}/verification") == 200
    assert _status(client, viewer, "POST", "/api/v1/incidents", json=INCIDENT) == 403
    loose = _incident(client, contributor, "Archive-wide, in no case")
    _link(client, contributor, loose, world.loose)
    assert _status(client, contributor, "POST", "/api/v1/cases", json={"title": "New report"}) == 201
    filed = _incident(client, contributor, "Filed at once", case_id=world.case_b)
    assert filed in _call(client, viewer, "GET", f"/api/v1/cases/{world.case_b}")["incident_ids"]
    review = {"status": "in_review", "rationale": "checking"}
    assert _status(client, contributor, "POST", f"/api/v1/clips/{world.loose}/verification", json=review) == 403
    assert _status(client, keys["analyst"], "POST", f"/api/v1/clips/{world.loose}/verification", json=review) == 200


def test_an_expired_membership_sees_nothing(archive: Archive, client: TestClient, world: World) -> None:
    person = "lawyer-until-march"
    ends = datetime.now(UTC) + timedelta(days=30)
    guest = member_key(archive, world.case_a, "contributor", person=person, expires_at=ends)
    assert _page(client, guest, "/api/v1/incidents") == (1, [world.incident_a])
    with archive.sessions.begin() as session:  # as if the month had passed
        for member in session.scalars(select(CaseMember).join(Person).where(Person.name == person)):
            member.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    for path in (
        "/api/v1/incidents",
        "/api/v1/cases",
        f"/api/v1/incidents/{world.incident_a}",
        f"/api/v1/cases/{world.case_a}",
        f"/api/v1/clips/{world.in_a}/incidents",
    ):
        assert _status(client, guest, "GET", path) == 403, path
    assert _status(client, guest, "POST", "/api/v1/incidents", json={**INCIDENT, "case_id": world.case_a}) == 403
