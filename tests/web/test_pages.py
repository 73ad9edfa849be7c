"""What the workbench's pages show, to whom, and under which headers (over HTTP; the browser
tests look at the same pages in Chromium)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.web.pages import CUSTODY_PAGE
from storage.archive import Archive
from storage.custody import append_event
from tests import media
from tests.conftest import auth
from tests.helpers.api_calls import create_incident, upload, wait_until_done
from tests.helpers.chains import tamper_table
from tests.helpers.records import make_member, put_in_case
from tests.helpers.workbench import make_person, sign_in


@pytest.fixture(scope="module")
def clip_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return media.make_h264_aac(tmp_path_factory.mktemp("web") / "clip.mp4", seconds=3)


@pytest.fixture(scope="module")
def other_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("web-other")
    return media.make_unrelated(folder / "other.mp4", "cellauto=size=160x90:rate=30:rule=30:seed=5,scale=320:180", 3)


class Inline(HTMLParser):
    """What a strict Content-Security-Policy would refuse: inline script, handlers, style attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name for name, _ in attrs}
        if tag == "script" and "src" not in names:
            self._in_script = True
        if tag == "style":
            self.found.append("<style> element")
        self.found += [f"{tag} {name}=" for name in names if name.startswith("on") or name == "style"]

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.found.append(f"inline script: {data[:60]}")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False


def inline_parts(html: str) -> list[str]:
    parser = Inline()
    parser.feed(html)
    return parser.found


def test_the_archive_lists_clips_with_their_status_and_the_clip_page_shows_the_record(
    client: TestClient, archive: Archive, keys: dict[str, str], clip_file: Path
) -> None:
    name = "ویدیو میدان صادقیه.mp4"
    clip_id = upload(client, keys["contributor"], clip_file.read_bytes(), name=name, source="شاهد الف").json()["id"]
    wait_until_done(client, keys["viewer"], clip_id)
    make_person(archive, "ana", "admin")
    sign_in(client, "ana")
    listing = client.get("/")
    assert listing.status_code == 200
    assert f'<a href="/clips/{clip_id}" dir="auto">{name}</a>' in listing.text
    assert "status-ready" in listing.text and "Clips 1–1 of 1" in listing.text
    shown = client.get(f"/clips/{clip_id}")
    assert shown.status_code == 200
    page = shown.text
    assert f'<code class="id">{clip_id}</code>' in page
    assert 'dir="auto">شاهد الف' in page  # the admin reads sources; as typed, right to left
    assert "Chain verified" in page and "uploaded" in page
    assert re.search(r'<img loading="lazy" src="/api/v1/clips/[^"]+/keyframes/0"', page)  # fetched when scrolled to
    assert f'src="/api/v1/clips/{clip_id}/playback"' in page and "The original file, as received" in page
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", page)  # times in UTC, saying so
    # the keyframe image and the player's bytes come with the cookie alone
    assert client.get(f"/api/v1/clips/{clip_id}/keyframes/0").headers["content-type"] == "image/jpeg"
    played = client.get(f"/api/v1/clips/{clip_id}/playback", headers={"Range": "bytes=0-99"})
    assert played.status_code == 206 and played.headers["content-disposition"].startswith("inline")


