"""The compare page over HTTP: a clip and its copy side by side at the matched offset, confirm or
reject by an analyst (recorded on both clips), the family on the clip page; the players' lock is
tested in Chromium (tests/web/test_browser.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from storage.archive import Archive
from tests import media
from tests.conftest import auth
from tests.helpers.api_calls import upload, wait_until_done
from tests.helpers.records import make_member, put_in_case
from tests.helpers.workbench import make_person, sign_in


@pytest.fixture(scope="module")
def footage(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("compare")
    source = media.make_source(folder / "source.mp4", seconds=9)
    excerpt = media.make_copy(folder / "excerpt.mp4", source, "-ss", "3", "-t", "5", "-i", "-vf", "scale=320:180")
    return {"source": source, "excerpt": excerpt}


def archived_pair(client: TestClient, keys: dict[str, str], footage: dict[str, Path]) -> tuple[str, str]:
    ids = []
    for path in (footage["source"], footage["excerpt"]):
        clip_id = upload(client, keys["contributor"], path.read_bytes(), name=path.name).json()["id"]
        assert wait_until_done(client, keys["viewer"], clip_id)["status"] == "ready"
        ids.append(clip_id)
    return ids[0], ids[1]


def test_an_analyst_compares_a_copy_and_confirms_it_for_both_clips(
    client: TestClient, archive: Archive, keys: dict[str, str], footage: dict[str, Path]
) -> None:
    source, excerpt = archived_pair(client, keys, footage)
    make_person(archive, "ana", "analyst")
    token = sign_in(client, "ana")
    clip_page = client.get(f"/clips/{excerpt}").text
    assert f'href="/clips/{excerpt}/compare/{source}"' in clip_page
    page = client.get(f"/clips/{excerpt}/compare/{source}").text
    segments = re.search(r'data-segments="([^"]+)"', page)
    assert segments and "query_start_s" in segments.group(1)  # the offset the players are locked at
    assert 'id="player"' in page and 'id="player-other"' in page
    assert "found by pictures" in page and "pictures matched" in clip_page  # which signal (the footage has no sound)
    assert page.count('class="matched"') == 2  # one segment, drawn on both timelines
    form = {"decision": "confirmed", "note": "Same square, same moment"}
    assert client.post(f"/clips/{excerpt}/compare/{source}/decision", data=form).status_code == 403  # no token
    answer = client.post(
        f"/clips/{excerpt}/compare/{source}/decision", data={**form, "csrf_token": token}, follow_redirects=False
    )
    assert answer.status_code == 303
    assert "Confirmed: copies of the same footage" in client.get(f"/clips/{excerpt}/compare/{source}").text
    for clip_id in (source, excerpt):
        log = client.get(f"/api/v1/clips/{clip_id}/custody", headers=auth(keys["admin"])).json()
        assert log["verified"] and [e["action"] for e in log["events"]][-1] == "match_confirmed"
    family = client.get(f"/clips/{excerpt}").text
    assert "Family (confirmed copies)" in family
    first_seen = re.search(
        r'<a href="/clips/([^"]+)" dir="auto">[^<]+</a>, received [^<]+ <strong class="first-seen">', family
    )
    assert first_seen and first_seen.group(1) == source  # the source was archived first


def test_a_rejected_copy_is_listed_apart_and_a_viewer_cannot_decide(
    client: TestClient, archive: Archive, keys: dict[str, str], footage: dict[str, Path]
) -> None:
    source, excerpt = archived_pair(client, keys, footage)
    make_person(archive, "vic", "viewer")
    vic = sign_in(client, "vic")
    assert "decision-form" not in client.get(f"/clips/{excerpt}/compare/{source}").text
    refused = client.post(
        f"/clips/{excerpt}/compare/{source}/decision", data={"decision": "rejected", "note": "x", "csrf_token": vic}
    )
    assert refused.status_code == 403
    make_person(archive, "ana", "analyst")
    token = sign_in(client, "ana")
    empty = client.post(
        f"/clips/{excerpt}/compare/{source}/decision", data={"decision": "rejected", "note": "", "csrf_token": token}
    )
    assert empty.status_code == 422 and "note" in empty.text
    client.post(
        f"/clips/{excerpt}/compare/{source}/decision",
        data={"decision": "rejected", "note": "Different day", "csrf_token": token},
    )
    page = client.get(f"/clips/{excerpt}").text
    assert "Rejected as not the same footage" in page and "No other copy of this footage" in page
    assert client.get(f"/clips/{excerpt}/compare/not-a-clip").status_code == 404


def test_a_copy_the_visitor_may_not_see_is_neither_listed_nor_comparable(
    client: TestClient, archive: Archive, keys: dict[str, str], footage: dict[str, Path]
) -> None:
    source, excerpt = archived_pair(client, keys, footage)
    case_id, _ = put_in_case(archive, [excerpt], "Case of the repost")
    make_member(archive, case_id, "guest", "analyst")
    sign_in(client, "guest")
    page = client.get(f"/clips/{excerpt}").text
    assert source not in page and "No other copy of this footage that you can see" in page
    # Nor does the custody log name it: the matcher's `near_duplicates_found` leaves it out.
    log = client.get(f"/api/v1/clips/{excerpt}/custody").json()
    assert source not in str(log) and log["verified"] is True
    [found] = [e for e in log["events"] if e["action"] == "near_duplicates_found"]
    assert found["details"]["clips"] == "redacted"
    assert client.get(f"/clips/{excerpt}/compare/{source}").status_code == 404
    assert client.get(f"/clips/{source}/compare/{excerpt}").status_code == 404
    token = sign_in(client, "guest")
    decided = client.post(
        f"/clips/{excerpt}/compare/{source}/decision",
        data={"decision": "rejected", "note": "guessing", "csrf_token": token},
    )
    assert decided.status_code == 404
