"""Browser uploads over tus (tus-js-client in the page, a real `verity serve`): many files at
once, each with its own progress and status; a connection dropped mid-way and a page reloaded
mid-way both continue from where the server stands, never from byte 0."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Request, Route, expect

from tests import media
from tests.conftest import RunningServer, auth
from tests.helpers.browser import add_person, screenshot, sign_in, watched_page

pytestmark = pytest.mark.slow
CHUNK = 8 * 1024 * 1024  # what the page sends per PATCH


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("browser-uploads")
    big = folder / "VID_big.mp4"  # lossless, ~20 MB: three chunks
    media.ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=1280x720:rate=30",
        "-t",
        "10",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-qp",
        "0",
        "-pix_fmt",
        "yuv420p",
        str(big),
    )
    assert big.stat().st_size > 2 * CHUNK
    return {"big": big, "small": media.make_h264_aac(folder / "VID_small.mp4", seconds=2)}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def archived_hashes(server: RunningServer) -> set[str]:
    items = httpx.get(f"{server.url}/api/v1/clips", headers=auth(server.admin_key)).json()["items"]
    return {item["sha256"] for item in items}


def test_two_files_at_once_one_cut_off_mid_way_both_arrive_whole(
    browser: Browser, server: RunningServer, files: dict[str, Path]
) -> None:
    add_person(server, "cora", "contributor")
    watched = watched_page(browser)
    page = watched.page
    sign_in(page, server, "cora")
    page.goto(f"{server.url}/upload")
    offsets: dict[str, list[int]] = {}  # by upload
    dropped = []

    def cut_the_second_chunk(route: Route, request: Request) -> None:
        if request.method == "PATCH":
            offsets.setdefault(request.url, []).append(int(request.headers["upload-offset"]))
            if request.headers["upload-offset"] == str(CHUNK) and not dropped:
                dropped.append(request.url)
                route.abort("connectionreset")  # the connection drops with the second chunk
                return
        route.fallback()

    page.route("**/api/v1/uploads/**", cut_the_second_chunk)
    page.get_by_label("Source", exact=True).fill("witness A")
    page.locator("#u-files").set_input_files([str(files["big"]), str(files["small"])])
    statuses = page.locator("#uploads td[role=status]")
    expect(statuses).to_have_count(2)
    for index in range(2):
        expect(statuses.nth(index)).to_have_attribute("data-status", "ready", timeout=120_000)
    screenshot(page, "upload")
    # The cut chunk was sent again from where the server stood, never from byte 0.
    assert offsets[dropped[0]] == [0, CHUNK, CHUNK, 2 * CHUNK]
    assert {sha256(files["big"]), sha256(files["small"])} <= archived_hashes(server)
    assert watched.left_loopback == []
    assert [e for e in watched.errors if "net::ERR_CONNECTION_RESET" not in e and "Failed to load" not in e] == []


def test_a_page_reloaded_mid_upload_continues_where_the_server_stands(
    browser: Browser, server: RunningServer, files: dict[str, Path]
) -> None:
    add_person(server, "cora", "contributor")
    watched = watched_page(browser)
    page = watched.page
    sign_in(page, server, "cora")
    page.goto(f"{server.url}/upload")
    created: list[str] = []
    page.on("request", lambda r: created.append(r.url) if r.method == "POST" and "/api/v1/uploads" in r.url else None)
    first_chunk_done: list[int] = []

    def stall_after_the_first_chunk(route: Route, request: Request) -> None:
        if request.method == "PATCH" and request.headers["upload-offset"] != "0":
            first_chunk_done.append(1)
            route.abort("connectionreset")  # from here the network is gone until the reload
            return
        route.fallback()

    page.route("**/api/v1/uploads/**", stall_after_the_first_chunk)
    page.locator("#u-files").set_input_files(str(files["big"]))
    page.wait_for_function("() => document.querySelector('#uploads progress').value >= 8388608")
    page.reload()  # the investigator reloads (the network still gone: no retry gets through meanwhile)
    page.unroute("**/api/v1/uploads/**")  # the network is back; they pick the same file again
    patches: list[int] = []
    page.on("request", lambda r: patches.append(int(r.headers["upload-offset"])) if r.method == "PATCH" else None)
    page.locator("#u-files").set_input_files(str(files["big"]))
    status = page.locator("#uploads td[role=status]")
    expect(status).to_have_attribute("data-status", "ready", timeout=120_000)
    assert len(created) == 1  # the same upload, not a new one
    assert patches and patches[0] == CHUNK  # continued from the server's offset
    assert sha256(files["big"]) in archived_hashes(server)


def test_files_dropped_on_the_page_are_handed_in(
    browser: Browser, server: RunningServer, files: dict[str, Path]
) -> None:
    add_person(server, "cora", "contributor")
    watched = watched_page(browser)
    page = watched.page
    sign_in(page, server, "cora")
    page.goto(f"{server.url}/upload")
    small = files["small"]
    # A drop as the browser makes it from the desktop: a DataTransfer holding the file.
    dropped = page.evaluate_handle(
        """([name, bytes]) => {
            const transfer = new DataTransfer();
            transfer.items.add(new File([new Uint8Array(bytes)], name, { type: "video/mp4" }));
            return transfer;
        }""",
        [small.name, list(small.read_bytes())],
    )
    page.dispatch_event("#drop", "dragover", {"dataTransfer": dropped})
    expect(page.locator("#drop")).to_have_class(re.compile(r"\bover\b"))
    page.dispatch_event("#drop", "drop", {"dataTransfer": dropped})
    status = page.locator("#uploads td[role=status]")
    expect(status).to_have_attribute("data-status", "ready", timeout=120_000)
    assert sha256(small) in archived_hashes(server)
    assert watched.errors == [] and watched.left_loopback == []
