"""`verity incident history` and `verity case history` against a real `verity serve`: what changed,
by whom, also after a deletion, and a non-zero exit when the chain does not verify."""

from __future__ import annotations

import json
import sqlite3

import httpx
import pytest

from tests.conftest import RunningServer
from tests.helpers.investigator import Investigator

pytestmark = pytest.mark.slow  # a real server and CLI


def test_history_commands_show_each_change_and_refuse_a_broken_chain(server: RunningServer) -> None:
    verity = Investigator(server, server.admin_key)
    incident_id = verity(
        "incident", "create", "--title", "Shooting at Sadeghieh square", "--starts-at", "2019-11-16T14:00:00+03:30",
        "--precision", "hour", "--radius-m", "1000",
    ).stdout.strip()  # fmt: skip
    api = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {server.admin_key}"})
    assert api.patch(f"/api/v1/incidents/{incident_id}", headers={"If-Match": "1"}, json={"radius_m": 300}).is_success
    case_id = verity("case", "create", "--title", "Draft briefing", "--incident", incident_id).stdout.strip()
    verity("case", "remove", case_id, incident_id)
    assert api.delete(f"/api/v1/cases/{case_id}", headers={"If-Match": "3"}).status_code == 204

    shown = verity("incident", "history", incident_id).stdout
    assert "created" in shown and "radius_m: 1000.0 → 300.0" in shown
    assert "history chain verifies" in shown
    case_shown = verity("case", "history", case_id).stdout
    assert f"History of case {case_id} (deleted)" in case_shown
    for action in ("created", "incident_added", "incident_removed", "deleted"):
        assert action in case_shown
    assert f"incident {incident_id}" in case_shown
    as_json = json.loads(verity("case", "history", case_id, "--json").stdout)
    assert as_json["entries"][-1]["details"]["record"]["title"] == "Draft briefing"

    with sqlite3.connect(server.data_dir / "verity.db") as database:
        database.execute("DROP TRIGGER history_entries_no_update")
        database.execute(
            "UPDATE history_entries SET actor = 'someone-else' WHERE entity_id = ? AND seq = 0", (case_id,)
        )
    broken = verity("case", "history", case_id, ok=False)
    assert broken.returncode == 1
    assert "history chain DOES NOT VERIFY at entry 0: entry 0 was altered after it was recorded" in broken.stderr
    missing = verity("incident", "history", "no-such-incident", ok=False)
    assert missing.returncode == 1 and "404" in missing.stderr
