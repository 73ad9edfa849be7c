"""Incidents with optimistic concurrency, clip segment links, and the verification workflow."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from tests import media
from tests.conftest import auth
from tests.helpers.api_calls import INCIDENT, create_incident, upload, wait_until_done


@pytest.fixture(scope="module")
def clip_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return media.make_silent_clip(tmp_path_factory.mktemp("incident-clips") / "clip.mp4", seconds=4)


def actions(client: TestClient, key: str, clip_id: str) -> list[str]:
    body = client.get(f"/api/v1/clips/{clip_id}/custody", headers=auth(key)).json()
    assert body["verified"] is True
    return [e["action"] for e in body["events"]]


def test_incident_is_created_and_read_with_an_etag(client: TestClient, keys: dict[str, str]) -> None:
    incident_id, tag = create_incident(client, keys["contributor"])
    response = client.get(f"/api/v1/incidents/{incident_id}", headers=auth(keys["viewer"]))
    body = response.json()
    assert response.headers["etag"] == tag == '"1"'
    assert body["starts_at"].startswith("2019-11-16T10:30:00")
    assert body["tags"] == ["shooting"] and body["radius_m"] == 300


def test_update_needs_if_match_and_refuses_a_stale_one(client: TestClient, keys: dict[str, str]) -> None:
    incident_id, tag = create_incident(client, keys["contributor"])
    url, key = f"/api/v1/incidents/{incident_id}", auth(keys["contributor"])
    assert client.patch(url, headers=key, json={"title": "x"}).status_code == 428
    first = client.patch(url, headers={**key, "If-Match": tag}, json={"title": "Shooting (verified place)"})
    assert first.status_code == 200 and first.headers["etag"] == '"2"'
    stale = client.patch(url, headers={**key, "If-Match": tag}, json={"title": "overwrite"})
    assert stale.status_code == 412
    assert client.get(url, headers=key).json()["title"] == "Shooting (verified place)"


def test_bad_incident_times_are_refused(client: TestClient, keys: dict[str, str]) -> None:
    backwards = {**INCIDENT, "ends_at": "2019-11-15T00:00:00Z"}
    assert client.post("/api/v1/incidents", headers=auth(keys["contributor"]), json=backwards).status_code == 400
    no_zone = {**INCIDENT, "starts_at": "2019-11-16T14:00:00"}
    assert client.post("/api/v1/incidents", headers=auth(keys["contributor"]), json=no_zone).status_code == 422


def test_segments_are_linked_listed_and_unlinked_with_custody(
    client: TestClient, keys: dict[str, str], clip_file: Path
) -> None:
    clip_id = upload(client, keys["contributor"], clip_file.read_bytes()).json()["id"]
    wait_until_done(client, keys["viewer"], clip_id)
    incident_id, _ = create_incident(client, keys["contributor"])
    url, key = f"/api/v1/incidents/{incident_id}/clips", auth(keys["contributor"])
    first = client.post(
        url, headers=key, json={"clip_id": clip_id, "start_s": 0.5, "end_s": 1.5, "note": "muzzle flash"}
    )
    second = client.post(url, headers=key, json={"clip_id": clip_id, "start_s": 2, "end_s": 3})
    assert first.status_code == second.status_code == 201
    beyond = client.post(url, headers=key, json={"clip_id": clip_id, "start_s": 1, "end_s": 60})
    assert beyond.status_code == 400 and "outside the clip" in beyond.json()["detail"]
    listed = client.get(url, headers=auth(keys["viewer"])).json()
    assert [(link["start_s"], link["end_s"]) for link in listed] == [(0.5, 1.5), (2.0, 3.0)]
    from_clip = client.get(f"/api/v1/clips/{clip_id}/incidents", headers=auth(keys["viewer"])).json()
    assert {link["incident_id"] for link in from_clip} == {incident_id}
    link_url = f"{url}/{first.json()['id']}"
    assert client.delete(link_url, headers=key).status_code == 428
    removed = client.delete(link_url, headers={**key, "If-Match": first.headers["etag"]})
    assert removed.status_code == 200 and removed.json()["unlinked_by"] == "contributor-key"
    again = client.delete(link_url, headers={**key, "If-Match": removed.headers["etag"]})
    assert again.status_code == 409
    assert len(client.get(url, headers=auth(keys["viewer"])).json()) == 1
    kept = client.get(link_url, headers=auth(keys["viewer"])).json()
    assert kept["unlinked_at"] is not None and kept["note"] == "muzzle flash"
    assert actions(client, keys["viewer"], clip_id)[-3:] == ["linked", "linked", "unlinked"]


def test_a_link_changes_only_with_the_etag_its_editor_read(
    client: TestClient, keys: dict[str, str], clip_file: Path
) -> None:
    clip_id = upload(client, keys["contributor"], clip_file.read_bytes()).json()["id"]
    wait_until_done(client, keys["viewer"], clip_id)
    incident_id, _ = create_incident(client, keys["contributor"])
    key = auth(keys["contributor"])
    created = client.post(f"/api/v1/incidents/{incident_id}/clips", headers=key, json={"clip_id": clip_id})
    link_url, read_tag = created.headers["location"], created.headers["etag"]
    assert client.get(link_url, headers=auth(keys["viewer"])).headers["etag"] == read_tag
    first = client.patch(
        link_url, headers={**key, "If-Match": read_tag}, json={"start_s": 0.5, "end_s": 2.5, "note": "first shot"}
    )
    assert first.status_code == 200 and first.headers["etag"] != read_tag
    # A second investigator who read the link before that change cannot overwrite it.
    stale = client.patch(link_url, headers={**key, "If-Match": read_tag}, json={"note": "whole clip"})
    assert stale.status_code == 412
    assert client.patch(link_url, headers=key, json={"note": "no etag"}).status_code == 428
    outside = client.patch(link_url, headers={**key, "If-Match": first.headers["etag"]}, json={"end_s": 99})
    assert outside.status_code == 400
    shown = client.get(link_url, headers=auth(keys["viewer"])).json()
    assert (shown["start_s"], shown["end_s"], shown["note"]) == (0.5, 2.5, "first shot")
    custody = client.get(f"/api/v1/clips/{clip_id}/custody", headers=auth(keys["viewer"])).json()["events"]
    changed = [event["details"] for event in custody if event["action"] == "link_changed"]
    assert changed == [
        {
            "link_id": created.json()["id"],
            "incident_id": incident_id,
            "before": {"start_s": None, "end_s": None, "note": None},
            "after": {"start_s": 0.5, "end_s": 2.5, "note": "first shot"},
        }
    ]
    elsewhere, _ = create_incident(client, keys["contributor"])
    assert client.get(f"/api/v1/incidents/{elsewhere}/clips/{created.json()['id']}", headers=key).status_code == 404


def test_incident_with_linked_clips_cannot_be_deleted(client: TestClient, keys: dict[str, str]) -> None:
    clip_id = upload(client, keys["contributor"], b"not video" * 10).json()["id"]
    incident_id, tag = create_incident(client, keys["contributor"])
    client.post(f"/api/v1/incidents/{incident_id}/clips", headers=auth(keys["contributor"]), json={"clip_id": clip_id})
    response = client.delete(f"/api/v1/incidents/{incident_id}", headers={**auth(keys["contributor"]), "If-Match": tag})
    assert response.status_code == 409
    empty_id, empty_tag = create_incident(client, keys["contributor"])
    gone = client.delete(f"/api/v1/incidents/{empty_id}", headers={**auth(keys["contributor"]), "If-Match": empty_tag})
    assert gone.status_code == 204
    assert client.get(f"/api/v1/incidents/{empty_id}", headers=auth(keys["viewer"])).status_code == 404


def test_verification_moves_through_review_by_analysts_only(client: TestClient, keys: dict[str, str]) -> None:
    clip_id = upload(client, keys["contributor"], b"footage bytes" * 10).json()["id"]
    url = f"/api/v1/clips/{clip_id}/verification"
    review = {"status": "in_review", "rationale": "geolocation started"}
    assert client.post(url, headers=auth(keys["contributor"]), json=review).status_code == 403
    assert client.post(url, headers=auth(keys["analyst"]), json=review).status_code == 200
    skip = client.post(url, headers=auth(keys["analyst"]), json={"status": "in_review", "rationale": "again"})
    assert skip.status_code == 409
    assert (
        client.post(url, headers=auth(keys["analyst"]), json={"status": "verified", "rationale": ""}).status_code == 422
    )
    done = client.post(
        url, headers=auth(keys["admin"]), json={"status": "verified", "rationale": "shadows match 14:10"}
    )
    body = done.json()
    assert body["status"] == "verified"
    assert [(c["from_status"], c["to_status"], c["reviewer"]) for c in body["history"]] == [
        ("unverified", "in_review", "analyst-key"),
        ("in_review", "verified", "admin-key"),
    ]
    assert (
        client.get(f"/api/v1/clips/{clip_id}", headers=auth(keys["viewer"])).json()["verification_status"] == "verified"
    )
    assert actions(client, keys["viewer"], clip_id).count("verification_changed") == 2


def test_case_groups_incidents_with_concurrency_control(client: TestClient, keys: dict[str, str]) -> None:
    key = auth(keys["contributor"])
    created = client.post("/api/v1/cases", headers=key, json={"title": "UN submission"})
    assert created.status_code == 201 and created.json()["status"] == "open"
    case_id, tag = created.json()["id"], created.headers["etag"]
    first, _ = create_incident(client, keys["contributor"])
    second, _ = create_incident(client, keys["contributor"])
    client.put(f"/api/v1/cases/{case_id}/incidents/{first}", headers=key)
    added = client.put(f"/api/v1/cases/{case_id}/incidents/{second}", headers=key)
    assert added.json()["incident_ids"] == sorted([first, second])
    stale = client.patch(f"/api/v1/cases/{case_id}", headers={**key, "If-Match": tag}, json={"status": "closed"})
    assert stale.status_code == 412  # adding incidents changed the case
    removed = client.delete(f"/api/v1/cases/{case_id}/incidents/{first}", headers=key)
    assert removed.json()["incident_ids"] == [second]
    current = client.get(f"/api/v1/cases/{case_id}", headers=auth(keys["viewer"])).headers["etag"]
    closed = client.patch(f"/api/v1/cases/{case_id}", headers={**key, "If-Match": current}, json={"status": "closed"})
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    in_case = client.get(f"/api/v1/incidents/{second}", headers=key).headers["etag"]
    assert client.delete(f"/api/v1/incidents/{second}", headers={**key, "If-Match": in_case}).status_code == 409
    assert client.put(f"/api/v1/cases/{case_id}/incidents/nope", headers=key).status_code == 404


def test_cases_are_listed_newest_first_with_totals_and_filters(client: TestClient, keys: dict[str, str]) -> None:
    key = auth(keys["contributor"])
    for title in ("Report on Mahshahr", "UN submission", "Press briefing"):
        client.post("/api/v1/cases", headers=key, json={"title": title, "description": "November 2019"})
    closed = client.get("/api/v1/cases", headers=key).json()["items"][0]
    client.patch(
        f"/api/v1/cases/{closed['id']}",
        headers={**key, "If-Match": f'"{closed["version"]}"'},
        json={"status": "closed"},
    )
    page = client.get("/api/v1/cases", headers=key, params={"limit": 2}).json()
    assert page["total"] == 3 and len(page["items"]) == 2
    rest = client.get("/api/v1/cases", headers=key, params={"limit": 2, "offset": 2}).json()
    titles = [case["title"] for case in page["items"] + rest["items"]]
    assert sorted(titles) == ["Press briefing", "Report on Mahshahr", "UN submission"]
    assert titles[0] == "Press briefing"  # the newest
    open_cases = client.get("/api/v1/cases", headers=key, params={"status": "open"}).json()
    assert open_cases["total"] == 2 and closed["id"] not in [case["id"] for case in open_cases["items"]]
    found = client.get("/api/v1/cases", headers=key, params={"q": "mahshahr"}).json()
    assert [case["title"] for case in found["items"]] == ["Report on Mahshahr"]
    assert client.get("/api/v1/cases", headers=key, params={"status": "pending"}).status_code == 422


def ready_clip(client: TestClient, keys: dict[str, str], clip_file: Path) -> tuple[str, float]:
    """An analysed clip's id and duration."""
    clip_id = upload(client, keys["contributor"], clip_file.read_bytes()).json()["id"]
    body = wait_until_done(client, keys["viewer"], clip_id)
    return clip_id, body["media"]["duration_s"]


