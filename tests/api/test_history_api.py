"""The history of incidents and cases through the API: who changed what and what it was before,
readable after the record is deleted, nothing written by a refused change, tampering reported."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from storage.archive import Archive
from tests.conftest import auth
from tests.helpers.api_calls import INCIDENT, create_incident
from tests.helpers.chains import tamper


def history(client: TestClient, key: str, kind: str, record_id: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/{kind}/{record_id}/history", headers=auth(key))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def create_case(client: TestClient, key: str, title: str = "UN submission") -> tuple[str, str]:
    response = client.post("/api/v1/cases", headers=auth(key), json={"title": title})
    assert response.status_code == 201, response.text
    return response.headers["location"], response.headers["etag"]


def test_an_incidents_changes_are_kept_with_who_made_them_and_what_was_before(
    client: TestClient, keys: dict[str, str]
) -> None:
    incident_id, tag = create_incident(client, keys["contributor"])
    changed = client.patch(
        f"/api/v1/incidents/{incident_id}",
        headers={**auth(keys["analyst"]), "If-Match": tag},
        json={"starts_at": "2019-11-16T15:00:00+03:30", "radius_m": 50, "title": INCIDENT["title"]},
    )
    assert changed.status_code == 200
    body = history(client, keys["viewer"], "incidents", incident_id)
    assert (body["kind"], body["id"], body["deleted"], body["verified"]) == ("incident", incident_id, False, True)
    created, updated = body["entries"]
    assert (created["action"], created["actor"]) == ("created", "contributor-key")
    assert created["details"]["record"]["title"] == INCIDENT["title"]
    assert (updated["action"], updated["actor"], updated["prev_hash"]) == ("updated", "analyst-key", created["hash"])
    assert updated["details"] == {
        "version": 2,
        "before": {"starts_at": "2019-11-16T10:30:00Z", "radius_m": 300},
        "after": {"starts_at": "2019-11-16T11:30:00Z", "radius_m": 50},
    }


def test_a_deleted_incident_keeps_its_history_and_the_record_as_it_was(
    client: TestClient, keys: dict[str, str]
) -> None:
    incident_id, tag = create_incident(client, keys["contributor"])
    url, key = f"/api/v1/incidents/{incident_id}", auth(keys["contributor"])
    assert client.delete(url, headers={**key, "If-Match": tag}).status_code == 204
    assert client.get(url, headers=key).status_code == 404
    body = history(client, keys["viewer"], "incidents", incident_id)
    assert body["deleted"] is True and body["verified"] is True
    assert [entry["action"] for entry in body["entries"]] == ["created", "deleted"]
    gone = body["entries"][-1]["details"]["record"]
    assert (gone["id"], gone["place_name"], gone["tags"], gone["version"]) == (
        incident_id,
        "Sadeghieh square",
        ["shooting"],
        1,
    )


def test_a_deleted_case_keeps_its_history_readable(client: TestClient, keys: dict[str, str]) -> None:
    key = auth(keys["contributor"])
    incident_id, _ = create_incident(client, keys["contributor"])
    url, _ = create_case(client, keys["contributor"])
    case_id = url.rsplit("/", 1)[-1]
    client.put(f"{url}/incidents/{incident_id}", headers=key)
    client.delete(f"{url}/incidents/{incident_id}", headers=key)
    client.put(f"{url}/incidents/{incident_id}", headers=key)
    closed = client.patch(url, headers={**key, "If-Match": '"4"'}, json={"status": "closed"})
    reopened = client.patch(
        url, headers={**key, "If-Match": closed.headers["etag"]}, json={"status": "open", "title": "Briefing"}
    )
    assert client.delete(url, headers={**key, "If-Match": reopened.headers["etag"]}).status_code == 204
    assert client.get(url, headers=key).status_code == 404

    body = history(client, keys["viewer"], "cases", case_id)
    assert (body["kind"], body["deleted"], body["verified"]) == ("case", True, True)
    assert [(entry["action"], entry["details"].get("version")) for entry in body["entries"]] == [
        ("created", None),
        ("incident_added", 2),
        ("incident_removed", 3),
        ("incident_added", 4),
        ("closed", 5),
        ("reopened", 6),
        ("deleted", None),
    ]
    assert body["entries"][2]["details"]["incident_id"] == incident_id
    assert body["entries"][5]["details"]["before"] == {"status": "closed", "title": "UN submission"}
    gone = body["entries"][-1]["details"]["record"]
    assert (gone["title"], gone["status"], gone["incident_ids"], gone["version"]) == (
        "Briefing",
        "open",
        [incident_id],
        6,
    )
    assert {entry["actor"] for entry in body["entries"]} == {"contributor-key"}


def test_a_refused_change_writes_no_entry(client: TestClient, keys: dict[str, str]) -> None:
    key = auth(keys["contributor"])
    incident_id, stale = create_incident(client, keys["contributor"])
    incident_url = f"/api/v1/incidents/{incident_id}"
    client.patch(incident_url, headers={**key, "If-Match": stale}, json={"title": "Shooting (verified place)"})
    case_url, case_tag = create_case(client, keys["contributor"])
    client.patch(case_url, headers={**key, "If-Match": case_tag}, json={"description": "draft"})
    refused = [
        client.patch(incident_url, headers={**key, "If-Match": stale}, json={"title": "overwrite"}),
        client.delete(incident_url, headers={**key, "If-Match": stale}),
        client.patch(case_url, headers={**key, "If-Match": case_tag}, json={"status": "closed"}),
        client.delete(case_url, headers={**key, "If-Match": case_tag}),
        client.patch(incident_url, headers=key, json={"title": "no etag"}),
        client.delete(case_url, headers=key),
    ]
    assert [response.status_code for response in refused] == [412, 412, 412, 412, 428, 428]
    case_id = case_url.rsplit("/", 1)[-1]
    incident_entries = history(client, keys["viewer"], "incidents", incident_id)["entries"]
    case_entries = history(client, keys["viewer"], "cases", case_id)["entries"]
    assert [entry["action"] for entry in incident_entries] == ["created", "updated"]
    assert [entry["action"] for entry in case_entries] == ["created", "updated"]


def test_a_change_that_changes_nothing_writes_no_entry(client: TestClient, keys: dict[str, str]) -> None:
    key = auth(keys["contributor"])
    incident_id, tag = create_incident(client, keys["contributor"])
    same = client.patch(
        f"/api/v1/incidents/{incident_id}", headers={**key, "If-Match": tag}, json={"tags": ["shooting"]}
    )
    case_url, case_tag = create_case(client, keys["contributor"])
    client.patch(case_url, headers={**key, "If-Match": case_tag}, json={"status": "open"})
    client.delete(f"{case_url}/incidents/{incident_id}", headers=key)  # was never in it
    assert same.status_code == 200 and same.headers["etag"] == tag
    assert len(history(client, keys["viewer"], "incidents", incident_id)["entries"]) == 1
    assert len(history(client, keys["viewer"], "cases", case_url.rsplit("/", 1)[-1])["entries"]) == 1


def test_history_of_an_id_never_used_is_404(client: TestClient, keys: dict[str, str]) -> None:
    incident_id, _ = create_incident(client, keys["contributor"])
    key = auth(keys["viewer"])
    for url in (
        "/api/v1/incidents/no-such-incident/history",
        "/api/v1/cases/no-such-case/history",
        f"/api/v1/cases/{incident_id}/history",  # an incident's id names no case
    ):
        response = client.get(url, headers=key)
        assert (response.status_code, response.json()["error"]) == (404, "not_found"), url
    assert client.get(f"/api/v1/incidents/{incident_id}/history").status_code == 401


def test_a_tampered_entry_is_reported_where_the_history_is_read(
    client: TestClient, keys: dict[str, str], archive: Archive
) -> None:
    url, tag = create_case(client, keys["contributor"])
    key = auth(keys["contributor"])
    closed = client.patch(url, headers={**key, "If-Match": tag}, json={"status": "closed"})
    client.patch(url, headers={**key, "If-Match": closed.headers["etag"]}, json={"status": "open"})
    case_id = url.rsplit("/", 1)[-1]
    # Someone with database access makes it look as if another key closed the case.
    tamper(
        archive.settings.resolved_database_url(),
        f"UPDATE history_entries SET actor = 'analyst-key' WHERE entity_id = '{case_id}' AND seq = 1",
    )
    body = history(client, keys["viewer"], "cases", case_id)
    assert (body["verified"], body["first_bad_seq"]) == (False, 1)
    assert body["reason"] == "entry 1 was altered after it was recorded"


@pytest.mark.parametrize("altered", ["[]", '{"record": {"title": "Sho'])
def test_an_entry_altered_into_something_unreadable_is_reported_not_a_server_error(
    client: TestClient, keys: dict[str, str], archive: Archive, altered: str
) -> None:
    url, _tag = create_case(client, keys["contributor"])
    case_id = url.rsplit("/", 1)[-1]
    tamper(
        archive.settings.resolved_database_url(),
        f"UPDATE history_entries SET details = '{altered}' WHERE entity_id = '{case_id}' AND seq = 0",
    )
    body = history(client, keys["viewer"], "cases", case_id)
    assert (body["verified"], body["first_bad_seq"]) == (False, 0)
    assert body["entries"][0]["details"] == {"unparsed": altered}
