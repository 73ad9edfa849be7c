"""The incident and case pages in a real headless Chromium over a real `verity serve`: an
investigator records an incident, edits it while someone else does through the API, sees the
stale edit and redoes it; opens a case, files the incident (its timeline) and exports the case,
watching the progress until the download link. No Content-Security-Policy violation on the way;
axe-core finds no serious violation on any of the new pages."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import RunningServer, auth
from tests.helpers.browser import add_person, axe_violations, screenshot, sign_in, watched_page

pytestmark = pytest.mark.slow
SLOW_MS = 60_000  # an export job, or a page of a loaded machine
STALE_ANSWER = "Failed to load resource: the server responded with a status of 412 (Precondition Failed)"


def record_incident(page: Page, server: RunningServer, title: str) -> str:
    page.goto(f"{server.url}/incidents")
    page.locator("#new-title").fill(title)
    page.locator("#new-starts").fill("2019-11-16T14:00:00+03:30")
    page.locator("#new-place").fill("میدان صادقیه")
    page.locator("#new-tags").fill("shooting")
    page.get_by_role("button", name="Record the incident").click()
    expect(page).to_have_url(re.compile(rf"{re.escape(server.url)}/incidents/[0-9a-f-]+$"))
    return page.url.rsplit("/", 1)[1]


def edit_meanwhile(server: RunningServer, incident_id: str, title: str) -> None:
    """Someone else's edit through the API, over the version the page was read at."""
    answer = httpx.patch(
        f"{server.url}/api/v1/incidents/{incident_id}",
        headers={**auth(server.admin_key), "If-Match": '"1"'},
        json={"title": title},
    )
    assert answer.status_code == 200, answer.text


def test_an_investigator_redoes_a_stale_edit_and_exports_the_case(browser: Browser, server: RunningServer) -> None:
    add_person(server, "ana", "analyst")
    watched = watched_page(browser)
    page = watched.page
    sign_in(page, server, "ana")
    incident_id = record_incident(page, server, "Shooting at the square")
    expect(page.get_by_text("2019-11-16 10:30:00 UTC").first).to_be_visible()
    screenshot(page, "incident")
    page.locator("#edit-description").fill("Seen from the north side")
    edit_meanwhile(server, incident_id, "Renamed at the desk")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Someone changed this incident after you read it")).to_be_visible()
    expect(page.locator("tr.changed")).to_have_count(1)
    expect(page.locator("tr.changed")).to_contain_text("Renamed at the desk")
    expect(page.locator("#edit-description")).to_have_value("Seen from the north side")
    expect(page.locator("#edit-title")).to_have_value("Renamed at the desk")  # the other's, kept
    screenshot(page, "incident-stale")
    page.get_by_role("button", name="Save").click()  # redo, over the new version
    expect(page).to_have_url(f"{server.url}/incidents/{incident_id}")
    expect(page.locator("h1")).to_have_text("Renamed at the desk")  # redoing did not undo the other's title
    stored = httpx.get(f"{server.url}/api/v1/incidents/{incident_id}", headers=auth(server.admin_key)).json()
    assert (stored["version"], stored["description"]) == (3, "Seen from the north side")

    page.goto(f"{server.url}/cases")
    page.locator("#new-title").fill("Aban 1398")
    page.get_by_role("button", name="Open the case").click()
    expect(page.locator("h1")).to_have_text("Aban 1398")
    page.get_by_label("Add an incident").select_option(incident_id)
    page.get_by_role("button", name="Add to the case").click()
    expect(page.locator("svg rect.timeline-bar")).to_have_count(1)
    expect(page.locator("figure.timeline")).to_contain_text("2019-11-16 10:30:00 UTC")
    page.get_by_role("button", name="Export the case").click()
    expect(page.locator("progress")).to_be_attached()
    download = page.get_by_role("link", name=re.compile("Download the export"))
    expect(download).to_be_visible(timeout=SLOW_MS)
    href = download.get_attribute("href") or ""
    assert re.fullmatch(r"/api/v1/exports/[0-9a-f-]+/download", href), href
    bag = page.request.get(f"{server.url}{href}")  # the cookie reaches it
    assert bag.status == 200 and bag.body()[:2] == b"PK"
    screenshot(page, "case")
    # The one console error is the stale edit's answer itself, 412 as the API's (no CSP violation).
    assert watched.errors == [STALE_ANSWER] and watched.left_loopback == []


def test_no_incident_or_case_page_has_a_serious_accessibility_violation(
    browser: Browser, server: RunningServer
) -> None:
    add_person(server, "ana", "analyst")
    watched = watched_page(browser, bypass_csp=True)  # axe is injected as a script of its own
    page = watched.page
    sign_in(page, server, "ana")
    incident_id = record_incident(page, server, "تیراندازی در میدان")
    found = {"incident": axe_violations(page)}
    edit_meanwhile(server, incident_id, "Renamed at the desk")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Someone changed this incident after you read it")).to_be_visible()
    found["incident, stale"] = axe_violations(page)
    page.goto(f"{server.url}/cases")
    page.locator("#new-title").fill("پرونده آبان")
    page.get_by_role("button", name="Open the case").click()
    page.get_by_label("Add an incident").select_option(incident_id)
    page.get_by_role("button", name="Add to the case").click()
    page.get_by_role("button", name="Export the case").click()
    expect(page.get_by_role("link", name=re.compile("Download the export"))).to_be_visible(timeout=SLOW_MS)
    found["case"] = axe_violations(page)
    for name, path in {
        "incidents": "/incidents",
        "cases": "/cases",
        "deletion": f"/incidents/{incident_id}/delete",
    }.items():
        page.goto(f"{server.url}{path}")
        found[name] = axe_violations(page)
    assert found == {name: [] for name in found}