def test_playback_is_one_custody_event_per_person_whatever_range_it_starts_with(
    client: TestClient, keys: dict[str, str], clip_file: Path
) -> None:
    """A player asks for many ranges; a person's playback is recorded once (in 10 minutes), and
    not only when it asks from byte 0: `bytes=1-` would take every byte but the first unrecorded."""
    clip_id = upload(client, keys["contributor"], clip_file.read_bytes()).json()["id"]
    wait_until_done(client, keys["viewer"], clip_id)
    for key, asked in (
        ("viewer", "bytes=1-"),
        ("viewer", "bytes=0-"),
        ("viewer", "bytes=2000-"),
        ("analyst", "bytes=5-"),
    ):
        answer = client.get(f"/api/v1/clips/{clip_id}/playback", headers={**auth(keys[key]), "Range": asked})
        assert answer.status_code == 206 and answer.headers["content-type"] == "video/mp4"
    events = client.get(f"/api/v1/clips/{clip_id}/custody", headers=auth(keys["admin"])).json()["events"]
    played = [(e["actor"], e["details"]) for e in events if e["action"] == "downloaded"]
    size = clip_file.stat().st_size
    assert played == [
        ("viewer-key", {"range": f"bytes=1-{size - 1}", "bytes": size - 1, "playback": True}),
        ("analyst-key", {"range": f"bytes=5-{size - 1}", "bytes": size - 5, "playback": True}),
    ]


def test_a_file_handed_in_as_a_web_page_never_runs_on_verity(
    client: TestClient, keys: dict[str, str], tmp_path: Path
) -> None:
    """Stored XSS: bytes declared text/html (or script) must not be served as such inline."""
    page = b"<!doctype html><script>document.title = 'owned'</script>"
    clip_id = client.post(
        "/api/v1/clips",
        headers=auth(keys["contributor"]),
        files={"file": ("a.html", page, "text/html")},
    ).json()["id"]
    wait_until_done(client, keys["viewer"], clip_id)
    played = client.get(f"/api/v1/clips/{clip_id}/playback", headers=auth(keys["viewer"]))
    assert played.status_code == 404 and "viewing copy" in played.json()["detail"]
    original = client.get(f"/api/v1/clips/{clip_id}/original", headers=auth(keys["viewer"]))
    assert original.status_code == 200 and original.headers["content-disposition"].startswith("attachment")
    assert original.headers["content-security-policy"].startswith("sandbox")  # even opened, nothing runs
    for path in (f"/api/v1/clips/{clip_id}", f"/api/v1/clips/{clip_id}/custody"):
        assert "sandbox" in client.get(path, headers=auth(keys["viewer"])).headers["content-security-policy"]


def test_a_long_custody_log_is_shown_a_page_at_a_time_and_checked_whole(
    client: TestClient, archive: Archive, keys: dict[str, str]
) -> None:
    clip_id = upload(client, keys["contributor"], b"not a video, but evidence all the same").json()["id"]
    wait_until_done(client, keys["viewer"], clip_id)
    with archive.sessions.begin() as session:
        for number in range(CUSTODY_PAGE + 20):
            append_event(session, clip_id, "downloaded", "viewer-key", {"range": None, "bytes": number})
    total = len(client.get(f"/api/v1/clips/{clip_id}/custody", headers=auth(keys["viewer"])).json()["events"])
    make_person(archive, "ana", "analyst")
    sign_in(client, "ana")
    first = client.get(f"/clips/{clip_id}").text
    assert first.count('<code class="details"') == CUSTODY_PAGE
    assert f"Events 1–{CUSTODY_PAGE} of {total}" in first and "Chain verified" in first
    assert f'href="/clips/{clip_id}?custody_from={CUSTODY_PAGE}#h-custody">Later events' in first
    rest = client.get(f"/clips/{clip_id}?custody_from={CUSTODY_PAGE}").text
    assert rest.count('<code class="details"') == total - CUSTODY_PAGE
    assert f"Events {CUSTODY_PAGE + 1}–{total} of {total}" in rest and "Later events" not in rest
    assert f'href="/clips/{clip_id}?custody_from=0#h-custody">← Earlier events' in rest
    # The check is of the whole chain, whichever stretch is shown: one altered event breaks both pages.
    altered = "UPDATE custody_events SET actor = 'someone else' WHERE clip_id = :clip AND seq = :seq"
    tamper_table(archive.settings.resolved_database_url(), altered, params={"clip": clip_id, "seq": total - 1})
    assert "Chain broken" in client.get(f"/clips/{clip_id}").text