def refusal(response: httpx.Response, status: int) -> str:
    """The detail of an error answer, after checking its status and shape."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) >= {"error", "detail"} and isinstance(body["detail"], str), body
    return str(body["detail"])


@pytest.mark.parametrize("field", ["title", "description", "starts_at", "time_precision", "tags"])
def test_patch_refuses_null_for_what_an_incident_must_have(
    client: TestClient, keys: dict[str, str], field: str
) -> None:
    incident_id, tag = create_incident(client, keys["contributor"])
    url, key = f"/api/v1/incidents/{incident_id}", {**auth(keys["contributor"]), "If-Match": tag}
    detail = refusal(client.patch(url, headers=key, json={field: None}), 422)
    assert detail.startswith(f"{field}: cannot be null")
    assert client.get(url, headers=key).headers["etag"] == tag


def test_patch_clears_what_may_be_unknown_with_null(client: TestClient, keys: dict[str, str]) -> None:
    incident_id, tag = create_incident(client, keys["contributor"])
    url, key = f"/api/v1/incidents/{incident_id}", auth(keys["contributor"])
    dated = client.patch(url, headers={**key, "If-Match": tag}, json={"ends_at": "2019-11-16T15:00:00+03:30"})
    cleared = client.patch(
        url,
        headers={**key, "If-Match": dated.headers["etag"]},
        json={"ends_at": None, "place_name": None, "lat": None, "lon": None, "radius_m": None},
    )
    assert cleared.status_code == 200, cleared.text
    body = cleared.json()
    assert [body[name] for name in ("ends_at", "place_name", "lat", "lon", "radius_m")] == [None] * 5
    half = client.patch(url, headers={**key, "If-Match": cleared.headers["etag"]}, json={"lat": 35.7})
    assert "both lat and lon" in refusal(half, 400)


@pytest.mark.parametrize("field", ["starts_at", "ends_at"])
def test_patch_refuses_a_time_without_a_zone(client: TestClient, keys: dict[str, str], field: str) -> None:
    incident_id, tag = create_incident(client, keys["contributor"])
    url, key = f"/api/v1/incidents/{incident_id}", {**auth(keys["contributor"]), "If-Match": tag}
    detail = refusal(client.patch(url, headers=key, json={field: "2019-11-16T16:00:00"}), 422)
    assert detail.startswith(f"{field}: give a time zone")


def test_incident_times_are_answered_in_utc(client: TestClient, keys: dict[str, str]) -> None:
    created = client.post("/api/v1/incidents", headers=auth(keys["contributor"]), json=INCIDENT)
    assert created.json()["starts_at"].startswith("2019-11-16T10:30:00")
    changed = client.patch(
        created.headers["location"],
        headers={**auth(keys["contributor"]), "If-Match": created.headers["etag"]},
        json={"ends_at": "2019-11-16T15:30:00+03:30"},
    )
    assert changed.json()["ends_at"].startswith("2019-11-16T12:00:00")
    assert changed.json()["ends_at"].endswith(("Z", "+00:00"))


def test_unknown_fields_are_refused_by_name(client: TestClient, keys: dict[str, str]) -> None:
    clip_id = upload(client, keys["contributor"], b"not video" * 10).json()["id"]
    incident_id, tag = create_incident(client, keys["contributor"])
    key = auth(keys["contributor"])
    url = f"/api/v1/incidents/{incident_id}"
    assert refusal(client.patch(url, headers={**key, "If-Match": tag}, json={"titel": "typo"}), 422) == (
        "titel: unknown field"
    )
    link = client.post(f"{url}/clips", headers=key, json={"clip_id": clip_id})
    moved = client.patch(
        link.headers["location"], headers={**key, "If-Match": link.headers["etag"]}, json={"clip_id": "other"}
    )
    assert refusal(moved, 422) == "clip_id: unknown field"
    assert "colour: unknown field" in refusal(
        client.post("/api/v1/incidents", headers=key, json={**INCIDENT, "colour": 1}), 422
    )
    assert client.get(url, headers=key).headers["etag"] == tag
    assert client.get(link.headers["location"], headers=key).headers["etag"] == link.headers["etag"]


def test_a_patch_that_changes_nothing_keeps_the_version_and_the_custody_log(
    client: TestClient, keys: dict[str, str]
) -> None:
    clip_id = upload(client, keys["contributor"], b"not video" * 10).json()["id"]
    incident_id, tag = create_incident(client, keys["contributor"])
    key = auth(keys["contributor"])
    url = f"/api/v1/incidents/{incident_id}"
    for unchanged in ({}, {"title": INCIDENT["title"], "starts_at": "2019-11-16T10:30:00Z", "tags": ["shooting"]}):
        same = client.patch(url, headers={**key, "If-Match": tag}, json=unchanged)
        assert same.status_code == 200 and same.headers["etag"] == tag == '"1"'
        assert same.json()["version"] == 1
    link = client.post(f"{url}/clips", headers=key, json={"clip_id": clip_id, "note": "flash"})
    for unchanged in ({}, {"note": "flash", "start_s": None}):
        same = client.patch(link.headers["location"], headers={**key, "If-Match": link.headers["etag"]}, json=unchanged)
        assert same.status_code == 200 and same.headers["etag"] == link.headers["etag"]
    assert "link_changed" not in actions(client, keys["viewer"], clip_id)
    case = client.post("/api/v1/cases", headers=key, json={"title": "report"})
    same = client.patch(
        case.headers["location"], headers={**key, "If-Match": case.headers["etag"]}, json={"status": "open"}
    )
    assert same.status_code == 200 and same.headers["etag"] == case.headers["etag"]


@pytest.mark.parametrize("field", ["title", "description", "status"])
def test_case_patch_refuses_null(client: TestClient, keys: dict[str, str], field: str) -> None:
    key = auth(keys["contributor"])
    case = client.post("/api/v1/cases", headers=key, json={"title": "report", "description": "Nov 2019"})
    patched = client.patch(
        case.headers["location"], headers={**key, "If-Match": case.headers["etag"]}, json={field: None}
    )
    assert refusal(patched, 422).startswith(f"{field}: cannot be null")
    assert client.get(case.headers["location"], headers=key).json()["title"] == "report"


def test_a_segment_starting_at_the_clips_end_is_refused(
    client: TestClient, keys: dict[str, str], clip_file: Path
) -> None:
    clip_id, duration = ready_clip(client, keys, clip_file)
    incident_id, _ = create_incident(client, keys["contributor"])
    url, key = f"/api/v1/incidents/{incident_id}/clips", auth(keys["contributor"])
    empty = client.post(url, headers=key, json={"clip_id": clip_id, "start_s": duration})
    assert "at or after the clip's end" in refusal(empty, 400)
    assert client.post(url, headers=key, json={"clip_id": clip_id, "start_s": duration - 1}).status_code == 201


def test_a_segment_ending_at_the_clips_start_is_refused(
    client: TestClient, keys: dict[str, str], clip_file: Path
) -> None:
    clip_id, _duration = ready_clip(client, keys, clip_file)
    incident_id, _ = create_incident(client, keys["contributor"])
    url, key = f"/api/v1/incidents/{incident_id}/clips", auth(keys["contributor"])
    empty = client.post(url, headers=key, json={"clip_id": clip_id, "end_s": 0})
    assert "the segment would be empty" in refusal(empty, 400)
    assert client.post(url, headers=key, json={"clip_id": clip_id, "end_s": 0.5}).status_code == 201


def test_the_same_segment_is_linked_once(client: TestClient, keys: dict[str, str], clip_file: Path) -> None:
    clip_id, _ = ready_clip(client, keys, clip_file)
    incident_id, _ = create_incident(client, keys["contributor"])
    url, key = f"/api/v1/incidents/{incident_id}/clips", auth(keys["contributor"])
    segment = {"clip_id": clip_id, "start_s": 0.5, "end_s": 1.5}
    first = client.post(url, headers=key, json=segment)
    link_id = first.json()["id"]
    assert f"already linked to the incident as link {link_id}" in refusal(
        client.post(url, headers=key, json=segment), 409
    )
    other = client.post(url, headers=key, json={**segment, "end_s": 2})
    onto = client.patch(
        other.headers["location"], headers={**key, "If-Match": other.headers["etag"]}, json={"end_s": 1.5}
    )
    assert f"as link {link_id}" in refusal(onto, 409)
    client.delete(first.headers["location"], headers={**key, "If-Match": first.headers["etag"]})
    assert client.post(url, headers=key, json=segment).status_code == 201


def test_a_closed_case_keeps_its_incidents_until_reopened(client: TestClient, keys: dict[str, str]) -> None:
    key = auth(keys["contributor"])
    inside, _ = create_incident(client, keys["contributor"])
    outside, _ = create_incident(client, keys["contributor"])
    case = client.post("/api/v1/cases", headers=key, json={"title": "report"}).json()
    url = f"/api/v1/cases/{case['id']}"
    opened = client.put(f"{url}/incidents/{inside}", headers=key)
    closed = client.patch(url, headers={**key, "If-Match": opened.headers["etag"]}, json={"status": "closed"})
    assert refusal(client.put(f"{url}/incidents/{outside}", headers=key), 409) == "the case is closed; reopen it first"
    assert (
        refusal(client.delete(f"{url}/incidents/{inside}", headers=key), 409) == "the case is closed; reopen it first"
    )
    already = client.put(f"{url}/incidents/{inside}", headers=key)
    assert already.status_code == 200 and already.headers["etag"] == closed.headers["etag"]
    reopened = client.patch(url, headers={**key, "If-Match": closed.headers["etag"]}, json={"status": "open"})
    assert reopened.status_code == 200
    assert client.put(f"{url}/incidents/{outside}", headers=key).json()["incident_ids"] == sorted([inside, outside])


def test_if_match_takes_the_tag_quoted_unquoted_or_weak(client: TestClient, keys: dict[str, str]) -> None:
    incident_id, _ = create_incident(client, keys["contributor"])
    url, key = f"/api/v1/incidents/{incident_id}", auth(keys["contributor"])
    bare = client.patch(url, headers={**key, "If-Match": "1"}, json={"title": "bare"})
    assert bare.status_code == 200 and bare.headers["etag"] == '"2"'
    weak = client.patch(url, headers={**key, "If-Match": 'W/"2"'}, json={"title": "weak"})
    assert weak.status_code == 200 and weak.headers["etag"] == '"3"'
    stale = refusal(client.patch(url, headers={**key, "If-Match": "1"}, json={"title": "stale"}), 412)
    assert stale == 'the incident changed since you read it (you sent 1, it is now "3"); read it again'


def test_if_match_star_is_refused_everywhere(client: TestClient, keys: dict[str, str]) -> None:
    clip_id = upload(client, keys["contributor"], b"not video" * 10).json()["id"]
    incident_id, _ = create_incident(client, keys["contributor"])
    key = {**auth(keys["contributor"]), "If-Match": "*"}
    url = f"/api/v1/incidents/{incident_id}"
    link = client.post(f"{url}/clips", headers=auth(keys["contributor"]), json={"clip_id": clip_id}).headers["location"]
    case = client.post("/api/v1/cases", headers=auth(keys["contributor"]), json={"title": "r"}).headers["location"]
    for response in (
        client.patch(url, headers=key, json={"title": "blind"}),
        client.delete(url, headers=key),
        client.patch(link, headers=key, json={"note": "blind"}),
        client.delete(link, headers=key),
        client.patch(case, headers=key, json={"title": "blind"}),
        client.delete(case, headers=key),
    ):
        assert "send the ETag you read" in refusal(response, 428)
    assert client.get(url, headers=key).json()["version"] == 1


def test_removed_links_are_listed_when_asked(client: TestClient, keys: dict[str, str], clip_file: Path) -> None:
    clip_id, _duration = ready_clip(client, keys, clip_file)  # a segment needs the clip's duration
    incident_id, _ = create_incident(client, keys["contributor"])
    url, key = f"/api/v1/incidents/{incident_id}/clips", auth(keys["contributor"])
    kept = client.post(url, headers=key, json={"clip_id": clip_id, "note": "kept"})
    removed = client.post(url, headers=key, json={"clip_id": clip_id, "start_s": 1, "note": "removed"})
    client.delete(removed.headers["location"], headers={**key, "If-Match": removed.headers["etag"]})
    assert [link["note"] for link in client.get(url, headers=key).json()] == ["kept"]
    everything = client.get(url, headers=key, params={"include_removed": "true"}).json()
    assert [(link["note"], link["unlinked_by"]) for link in everything] == [
        ("kept", None),
        ("removed", "contributor-key"),
    ]
    assert kept.status_code == 201


@pytest.mark.parametrize("moment", ["9999-12-31T20:00:00-05:00", "0001-01-01T00:00:00+01:00"])
def test_a_time_beyond_the_calendar_in_utc_is_refused_not_a_server_error(
    client: TestClient, keys: dict[str, str], moment: str
) -> None:
    key = auth(keys["contributor"])
    created = client.post("/api/v1/incidents", headers=key, json={**INCIDENT, "starts_at": moment})
    assert "outside the years 1 to 9999" in refusal(created, 400)
    incident_id, tag = create_incident(client, keys["contributor"])
    patched = client.patch(
        f"/api/v1/incidents/{incident_id}", headers={**key, "If-Match": tag}, json={"ends_at": moment}
    )
    assert "outside the years 1 to 9999" in refusal(patched, 400)
    for path, name in (
        ("/api/v1/clips", "recorded_from"),
        ("/api/v1/clips", "captured_to"),
        ("/api/v1/incidents", "time_from"),
    ):
        assert "outside the years" in refusal(client.get(path, headers=key, params={name: moment}), 400)
    form = client.post("/api/v1/clips", headers=key, data={"captured_at": moment}, files={"file": ("a.bin", b"abc")})
    assert "outside the years" in refusal(form, 400)


def test_tags_are_found_in_any_script_and_with_quotes_and_blank_ones_refused(
    client: TestClient, keys: dict[str, str]
) -> None:
    key = auth(keys["contributor"])
    tags = ["تهران", 'say "stop"', "Night Raid"]
    created = client.post("/api/v1/incidents", headers=key, json={**INCIDENT, "tags": tags})
    assert sorted(created.json()["tags"]) == sorted(tags)
    for wanted in [*tags, "night raid"]:
        found = client.get("/api/v1/incidents", headers=key, params={"tag": wanted}).json()
        assert [item["id"] for item in found["items"]] == [created.json()["id"]], wanted
    assert client.get("/api/v1/incidents", headers=key, params={"tag": "تهر"}).json()["total"] == 0  # whole tags only
    blank = client.post("/api/v1/incidents", headers=key, json={**INCIDENT, "tags": ["shooting", " "]})
    assert "blank" in refusal(blank, 400)


def test_a_closed_case_cannot_be_deleted(client: TestClient, keys: dict[str, str]) -> None:
    key = auth(keys["contributor"])
    case = client.post("/api/v1/cases", headers=key, json={"title": "UN submission", "status": "closed"})
    deleted = client.delete(case.headers["location"], headers={**key, "If-Match": case.headers["etag"]})
    assert "reopen it first" in refusal(deleted, 409)
    reopened = client.patch(
        case.headers["location"], headers={**key, "If-Match": case.headers["etag"]}, json={"status": "open"}
    )
    assert (
        client.delete(case.headers["location"], headers={**key, "If-Match": reopened.headers["etag"]}).status_code
        == 204
    )


def test_the_whole_clip_and_its_full_span_are_the_same_segment(
    client: TestClient, keys: dict[str, str], clip_file: Path
) -> None:
    clip_id, duration = ready_clip(client, keys, clip_file)
    incident_id, _ = create_incident(client, keys["contributor"])
    url, key = f"/api/v1/incidents/{incident_id}/clips", auth(keys["contributor"])
    assert client.post(url, headers=key, json={"clip_id": clip_id}).status_code == 201
    for twin in ({"start_s": 0, "end_s": duration}, {"start_s": 0}, {"end_s": duration}):
        assert "already linked" in refusal(client.post(url, headers=key, json={"clip_id": clip_id, **twin}), 409)
    assert client.post(url, headers=key, json={"clip_id": clip_id, "start_s": 1}).status_code == 201
    assert "already linked" in refusal(
        client.post(url, headers=key, json={"clip_id": clip_id, "start_s": 1, "end_s": duration}), 409
    )
