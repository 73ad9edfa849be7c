"""A real headless Chromium for the workbench's tests: Debian's `chromium` (scripts/setup.sh
installs it) driven by Playwright, which never downloads a browser of its own here.

Each page records what the browser refused or failed (console errors, among them every
Content-Security-Policy violation, and uncaught exceptions) and any request that left loopback,
which is aborted: the workbench must work with no network. `axe_violations` runs axe-core (vendored
from npm) in a context that lets its injected script run. Screenshots go to
VERITY_TEST_ARTIFACTS (default: test-artifacts/ in the project), where CI keeps its output."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from playwright.sync_api import Browser, Page, Route, expect, sync_playwright

from tests.conftest import VERITY, RunningServer, auth
from tests.helpers.workbench import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
ARTIFACTS = Path(os.environ.get("VERITY_TEST_ARTIFACTS", ROOT / "test-artifacts"))


def chromium_path() -> str:
    found = shutil.which("chromium")
    assert found, "Debian's chromium is missing: run ./scripts/setup.sh (it installs it for the tests)"
    return found


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        # The sandbox needs user namespaces, which a root login in a container does not have.
        args = ["--no-sandbox"] if os.geteuid() == 0 else []
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=args)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Watched:
    """A page and what went wrong on it."""

    page: Page
    errors: list[str] = field(default_factory=list)
    left_loopback: list[str] = field(default_factory=list)


def watched_page(browser: Browser, *, bypass_csp: bool = False, **context: Any) -> Watched:
    page = browser.new_context(bypass_csp=bypass_csp, **context).new_page()
    watched = Watched(page)
    page.on("console", lambda message: watched.errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: watched.errors.append(f"uncaught: {error}"))

    def only_loopback(route: Route) -> None:
        host = urlsplit(route.request.url).hostname
        if host in ("127.0.0.1", "localhost") or route.request.url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            watched.left_loopback.append(route.request.url)
            route.abort()

    page.route("**/*", only_loopback)
    return watched


def add_person(server: RunningServer, name: str, role: str) -> None:
    """A person with the tests' password, made as an operator makes one (`verity users create`)."""
    command = [VERITY, "users", "create", name, "--role", role, "--password-stdin"]
    made = subprocess.run(command, env=server.env, input=PASSWORD + "\n", capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stdout + made.stderr


def analysed(server: RunningServer, path: Path) -> str:
    """The id of the clip `path` becomes once uploaded (as the server's admin) and analysed."""
    with path.open("rb") as handle:
        answer = httpx.post(
            f"{server.url}/api/v1/clips",
            headers=auth(server.admin_key),
            files={"file": (path.name, handle)},
            timeout=60,
        )
    assert answer.status_code == 201, answer.text
    clip_id: str = answer.json()["id"]
    deadline = time.monotonic() + 120
    with httpx.Client(headers=auth(server.admin_key)) as client:  # one TLS context for all the polls
        while time.monotonic() < deadline:
            status = client.get(f"{server.url}/api/v1/clips/{clip_id}").json()["status"]
            if status not in ("queued", "processing"):
                assert status == "ready"
                return clip_id
            time.sleep(0.2)
    raise AssertionError(f"clip {clip_id} not analysed in time")


def case_with_incident(
    server: RunningServer, case_title: str, incident_title: str, starts_at: str = "2019-11-16T14:00:00Z"
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A case and an incident recorded in it, made through the API by the server's admin."""
    headers = auth(server.admin_key)
    case: dict[str, Any] = httpx.post(f"{server.url}/api/v1/cases", headers=headers, json={"title": case_title}).json()
    fields = {"title": incident_title, "starts_at": starts_at, "time_precision": "hour", "case_id": case["id"]}
    incident: dict[str, Any] = httpx.post(f"{server.url}/api/v1/incidents", headers=headers, json=fields).json()
    return case, incident


def sign_in(page: Page, server: RunningServer, name: str) -> None:
    """Sign in through the form, as a visitor sent there from the archive."""
    page.goto(f"{server.url}/")
    expect(page).to_have_url(f"{server.url}/sign-in?next=%2F")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{server.url}/")


def axe_violations(page: Page, impacts: tuple[str, ...] = ("serious", "critical")) -> list[str]:
    """axe-core's violations of `impacts` on the page as it stands (its context must bypass CSP)."""
    page.add_script_tag(path=str(AXE))
    result: dict[str, Any] = page.evaluate("async () => await axe.run(document)")
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} at "
        + ", ".join(str(node["target"]) for node in violation["nodes"][:3])
        for violation in result["violations"]
        if violation["impact"] in impacts
    ]


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