def test_a_search_form_with_blank_fields_means_any_and_a_bad_value_is_said(
    client: TestClient, archive: Archive, keys: dict[str, str], clip_file: Path
) -> None:
    upload(client, keys["contributor"], clip_file.read_bytes())
    make_person(archive, "ana", "analyst")
    sign_in(client, "ana")
    blank = client.get("/?status=&source=&has_near_duplicates=&recorded_from=&order=received")
    assert blank.status_code == 200 and "Clips 1–1 of 1" in blank.text
    assert "No clips match." in client.get("/?source=nobody").text
    bad = client.get("/?recorded_from=yesterday")
    assert bad.status_code == 422 and "recorded_from" in bad.text and "<html" in bad.text
    unknown = client.get("/clips/no-such-clip")
    assert unknown.status_code == 404 and "no clip with id no-such-clip" in unknown.text


def test_a_guest_of_one_case_sees_only_its_clips_and_no_player_without_download(
    client: TestClient, archive: Archive, keys: dict[str, str], clip_file: Path, other_file: Path
) -> None:
    inside = upload(client, keys["contributor"], clip_file.read_bytes(), name="inside.mp4").json()["id"]
    outside = upload(client, keys["contributor"], other_file.read_bytes(), name="outside.mp4").json()["id"]
    wait_until_done(client, keys["viewer"], inside)
    case_id, _ = put_in_case(archive, [inside], "Case of the square")
    make_member(archive, case_id, "guest", "viewer")
    sign_in(client, "guest")
    listing = client.get("/").text
    assert inside in listing and outside not in listing and "Clips 1–1 of 1" in listing
    assert client.get(f"/clips/{outside}").status_code == 404  # as if it did not exist
    assert client.get(f"/api/v1/clips/{outside}/keyframes/0").status_code == 404
    page = client.get(f"/clips/{inside}").text
    assert "needs the download permission" in page and "<video" not in page
    assert client.get(f"/api/v1/clips/{inside}/playback").status_code == 403


def test_every_answer_has_a_strict_csp_and_no_page_carries_inline_script_or_style(
    client: TestClient, archive: Archive, keys: dict[str, str], clip_file: Path
) -> None:
    clip_id = upload(client, keys["contributor"], clip_file.read_bytes()).json()["id"]
    wait_until_done(client, keys["viewer"], clip_id)
    pages = {"/sign-in": client.get("/sign-in")}
    make_person(archive, "ana", "analyst")
    sign_in(client, "ana")
    for path in ("/", f"/clips/{clip_id}", f"/clips/{clip_id}/row", "/clips/missing", "/docs"):
        pages[path] = client.get(path)
    api_policy = client.get("/api/v1/clips").headers["content-security-policy"]
    assert api_policy.startswith("sandbox;") and "default-src 'none'" in api_policy
    for path, answer in pages.items():
        policy = answer.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe" not in policy and "frame-ancestors 'none'" in policy, path
        assert answer.headers["x-content-type-options"] == "nosniff", path
        if answer.headers["content-type"].startswith("text/html"):
            assert inline_parts(answer.text) == [], path


def test_the_api_reference_is_served_from_the_project_not_a_cdn(client: TestClient) -> None:
    page = client.get("/docs").text
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert assets and all(asset.startswith("/static/") for asset in assets), assets
    for asset in assets:
        assert client.get(asset).status_code == 200, asset
    assert client.get("/redoc").status_code == 404  # it loaded from a CDN: gone


def test_the_app_builds_with_its_templates_and_assets_installed(archive: Archive) -> None:
    """The package data ships the templates and the vendored scripts (a wheel without them would
    serve 404s and a 500 on every page)."""
    with TestClient(create_app(archive=archive)) as client:
        for asset in ("/static/vendor/htmx.min.js", "/static/vendor/tus.min.js", "/static/app.js", "/static/app.css"):
            assert client.get(asset).status_code == 200, asset


