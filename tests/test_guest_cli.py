"""Issue 11's "done when", through the CLI against a real `verity serve`: a lawyer let into one
case for a month, with a key narrowed to it, sees that case and nothing else with every `verity`
command that reads, with sources redacted and no copy or export unless granted."""

from __future__ import annotations

import json
import os
from typing import Any

import httpx
import pytest

from tests.conftest import RunningServer
from tests.helpers.api_calls import INCIDENT
from tests.helpers.investigator import Investigator

pytestmark = pytest.mark.slow  # a real server and some twenty `verity` processes

UNTIL = "2099-03-31T23:59:59+00:00"
SOURCE = "a nurse at the hospital"


def made(response: httpx.Response) -> Any:
    assert response.status_code in (200, 201), response.text
    return response.json()


@pytest.fixture
def world(server: RunningServer) -> dict[str, Any]:
    """Cases A and B, each with an incident and a clip handed into it; a clip in no case; and a
    key of a lawyer who is a viewer of case A until 2099."""
    ids: dict[str, Any] = {}
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {server.admin_key}"}) as api:
        for name in ("a", "b"):
            ids[f"case_{name}"] = made(api.post("/api/v1/cases", json={"title": f"Case {name.upper()}"}))["id"]
            incident = {**INCIDENT, "title": f"Incident {name.upper()}", "case_id": ids[f"case_{name}"]}
            ids[f"incident_{name}"] = made(api.post("/api/v1/incidents", json=incident))["id"]
            files = {"file": (f"VID_{name}.mp4", os.urandom(30_000), "video/mp4")}
            form = {"case_id": ids[f"case_{name}"], "source": SOURCE}
            ids[f"clip_{name}"] = made(api.post("/api/v1/clips", files=files, data=form))["id"]
        files = {"file": ("VID_none.mp4", os.urandom(30_000), "video/mp4")}
        ids["clip_none"] = made(api.post("/api/v1/clips", files=files))["id"]
    owner = Investigator(server, server.admin_key)
    owner("users", "create", "lawyer", "--no-password")
    owner("case", "share", ids["case_a"], "lawyer", "--role", "viewer", "--until", UNTIL)
    created = owner(
        "keys", "create", "--name", "lawyer-laptop", "--role", "viewer", "--person", "lawyer",
        "--case", ids["case_a"], "--expires", UNTIL, "--json",
    ).stdout  # fmt: skip
    ids["key"] = json.loads(created)["key"]
    return ids


def test_a_lawyer_with_one_case_sees_that_case_and_nothing_else(server: RunningServer, world: dict[str, Any]) -> None:
    lawyer = Investigator(server, world["key"])
    clips = json.loads(lawyer("clip", "list", "--json").stdout)
    assert ([clip["id"] for clip in clips["items"]], clips["total"]) == ([world["clip_a"]], 1)
    cases = json.loads(lawyer("case", "list", "--json").stdout)
    assert ([case["id"] for case in cases["items"]], cases["total"]) == ([world["case_a"]], 1)
    incidents = json.loads(lawyer("incident", "list", "--json").stdout)
    assert [incident["id"] for incident in incidents["items"]] == [world["incident_a"]]
    shown = json.loads(lawyer("clip", "show", world["clip_a"], "--json").stdout)
    assert [(a["source"], a["received_by"]) for a in shown["acquisitions"]] == [("redacted", "redacted")]
    assert SOURCE not in lawyer("clip", "custody", world["clip_a"]).stdout
    for hidden in ("clip_b", "clip_none"):
        refused = lawyer("clip", "show", world[hidden], ok=False)
        assert refused.returncode == 1 and f"no clip with id {world[hidden]}" in refused.stderr
    refused = lawyer("case", "show", world["case_b"], ok=False)
    assert refused.returncode == 1 and "no case with id" in refused.stderr
    refused = lawyer("incident", "show", world["incident_b"], ok=False)
    assert refused.returncode == 1 and "no incident with id" in refused.stderr
    assert json.loads(lawyer("clip", "list", "--source", "nurse", "--json").stdout)["total"] == 0


def test_the_lawyer_takes_no_copy_and_no_export_until_granted(
    server: RunningServer, world: dict[str, Any], tmp_path: Any
) -> None:
    lawyer = Investigator(server, world["key"])
    copy = tmp_path / "copy.mp4"
    refused = lawyer("clip", "download", world["clip_a"], "--output", str(copy), ok=False)
    assert refused.returncode == 1 and "download" in refused.stderr and not copy.exists()
    refused = lawyer("export", "--case", world["case_a"], "-o", str(tmp_path / "case.zip"), ok=False)
    assert refused.returncode == 1 and "export" in refused.stderr
    owner = Investigator(server, server.admin_key)
    owner("case", "share", world["case_a"], "lawyer", "--role", "viewer", "--permission", "download", "--until", UNTIL)
    lawyer("clip", "download", world["clip_a"], "--output", str(copy))
    assert copy.stat().st_size == 30_000
    owner("case", "unshare", world["case_a"], "lawyer")
    refused = lawyer("clip", "list", ok=False)
    assert refused.returncode == 1 and "role" in refused.stderr
