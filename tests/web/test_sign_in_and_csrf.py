"""The workbench's sign-in, session cookie and CSRF protection, over HTTP (the browser tests walk
the same through a real Chromium)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.browser_session import SESSION_COOKIE
from storage.archive import Archive
from tests import media
from tests.conftest import auth
from tests.helpers.api_calls import INCIDENT, upload
from tests.helpers.workbench import PASSWORD, form_token, make_person, sign_in


@pytest.fixture(scope="module")
def clip_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return media.make_h264_aac(tmp_path_factory.mktemp("web") / "clip.mp4", seconds=2)


def test_a_signed_out_visitor_is_sent_to_sign_in_and_back(client: TestClient) -> None:
    answer = client.get("/clips/some-id?tab=custody", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/sign-in?next=%2Fclips%2Fsome-id%3Ftab%3Dcustody"
    # htmx asking for a fragment is told where to go instead of getting the sign-in page swapped in
    fragment = client.get("/clips/some-id/row", headers={"HX-Request": "true"}, follow_redirects=False)
    assert fragment.status_code == 204 and fragment.headers["hx-redirect"].startswith("/sign-in?next=")
    assert client.get("/api/v1/clips").status_code == 401  # the API still answers in JSON


def test_signing_in_sets_an_httponly_strict_cookie_the_api_also_takes(client: TestClient, archive: Archive) -> None:
    make_person(archive, "ana", "analyst")
    form = client.get("/sign-in?next=/clips/x")
    assert "verity_sign_in=" in form.headers["set-cookie"]
    answer = client.post(
        "/sign-in",
        data={"name": "ana", "password": PASSWORD, "csrf_token": form_token(form.text), "next": "/clips/x"},
        follow_redirects=False,
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/clips/x"
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith(f"{SESSION_COOKIE}="))
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/"} <= flags
    assert "secure" not in flags  # plain HTTP here; over TLS it is Secure (test_cookie_is_secure_over_tls)
    assert client.get("/api/v1/clips").status_code == 200  # a browser reads the API with its cookie
    assert "ana" in client.get("/").text


def test_the_cookie_is_secure_over_tls(archive: Archive) -> None:
    make_person(archive, "ana", "analyst")
    with TestClient(create_app(archive=archive), base_url="https://testserver") as client:
        form = client.get("/sign-in")
        answer = client.post(
            "/sign-in",
            data={"name": "ana", "password": PASSWORD, "csrf_token": form_token(form.text)},
            follow_redirects=False,
        )
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith(f"__Host-{SESSION_COOKIE}="))
    assert "secure" in {part.strip().lower() for part in cookie.split(";")}


def test_a_wrong_password_shows_the_form_again_with_why(client: TestClient, archive: Archive) -> None:
    make_person(archive, "ana", "analyst")
    form = client.get("/sign-in")
    answer = client.post("/sign-in", data={"name": "ana", "password": "wrong", "csrf_token": form_token(form.text)})
    assert answer.status_code == 401
    assert 'role="alert"' in answer.text and "<form" in answer.text
    assert SESSION_COOKIE not in client.cookies


def test_the_sign_in_form_refuses_a_post_not_from_its_own_page(client: TestClient, archive: Archive) -> None:
    """Login CSRF: another site's form could sign the browser in as someone else."""
    make_person(archive, "ana", "analyst")
    answer = client.post("/sign-in", data={"name": "ana", "password": PASSWORD, "csrf_token": "made-up"})
    assert answer.status_code == 403
    assert SESSION_COOKIE not in client.cookies


@pytest.mark.parametrize("target", ["//elsewhere.example/x", "https://elsewhere.example/", "/\\elsewhere.example"])
def test_after_sign_in_only_a_path_of_this_server_is_followed(
    client: TestClient, archive: Archive, target: str
) -> None:
    make_person(archive, "ana", "analyst")
    form = client.get("/sign-in")
    answer = client.post(
        "/sign-in",
        data={"name": "ana", "password": PASSWORD, "csrf_token": form_token(form.text), "next": target},
        follow_redirects=False,
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/"


def test_signing_out_ends_the_sign_in_key(client: TestClient, archive: Archive) -> None:
    make_person(archive, "ana", "analyst")
    token = sign_in(client, "ana")
    secret = client.cookies[SESSION_COOKIE]
    refused = client.post("/sign-out", data={}, follow_redirects=False)
    assert refused.status_code == 403  # no token: a link on another site cannot sign you out
    assert client.get("/api/v1/clips").status_code == 200
    answer = client.post("/sign-out", data={"csrf_token": token}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/sign-in"
    assert client.get("/api/v1/clips", headers=auth(secret)).status_code == 401  # the key itself is revoked
    assert client.get("/", follow_redirects=False).status_code == 303


def test_a_cookie_request_that_changes_anything_needs_the_csrf_header(client: TestClient, archive: Archive) -> None:
    make_person(archive, "ana", "analyst")
    token = sign_in(client, "ana")
    refused = client.post("/api/v1/incidents", json=INCIDENT)
    assert refused.status_code == 403 and "X-CSRF-Token" in refused.json()["detail"]
    assert client.post("/api/v1/incidents", json=INCIDENT, headers={"X-CSRF-Token": "0" * 64}).status_code == 403
    assert client.get("/api/v1/incidents").json()["total"] == 0
    made = client.post("/api/v1/incidents", json=INCIDENT, headers={"X-CSRF-Token": token})
    assert made.status_code == 201, made.text


def test_the_review_form_needs_the_pages_token(
    client: TestClient, archive: Archive, keys: dict[str, str], clip_file: Path
) -> None:
    clip_id = upload(client, keys["contributor"], clip_file.read_bytes()).json()["id"]
    make_person(archive, "ana", "analyst")
    token = sign_in(client, "ana")
    form = {"status": "in_review", "rationale": "Starting the review"}
    refused = client.post(f"/clips/{clip_id}/review", data=form, follow_redirects=False)
    assert refused.status_code == 403 and "CSRF" in refused.text
    assert client.get(f"/api/v1/clips/{clip_id}").json()["verification_status"] == "unverified"
    done = client.post(f"/clips/{clip_id}/review", data={**form, "csrf_token": token}, follow_redirects=False)
    assert done.status_code == 303
    assert client.get(f"/api/v1/clips/{clip_id}").json()["verification_status"] == "in_review"


def test_a_viewer_gets_no_review_form_and_may_not_post_one(
    client: TestClient, archive: Archive, keys: dict[str, str], clip_file: Path
) -> None:
    clip_id = upload(client, keys["contributor"], clip_file.read_bytes()).json()["id"]
    make_person(archive, "vic", "viewer")
    token = sign_in(client, "vic")
    assert 'action="/clips/' not in client.get(f"/clips/{clip_id}").text
    form = {"status": "in_review", "rationale": "x", "csrf_token": token}
    answer = client.post(f"/clips/{clip_id}/review", data=form, follow_redirects=False)
    assert answer.status_code == 403 and "analyst" in answer.text