def test_the_link_form_links_the_marked_seconds_to_an_incident(
    client: TestClient, archive: Archive, keys: dict[str, str], clip_file: Path
) -> None:
    clip_id = upload(client, keys["contributor"], clip_file.read_bytes()).json()["id"]
    wait_until_done(client, keys["viewer"], clip_id)
    incident_id, _ = create_incident(client, keys["analyst"])
    make_person(archive, "vic", "viewer")
    make_person(archive, "cora", "contributor")
    sign_in(client, "vic")
    assert 'action="/clips/' not in client.get(f"/clips/{clip_id}").text  # a viewer links nothing
    token = sign_in(client, "cora")
    page = client.get(f"/clips/{clip_id}").text
    assert f'<option value="{incident_id}" dir="auto">Shooting at the square' in page
    form = {"incident_id": incident_id, "start_s": "0.5", "end_s": "2.25", "note": "شلیک"}
    assert client.post(f"/clips/{clip_id}/links", data=form, follow_redirects=False).status_code == 403
    bad = client.post(f"/clips/{clip_id}/links", data={**form, "start_s": "soon", "csrf_token": token})
    assert bad.status_code == 422 and "start_s" in bad.text
    done = client.post(f"/clips/{clip_id}/links", data={**form, "csrf_token": token}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == f"/clips/{clip_id}#links"
    links = client.get(f"/api/v1/clips/{clip_id}/incidents", headers=auth(keys["viewer"])).json()
    assert [(link["start_s"], link["end_s"], link["note"]) for link in links] == [(0.5, 2.25, "شلیک")]
    assert (
        "0:00.5–0:02.2" in client.get(f"/clips/{clip_id}").text
        or "0:00.5–0:02.3" in client.get(f"/clips/{clip_id}").text
    )


def test_the_upload_page_is_for_those_who_may_hand_footage_in(
    client: TestClient, archive: Archive, keys: dict[str, str], clip_file: Path
) -> None:
    make_person(archive, "vic", "viewer")
    sign_in(client, "vic")
    assert 'href="/upload"' not in client.get("/").text
    refused = client.get("/upload")
    assert refused.status_code == 403 and "contributor" in refused.text
    clip_id = upload(client, keys["contributor"], clip_file.read_bytes()).json()["id"]
    case_id, _ = put_in_case(archive, [clip_id], "Case of the square")
    make_member(archive, case_id, "guest", "contributor")
    sign_in(client, "guest")
    page = client.get("/upload").text
    # a contributor of one case only must name it: no "archive's own" choice
    assert '<select id="u-case" name="case_id" required>' in page and "archive&#39;s own" not in page
    assert f'<option value="{case_id}" dir="auto">Case of the square</option>' in page
    assert '<script src="/static/vendor/tus.min.js" defer></script>' in page


def test_a_file_a_browser_cannot_play_plays_its_labelled_viewing_copy_even_without_download(
    client: TestClient, archive: Archive, keys: dict[str, str], tmp_path: Path
) -> None:
    hevc = media.make_hevc_mov(tmp_path / "phone.mov")
    clip_id = upload(client, keys["contributor"], hevc.read_bytes(), name="phone.mov").json()["id"]
    assert wait_until_done(client, keys["viewer"], clip_id)["status"] == "ready"
    case_id, _ = put_in_case(archive, [clip_id], "Case of the square")
    make_member(archive, case_id, "guest", "viewer")
    sign_in(client, "guest")  # no download permission
    page = client.get(f"/clips/{clip_id}").text
    assert f'src="/api/v1/clips/{clip_id}/viewing-copy"' in page
    assert "Viewing copy, not the original" in page and "the video codec is hevc" in page
    assert "Download the original" not in page
    copy = client.get(f"/api/v1/clips/{clip_id}/viewing-copy", headers={"Range": "bytes=0-99"})
    assert copy.status_code == 206 and copy.headers["verity-derivative"].startswith("viewing-copy")
