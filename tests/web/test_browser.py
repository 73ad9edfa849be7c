"""The workbench in a real headless Chromium over a real `verity serve`: signing in, the archive
and clip pages, seeking from a keyframe, the API reference offline, the Content-Security-Policy
holding (no violation on any page), and no serious accessibility violation (axe-core)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests import media
from tests.conftest import RunningServer, auth
from tests.helpers.browser import add_person, analysed, axe_violations, screenshot, sign_in, watched_page

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def footage(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return media.make_source(tmp_path_factory.mktemp("browser") / "VID_20191116_141502.mp4", seconds=9)


def test_an_investigator_signs_in_opens_a_clip_and_seeks_from_a_keyframe(
    browser: Browser, server: RunningServer, footage: Path
) -> None:
    clip_id = analysed(server, footage)
    add_person(server, "ana", "analyst")
    watched = watched_page(browser)
    page = watched.page
    sign_in(page, server, "ana")
    screenshot(page, "archive")
    page.get_by_role("link", name=footage.name).click()
    expect(page).to_have_url(f"{server.url}/clips/{clip_id}")
    expect(page.get_by_text("Chain verified")).to_be_visible()
    player = page.locator("#player")
    # Functions, not expression strings: Playwright evaluates a string with eval, which the policy forbids.
    page.wait_for_function("() => document.getElementById('player').readyState >= 1")
    seekers = page.locator("button.seek")
    assert seekers.count() >= 2
    target = float(seekers.nth(1).get_attribute("data-time") or "nan")
    assert target > 0
    seekers.nth(1).click()
    page.wait_for_function(f"() => Math.abs(document.getElementById('player').currentTime - {target}) < 0.05")
    assert player.evaluate("video => video.duration") == pytest.approx(9, abs=0.5)
    screenshot(page, "clip")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{server.url}/sign-in")
    page.goto(f"{server.url}/clips/{clip_id}")
    expect(page).to_have_url(f"{server.url}/sign-in?next=%2Fclips%2F{clip_id}")
    assert watched.errors == [] and watched.left_loopback == []


def test_the_api_reference_renders_offline_under_the_policy(browser: Browser, server: RunningServer) -> None:
    watched = watched_page(browser)
    watched.page.goto(f"{server.url}/docs")
    expect(watched.page.locator(".opblock").first).to_be_visible()
    assert watched.page.locator(".opblock").count() > 50
    screenshot(watched.page, "api-reference")
    assert watched.left_loopback == []
    assert [e for e in watched.errors if "Content Security Policy" in e] == []


def test_no_page_has_a_serious_accessibility_violation(
    browser: Browser, server: RunningServer, footage: Path, tmp_path: Path
) -> None:
    clip_id = analysed(server, footage)
    add_person(server, "ana", "admin")
    watched = watched_page(browser, bypass_csp=True)  # axe is injected as a script of its own
    page = watched.page
    page.goto(f"{server.url}/sign-in")
    found = {"sign-in": axe_violations(page)}
    sign_in(page, server, "ana")
    copy_id = analysed(server, media.make_copy(tmp_path / "copy.mp4", footage, "-i", "-vf", "scale=320:180"))
    pages = {
        "archive": "/",
        "clip": f"/clips/{clip_id}",
        "compare": f"/clips/{clip_id}/compare/{copy_id}",
        "upload": "/upload",
        "not found": "/clips/none",
    }
    for name, path in pages.items():
        page.goto(f"{server.url}{path}")
        found[name] = axe_violations(page)
    assert found == {name: [] for name in found}


def test_the_compare_page_locks_the_copy_at_the_matched_offset_and_an_analyst_confirms(
    browser: Browser, server: RunningServer, footage: Path, tmp_path: Path
) -> None:
    excerpt_file = media.make_copy(
        tmp_path / "repost.mp4", footage, "-ss", "3", "-t", "5", "-i", "-vf", "scale=320:180"
    )
    source = analysed(server, footage)
    excerpt = analysed(server, excerpt_file)
    add_person(server, "ana", "analyst")
    watched = watched_page(browser)
    page = watched.page
    sign_in(page, server, "ana")
    page.goto(f"{server.url}/clips/{excerpt}")
    page.get_by_role("link", name="Compare").click()
    expect(page).to_have_url(f"{server.url}/clips/{excerpt}/compare/{source}")
    page.wait_for_function("() => ['player', 'player-other'].every(id => document.getElementById(id).readyState >= 1)")
    offset = page.evaluate(
        "() => { const s = JSON.parse(document.getElementById('compare').dataset.segments)[0];"
        " return s.clip_start_s - s.query_start_s; }"
    )
    assert offset == pytest.approx(3, abs=0.6)  # the repost starts 3 s into the original
    page.evaluate("() => { document.getElementById('player').currentTime = 1.5; }")
    page.wait_for_function(
        f"() => Math.abs(document.getElementById('player-other').currentTime - (1.5 + {offset})) < 0.05"
    )
    page.get_by_label("Note (why)").fill("Same footage: the repost is cut from the original")
    page.get_by_role("button", name="Confirm: the same footage").click()
    expect(page.get_by_text("Confirmed: copies of the same footage")).to_be_visible()
    screenshot(page, "compare")
    page.goto(f"{server.url}/clips/{excerpt}")
    expect(page.locator("ol.family .first-seen")).to_have_count(1)
    assert watched.errors == [] and watched.left_loopback == []


def test_a_file_a_browser_cannot_play_plays_its_viewing_copy_labelled_so(
    browser: Browser, server: RunningServer, tmp_path: Path
) -> None:
    clip_id = analysed(server, media.make_hevc_mov(tmp_path / "phone.mov"))
    add_person(server, "ana", "analyst")
    watched = watched_page(browser)
    page = watched.page
    sign_in(page, server, "ana")
    page.goto(f"{server.url}/clips/{clip_id}")
    expect(page.locator(".label-viewing-copy")).to_contain_text("Viewing copy, not the original")
    page.wait_for_function("() => document.getElementById('player').readyState >= 2")  # it decodes
    assert page.locator("#player").evaluate("video => video.videoWidth") > 0
    screenshot(page, "clip-viewing-copy")
    assert watched.errors == [] and watched.left_loopback == []


def test_keyframes_and_marks_are_in_the_originals_time_when_its_viewing_copy_plays(
    browser: Browser, server: RunningServer, tmp_path: Path
) -> None:
    """An MPEG-TS starts at 1.4 s of its own time; its viewing copy at 0. A keyframe seeks the copy
    to the frame it shows, and a mark records the original's time, as the API's links are."""
    clip_id = analysed(server, media.make_interlaced_ts(tmp_path / "broadcast.ts"))
    incident = {"title": "Shooting", "starts_at": "2019-11-16T14:00:00Z", "time_precision": "hour"}
    assert httpx.post(f"{server.url}/api/v1/incidents", headers=auth(server.admin_key), json=incident).is_success
    add_person(server, "ana", "analyst")
    watched = watched_page(browser)
    page = watched.page
    sign_in(page, server, "ana")
    page.goto(f"{server.url}/clips/{clip_id}")
    player = page.locator("#player")
    offset = float(player.get_attribute("data-offset") or "nan")
    assert offset == pytest.approx(1.43, abs=0.01)
    page.wait_for_function("() => document.getElementById('player').readyState >= 1")
    page.evaluate("() => { document.getElementById('player').currentTime = 1.0; }")
    first = page.locator("button.seek").first
    at = float(first.get_attribute("data-time") or "nan")
    assert at == pytest.approx(offset, abs=0.05)  # keyframes are given in the original's own time
    first.click()  # the first frame: the copy's 0, not its 1.43 s
    page.wait_for_function(f"() => Math.abs(document.getElementById('player').currentTime - {at - offset}) < 0.05")
    page.evaluate("() => { document.getElementById('player').currentTime = 1.0; }")
    page.get_by_role("button", name="Mark in at the player's time").click()
    assert float(page.get_by_label("In (seconds)").input_value()) == pytest.approx(1.0 + offset, abs=0.05)
    assert watched.errors == [] and watched.left_loopback == []
