"""What the workbench refuses, in a real Chromium: a page of another origin that makes a signed-in
browser post a review or fetch an original (its cookie goes along: another port of 127.0.0.1 is
the same *site*, so only the origin checks and the CSRF token stop it), and a guest of one case who
looks for the rest of the archive."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests import media
from tests.conftest import VERITY, RunningServer, auth
from tests.helpers.browser import add_person, analysed, case_with_incident, sign_in, watched_page
from tests.helpers.ports import free_port
from tests.helpers.workbench import PASSWORD

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def footage(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("guard")
    return {
        "inside": media.make_h264_aac(folder / "inside.mp4", seconds=2),
        "outside": media.make_unrelated(folder / "outside.mp4", "cellauto=size=160x90:rate=30:rule=30:seed=5", 2),
    }


@contextmanager
def attacker_site(html: str) -> Iterator[str]:
    """Another origin on loopback serving one page."""

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
            body = html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def analyst_with_a_clip(browser: Browser, server: RunningServer, footage: Path) -> tuple[str, Page]:
    """An analysed clip of `footage`, and a page signed in as ana, an analyst."""
    clip_id = analysed(server, footage)
    add_person(server, "ana", "analyst")
    page = watched_page(browser).page
    sign_in(page, server, "ana")
    return clip_id, page


def test_a_page_of_another_origin_cannot_make_a_signed_in_browser_change_anything(
    browser: Browser, server: RunningServer, footage: dict[str, Path]
) -> None:
    clip_id, page = analyst_with_a_clip(browser, server, footage["inside"])
    forged = f"""<!doctype html><title>Cute cats</title>
      <form method="post" action="{server.url}/clips/{clip_id}/review">
        <input name="status" value="in_review"><input name="rationale" value="forged">
        <button>See the cats</button></form>
      <form method="post" action="{server.url}/sign-out"><button>Win a prize</button></form>"""
    with attacker_site(forged) as elsewhere:
        page.goto(elsewhere)
        # Refused for where it comes from (Sec-Fetch-Site: same-site), before its missing token counts.
        page.get_by_role("button", name="See the cats").click()
        expect(page.get_by_role("alert")).to_contain_text("did not come from this server's own pages")
        page.goto(elsewhere)
        page.get_by_role("button", name="Win a prize").click()
        expect(page.get_by_role("alert")).to_contain_text("did not come from this server's own pages")
    clip = httpx.get(f"{server.url}/api/v1/clips/{clip_id}", headers=auth(server.admin_key)).json()
    assert clip["verification_status"] == "unverified"
    page.goto(f"{server.url}/")  # still signed in: the forged sign-out did nothing either
    expect(page).to_have_url(f"{server.url}/")


def test_an_image_on_a_page_of_another_origin_downloads_no_original_under_the_visitors_name(
    browser: Browser, server: RunningServer, footage: dict[str, Path]
) -> None:
    clip_id, page = analyst_with_a_clip(browser, server, footage["inside"])
    original = f"{server.url}/api/v1/clips/{clip_id}/original"
    forged = f"""<!doctype html><title>Cute cats</title><img id="cat" alt="cat" src="{original}">"""
    with attacker_site(forged) as elsewhere, page.expect_request(original) as asked:
        page.goto(elsewhere)
        page.wait_for_function("document.getElementById('cat').complete")
    # The cookie went along (Sec-Fetch-Site, added below what Playwright shows, is what refuses it).
    assert "verity_session=" in asked.value.all_headers()["cookie"]
    custody = httpx.get(f"{server.url}/api/v1/clips/{clip_id}/custody", headers=auth(server.admin_key)).json()
    assert [event["action"] for event in custody["events"]].count("downloaded") == 0
    # The same browser, from the workbench's own page, still fetches it as the visitor.
    page.goto(f"{server.url}/")
    fetched = page.evaluate("async url => (await fetch(url)).status", original)
    assert fetched == 200
    custody = httpx.get(f"{server.url}/api/v1/clips/{clip_id}/custody", headers=auth(server.admin_key)).json()
    assert [event["action"] for event in custody["events"]].count("downloaded") == 1


def test_a_guest_of_one_case_sees_that_case_only(
    browser: Browser, server: RunningServer, footage: dict[str, Path]
) -> None:
    inside = analysed(server, footage["inside"])
    outside = analysed(server, footage["outside"])
    headers = auth(server.admin_key)
    case, incident = case_with_incident(server, "Case of the square", "Shooting")
    linked = httpx.post(
        f"{server.url}/api/v1/incidents/{incident['id']}/clips", headers=headers, json={"clip_id": inside}
    )
    assert linked.status_code == 201, linked.text
    made = subprocess.run(
        [VERITY, "users", "create", "guest", "--role", "none", "--password-stdin"],
        env=server.env,
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr
    shared = subprocess.run(
        [VERITY, "case", "share", case["id"], "guest", "--role", "viewer"],
        env={**server.env, "VERITY_SERVER": server.url, "VERITY_API_KEY": server.admin_key},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shared.returncode == 0, shared.stdout + shared.stderr
    watched = watched_page(browser)
    page = watched.page
    sign_in(page, server, "guest")
    rows = page.locator("table.clips tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(inside)
    page.goto(f"{server.url}/clips/{outside}")
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    page.goto(f"{server.url}/clips/{inside}")
    expect(page.get_by_text("needs the download permission")).to_be_visible()
    assert page.locator("video").count() == 0
    assert watched.left_loopback == []
