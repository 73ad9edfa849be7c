"""The investigator's journey through the workbench, in a real Chromium, on the embedded and the
scaled archive: sign in, hand in two files at once (one cut off mid-way and resumed), watch the
analysis finish, open a clip, seek from a keyframe, compare it with its copy and confirm the
match, link a segment marked on the player, review the clip to verified with a rationale, and
export the case."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Request, Route, expect

from tests import media
from tests.conftest import RunningServer
from tests.helpers.browser import add_person, case_with_incident, screenshot, sign_in, watched_page

pytestmark = pytest.mark.slow
CHUNK = 8 * 1024 * 1024


@pytest.fixture(scope="module")
def footage(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("journey")
    original = media.make_large_source(folder / "VID_20191116_141502.mp4")
    repost = media.make_copy(
        folder / "repost_telegram.mp4", original, "-ss", "2", "-t", "7", "-i", "-vf", "scale=480:270"
    )
    return {"original": original, "repost": repost}


def test_the_investigators_journey(
    browser: Browser, any_server: RunningServer, footage: dict[str, Path], tmp_path: Path
) -> None:
    server = any_server
    case, incident = case_with_incident(
        server, "November 2019, Sadeghieh", "تیراندازی در میدان صادقیه", "2019-11-16T14:00:00+03:30"
    )
    add_person(server, "mina", "analyst")
    watched = watched_page(browser)
    page = watched.page

    # Sign in, and hand in both files at once; the connection drops with the original's second chunk.
    sign_in(page, server, "mina")
    page.get_by_role("link", name="Upload").click()
    cut: list[str] = []

    def drop_once(route: Route, request: Request) -> None:
        if request.method == "PATCH" and request.headers.get("upload-offset") == str(CHUNK) and not cut:
            cut.append(request.url)
            route.abort("connectionreset")
            return
        route.fallback()

    page.route("**/api/v1/uploads/**", drop_once)
    page.get_by_label("Source", exact=True).fill("witness A, Telegram")
    page.get_by_label("Case").select_option(case["id"])
    page.locator("#u-files").set_input_files([str(footage["original"]), str(footage["repost"])])
    statuses = page.locator("#uploads td[role=status]")
    expect(statuses).to_have_count(2)
    for index in range(2):  # analysis followed live until it is done
        expect(statuses.nth(index)).to_have_attribute("data-status", "ready", timeout=180_000)
    assert cut, "the connection was never cut"
    page.unroute("**/api/v1/uploads/**")

    # Open the repost, seek from a keyframe.
    page.locator("#uploads tr", has_text="repost_telegram.mp4").get_by_role("link", name="open").click()
    expect(page.get_by_role("heading", name="repost_telegram.mp4")).to_be_visible()
    page.wait_for_function("() => document.getElementById('player').readyState >= 1")
    keyframe = page.locator("button.seek").nth(1)
    at = float(keyframe.get_attribute("data-time") or "nan")
    keyframe.click()
    page.wait_for_function(f"() => Math.abs(document.getElementById('player').currentTime - {at}) < 0.05")
    repost_url = page.url

    # Compare it with its copy (the original) and confirm the match.
    page.locator("#copies").get_by_role("link", name="Compare").click()
    page.get_by_label("Note (why)").fill("The repost is cut from the original: same frames from 0:02")
    page.get_by_role("button", name="Confirm: the same footage").click()
    expect(page.get_by_text("Confirmed: copies of the same footage")).to_be_visible()

    # Link the seconds that show it: marked on the player.
    page.goto(repost_url)
    page.wait_for_function("() => document.getElementById('player').readyState >= 1")
    page.evaluate("() => { document.getElementById('player').currentTime = 1.0; }")
    page.get_by_role("button", name="Mark in at the player's time").click()
    page.evaluate("() => { document.getElementById('player').currentTime = 4.5; }")
    page.get_by_role("button", name="Mark out at the player's time").click()
    expect(page.get_by_label("In (seconds)")).to_have_value("1.000")
    page.get_by_label("Incident", exact=True).select_option(incident["id"])
    page.get_by_label("Note", exact=True).fill("shots fired at 0:03")
    page.get_by_role("button", name="Link").click()
    expect(page.locator("#links")).to_contain_text("0:01.0–0:04.5")

    # Review it to verified, with a rationale at each step.
    for status, rationale in (
        ("in_review", "Checking the skyline"),
        ("verified", "Skyline and shadows match the square at 14:00"),
    ):
        page.get_by_label("Move to").select_option(status)
        page.get_by_label("Rationale").fill(rationale)
        page.get_by_role("button", name="Record the review").click()
    expect(page.locator("#review .review-verified")).to_be_visible()
    screenshot(
        page, f"journey-clip-{'scaled' if 'postgres' in server.env.get('VERITY_DATABASE_URL', '') else 'embedded'}"
    )
    assert watched.left_loopback == []
    assert [e for e in watched.errors if "ERR_CONNECTION_RESET" not in e and "Failed to load" not in e] == []
