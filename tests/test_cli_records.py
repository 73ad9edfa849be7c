"""`verity incident update`, `verity case close|reopen`, paging of the list commands and `--json`
on the show commands, against a real `verity serve`."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import RunningServer
from tests.helpers.investigator import Investigator

STARTS = "2019-11-16T14:00:00+03:30"


@pytest.fixture
def verity(server: RunningServer) -> Investigator:
    return Investigator(server, server.admin_key)


@pytest.fixture
def api(server: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {server.admin_key}"}) as client:
        yield client


def new_incident(verity: Investigator, title: str, *extra: str) -> str:
    return verity("incident", "create", "--title", title, "--starts-at", STARTS, *extra).stdout.strip()


def test_incident_update_changes_only_the_fields_given(verity: Investigator, api: httpx.Client) -> None:
    incident_id = new_incident(verity, "Shooting", "--place", "Sadeghieh square", "--tag", "shooting")
    updated = verity(
        "incident", "update", incident_id, "--if-match", "1", "--title", "Shooting at Sadeghieh square",
        "--lat", "35.7219", "--lon", "51.3347", "--radius-m", "300",
    ).stdout  # fmt: skip
    assert f"incident {incident_id} is now version 2" in updated
    record = api.get(f"/api/v1/incidents/{incident_id}").json()
    assert (record["title"], record["lat"], record["lon"], record["radius_m"]) == (
        "Shooting at Sadeghieh square",
        35.7219,
        51.3347,
        300.0,
    )
    assert (record["place_name"], record["tags"], record["version"]) == ("Sadeghieh square", ["shooting"], 2)


def test_incident_update_can_clear_a_field(verity: Investigator, api: httpx.Client) -> None:
    incident_id = new_incident(verity, "March", "--place", "Azadi street", "--tag", "protest")
    verity("incident", "update", incident_id, "--if-match", "1", "--clear", "place", "--clear", "tags")
    record = api.get(f"/api/v1/incidents/{incident_id}").json()
    assert (record["place_name"], record["tags"]) == (None, [])


def test_incident_update_with_a_stale_version_changes_nothing(verity: Investigator, api: httpx.Client) -> None:
    incident_id = new_incident(verity, "Shooting")
    verity("incident", "update", incident_id, "--if-match", "1", "--description", "first edit")
    stale = verity("incident", "update", incident_id, "--if-match", "1", "--title", "Overwritten", ok=False)
    assert stale.returncode == 1 and "412" in stale.stderr
    assert api.get(f"/api/v1/incidents/{incident_id}").json()["title"] == "Shooting"


def test_incident_update_with_nothing_to_change_is_refused(verity: Investigator) -> None:
    incident_id = new_incident(verity, "Shooting")
    refused = verity("incident", "update", incident_id, "--if-match", "1", ok=False)
    assert refused.returncode == 1 and "nothing to change" in refused.stderr


def test_incident_create_with_case_puts_it_into_the_case(verity: Investigator, api: httpx.Client) -> None:
    case_id = verity("case", "create", "--title", "Report").stdout.strip()
    incident_id = new_incident(verity, "Shooting", "--case", case_id)
    assert api.get(f"/api/v1/cases/{case_id}").json()["incident_ids"] == [incident_id]


def test_case_close_then_reopen_records_both(verity: Investigator, api: httpx.Client) -> None:
    case_id = verity("case", "create", "--title", "Submission").stdout.strip()
    assert f"case {case_id} is closed (version 2)" in verity("case", "close", case_id, "--if-match", "1").stdout
    assert api.get(f"/api/v1/cases/{case_id}").json()["status"] == "closed"
    assert f"case {case_id} is open (version 3)" in verity("case", "reopen", case_id, "--if-match", "2").stdout
    actions = [entry["action"] for entry in api.get(f"/api/v1/cases/{case_id}/history").json()["entries"]]
    assert actions[-2:] == ["closed", "reopened"]


def test_case_close_needs_the_version_read(verity: Investigator, api: httpx.Client) -> None:
    case_id = verity("case", "create", "--title", "Submission").stdout.strip()
    assert verity("case", "close", case_id, ok=False).returncode == 2
    stale = verity("case", "close", case_id, "--if-match", "7", ok=False)
    assert stale.returncode == 1 and "412" in stale.stderr
    assert api.get(f"/api/v1/cases/{case_id}").json()["status"] == "open"


def test_list_commands_page_with_limit_and_offset(verity: Investigator) -> None:
    made = [new_incident(verity, f"Incident {index}") for index in range(3)]
    first = json.loads(verity("incident", "list", "--limit", "2", "--json").stdout)
    rest = json.loads(verity("incident", "list", "--limit", "2", "--offset", "2", "--json").stdout)
    assert (first["total"], len(first["items"]), len(rest["items"])) == (3, 2, 1)
    assert sorted(item["id"] for item in first["items"] + rest["items"]) == sorted(made)


def test_a_partial_page_says_how_to_see_the_rest(verity: Investigator) -> None:
    for index in range(3):
        verity("case", "create", "--title", f"Case {index}")
    shown = verity("case", "list", "--limit", "2")
    assert "showing 1–2 of 3; --offset 2 for the next page, --all for every one" in shown.stderr


def test_list_all_follows_every_page(verity: Investigator) -> None:
    made = [new_incident(verity, f"Incident {index}") for index in range(5)]
    every = json.loads(verity("incident", "list", "--all", "--limit", "2", "--json").stdout)
    assert sorted(item["id"] for item in every["items"]) == sorted(made) and every["total"] == 5
    table = verity("incident", "list", "--all", "--limit", "2").stdout
    assert all(incident_id in table for incident_id in made), table


def test_show_commands_print_json(verity: Investigator, api: httpx.Client) -> None:
    incident_id = new_incident(verity, "Shooting")
    case_id = verity("case", "create", "--title", "Submission", "--incident", incident_id).stdout.strip()
    incident = json.loads(verity("incident", "show", incident_id, "--json").stdout)
    assert incident == {**api.get(f"/api/v1/incidents/{incident_id}").json(), "links": []}
    case = json.loads(verity("case", "show", case_id, "--json").stdout)
    assert case == api.get(f"/api/v1/cases/{case_id}").json()


def test_created_records_print_json(verity: Investigator, api: httpx.Client) -> None:
    incident = json.loads(verity("incident", "create", "--title", "T", "--starts-at", STARTS, "--json").stdout)
    assert incident == api.get(f"/api/v1/incidents/{incident['id']}").json()
    case = json.loads(verity("case", "create", "--title", "C", "--incident", incident["id"], "--json").stdout)
    assert case == api.get(f"/api/v1/cases/{case['id']}").json()
    assert case["incident_ids"] == [incident["id"]]


def test_case_add_and_remove_print_the_case_as_json(verity: Investigator, api: httpx.Client) -> None:
    incident_id = new_incident(verity, "Shooting")
    case_id = verity("case", "create", "--title", "Submission").stdout.strip()
    added = json.loads(verity("case", "add", case_id, incident_id, "--json").stdout)
    assert added["incident_ids"] == [incident_id] and added["version"] == 2
    removed = json.loads(verity("case", "remove", case_id, incident_id, "--json").stdout)
    assert removed == api.get(f"/api/v1/cases/{case_id}").json() and removed["incident_ids"] == []
