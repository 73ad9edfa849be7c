"""What the workbench refuses before it acts for a signed-in browser, over HTTP: requests from
another origin of the same site (Sec-Fetch-Site and Origin as Chromium sends them), page POSTs
whose bodies are too large, undeclared or multipart (refused before they are read, and before
anything is read for a visitor not signed in), sign-in forms with a planted token, and the
forms held to the API's request models. The same through a real Chromium is in
tests/web/test_browser_guard.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.exc import DataError, IntegrityError
from urllib3.exceptions import MaxRetryError

from api.app import create_app
from api.browser_session import SESSION_COOKIE, SIGN_IN_COOKIE
from storage.archive import Archive
from storage.models import Upload
from tests.conftest import auth
from tests.helpers.api_calls import INCIDENT, upload
from tests.helpers.workbench import PASSWORD, form_token, make_person, page_token, sign_in

OWN = "http://testserver"
ELSEWHERE = "http://testserver:8001"  # another port: the same site, so the cookie goes along
# What Chromium sends with an <img> of another origin of the same site, and with a page's own fetch.
IMAGE_FROM_SAME_SITE = {"Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "image"}
OWN_FETCH = {"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors", "Sec-Fetch-Dest": "empty", "Origin": OWN}
TUS = {"Tus-Resumable": "1.0.0"}


def actions(client: TestClient, key: str, clip_id: str) -> list[str]:
    return [
        event["action"] for event in client.get(f"/api/v1/clips/{clip_id}/custody", headers=auth(key)).json()["events"]
    ]


def review_status(client: TestClient, key: str, clip_id: str) -> str:
    status: str = client.get(f"/api/v1/clips/{clip_id}", headers=auth(key)).json()["verification_status"]
    return status


@pytest.fixture(name="token")
def signed_in_analyst(client: TestClient, archive: Archive) -> str:
    """`client` signed in as an analyst, ana: the CSRF token of her pages."""
    make_person(archive, "ana", "analyst")
    return sign_in(client, "ana")


def still_signed_in(client: TestClient) -> bool:
    return client.get("/api/v1/clips").status_code == 200


# Cookie-authenticated API requests from other origins of the same site


def test_an_image_of_another_origin_cannot_download_an_original_under_the_visitors_name(
    client: TestClient, archive: Archive, keys: dict[str, str]
) -> None:
    clip_id = upload(client, keys["contributor"], b"0123456789").json()["id"]
    make_person(archive, "ana", "analyst")
    sign_in(client, "ana")
    refused = client.get(f"/api/v1/clips/{clip_id}/original", headers=IMAGE_FROM_SAME_SITE)
    assert refused.status_code == 403, refused.text
    assert "Sec-Fetch-Site: same-site" in refused.json()["detail"]
    assert "downloaded" not in actions(client, keys["admin"], clip_id)
    # The page's own <img> or <video> (same-origin) and the address bar (`none`) are the visitor's.
    own = {**IMAGE_FROM_SAME_SITE, "Sec-Fetch-Site": "same-origin"}
    assert client.get(f"/api/v1/clips/{clip_id}/original", headers=own).content == b"0123456789"
    typed = {"Sec-Fetch-Site": "none", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}
    assert client.get(f"/api/v1/clips/{clip_id}/original", headers=typed).status_code == 200
    assert actions(client, keys["admin"], clip_id).count("downloaded") == 2


def test_a_bearer_key_is_not_asked_where_its_request_comes_from(client: TestClient, keys: dict[str, str]) -> None:
    """Another site cannot make a browser send an Authorization header: only the cookie is guarded."""
    clip_id = upload(client, keys["contributor"], b"0123456789").json()["id"]
    headers = {**auth(keys["viewer"]), "Sec-Fetch-Site": "cross-site", "Origin": "http://elsewhere.example"}
    assert client.get(f"/api/v1/clips/{clip_id}/original", headers=headers).status_code == 200


@pytest.mark.parametrize(
    "where",
    [{"Origin": ELSEWHERE}, {"Origin": "null"}, {"Sec-Fetch-Site": "same-site"}, {"Sec-Fetch-Site": "none"}],
    ids=["other-port", "opaque-origin", "same-site", "none"],
)
def test_a_cookie_request_with_the_token_from_another_origin_changes_nothing(
    client: TestClient, token: str, where: dict[str, str]
) -> None:
    refused = client.post("/api/v1/incidents", json=INCIDENT, headers={"X-CSRF-Token": token, **where})
    assert refused.status_code == 403, refused.text
    assert client.get("/api/v1/incidents").json()["total"] == 0
    made = client.post("/api/v1/incidents", json=INCIDENT, headers={"X-CSRF-Token": token, **OWN_FETCH})
    assert made.status_code == 201, made.text


def test_the_origin_of_this_server_is_compared_without_its_default_port(archive: Archive) -> None:
    make_person(archive, "ana", "analyst")
    with TestClient(create_app(archive=archive), base_url="https://verity.example") as client:
        token = sign_in(client, "ana")
        headers = {"X-CSRF-Token": token, "Origin": "https://verity.example:443"}
        assert client.post("/api/v1/incidents", json=INCIDENT, headers=headers).status_code == 201
        headers["Origin"] = "http://verity.example"  # the same host over plain HTTP is another origin
        assert client.post("/api/v1/incidents", json=INCIDENT, headers=headers).status_code == 403


# Page POSTs


@pytest.fixture
def clip_id(client: TestClient, keys: dict[str, str]) -> str:
    clip: str = upload(client, keys["contributor"], b"0123456789").json()["id"]
    return clip


def test_a_page_form_with_its_token_from_another_origin_changes_nothing(
    client: TestClient, token: str, keys: dict[str, str], clip_id: str
) -> None:
    form = {"status": "in_review", "rationale": "Starting", "csrf_token": token}
    for where in ({"Origin": ELSEWHERE, "Sec-Fetch-Site": "same-site"}, {"Origin": ELSEWHERE}):
        answer = client.post(f"/clips/{clip_id}/review", data=form, headers=where, follow_redirects=False)
        assert answer.status_code == 403 and "is refused" in answer.text
    assert review_status(client, keys["admin"], clip_id) == "unverified"
    own = {"Origin": OWN, "Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "navigate"}
    assert client.post(f"/clips/{clip_id}/review", data=form, headers=own, follow_redirects=False).status_code == 303
    assert review_status(client, keys["admin"], clip_id) == "in_review"


def test_a_page_post_with_a_dead_cookie_is_sent_to_sign_in_before_its_body_is_read(client: TestClient) -> None:
    """A 3 MB multipart body with a made-up cookie: answered from the headers alone."""
    read = 0

    def body() -> Iterator[bytes]:
        nonlocal read
        for _ in range(3 * 16):
            read += 65536
            yield b"x" * 65536

    client.cookies.set(SESSION_COOKIE, "junk")
    answer = client.post(
        "/sign-out",
        content=body(),
        headers={"Content-Type": "multipart/form-data; boundary=b", "Content-Length": str(3 * 1024 * 1024)},
        follow_redirects=False,
    )
    assert answer.status_code == 303 and answer.headers["location"].startswith("/sign-in")
    assert read <= 65536  # what the test client hands over before the app asks for anything


def test_a_page_post_larger_than_the_limit_is_refused_unread(client: TestClient, token: str, archive: Archive) -> None:
    padded = f"csrf_token={token}&pad={'x' * archive.settings.max_json_body_bytes}"
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    answer = client.post("/sign-out", content=padded, headers=headers, follow_redirects=False)
    assert answer.status_code == 413 and "limit" in answer.text
    assert still_signed_in(client)


def test_a_page_post_of_undeclared_length_is_read_only_up_to_the_limit(
    client: TestClient, token: str, archive: Archive
) -> None:
    limit = archive.settings.max_json_body_bytes

    def body() -> Iterator[bytes]:  # chunked: no Content-Length
        yield f"csrf_token={token}&pad=".encode()
        for _ in range(limit // 65536 + 2):
            yield b"x" * 65536

    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    answer = client.post("/sign-out", content=body(), headers=headers, follow_redirects=False)
    assert answer.status_code == 413
    assert still_signed_in(client)


def test_a_page_form_sent_as_multipart_with_a_file_is_refused(
    client: TestClient, token: str, keys: dict[str, str], clip_id: str
) -> None:
    form = {"status": "in_review", "rationale": "Starting", "csrf_token": token}
    answer = client.post(
        f"/clips/{clip_id}/review", data=form, files={"file": ("x.bin", b"\0" * 1000)}, follow_redirects=False
    )
    assert answer.status_code == 415 and "urlencoded" in answer.text
    assert review_status(client, keys["admin"], clip_id) == "unverified"
    # sign-out takes no fields: a multipart body is not read for its token either
    sign_out = client.post("/sign-out", data={"csrf_token": token}, files={"f": ("f", b"1")}, follow_redirects=False)
    assert sign_out.status_code == 403
    assert still_signed_in(client)


def test_the_review_form_is_held_to_the_apis_request_model(
    client: TestClient, token: str, keys: dict[str, str], clip_id: str
) -> None:
    for rationale in ("Start\x00ing", ""):
        form = {"status": "in_review", "rationale": rationale, "csrf_token": token}
        answer = client.post(f"/clips/{clip_id}/review", data=form, follow_redirects=False)
        assert answer.status_code == 422 and "rationale" in answer.text, answer.text
    wrong = client.post(f"/clips/{clip_id}/review", data={"status": "bogus", "rationale": "x", "csrf_token": token})
    assert wrong.status_code == 422 and "status" in wrong.text
    assert review_status(client, keys["admin"], clip_id) == "unverified"


def test_a_form_sent_after_the_sign_in_ended_comes_back_to_its_page(client: TestClient, clip_id: str) -> None:
    """Not to the POST route, which a browser would then GET (405)."""
    client.cookies.set(SESSION_COOKIE, "ended")
    form = {"status": "in_review", "rationale": "x", "csrf_token": "t"}
    own = client.post(
        f"/clips/{clip_id}/review",
        data=form,
        headers={"Referer": f"{OWN}/clips/{clip_id}?tab=review"},
        follow_redirects=False,
    )
    assert own.status_code == 303
    assert own.headers["location"] == f"/sign-in?next=%2Fclips%2F{clip_id}%3Ftab%3Dreview"
    for referer in ("http://elsewhere.example/clips/x", f"{ELSEWHERE}/clips/x", ""):
        other = client.post(f"/clips/{clip_id}/review", data=form, headers={"Referer": referer}, follow_redirects=False)
        assert other.headers["location"] == "/sign-in?next=%2F"


# Signing in


def test_the_sign_in_form_refuses_a_post_from_another_origin(client: TestClient, archive: Archive) -> None:
    make_person(archive, "ana", "analyst")
    token = form_token(client.get("/sign-in").text)
    fields = {"name": "ana", "password": PASSWORD, "csrf_token": token}
    for where in ({"Origin": ELSEWHERE}, {"Sec-Fetch-Site": "same-site"}):
        answer = client.post("/sign-in", data=fields, headers=where, follow_redirects=False)
        assert answer.status_code == 403 and "is refused" in answer.text
        assert SESSION_COOKIE not in client.cookies
    own = {"Origin": OWN, "Sec-Fetch-Site": "same-origin"}
    assert client.post("/sign-in", data=fields, headers=own, follow_redirects=False).status_code == 303


def test_a_planted_sign_in_token_is_refused_even_when_the_form_echoes_it(client: TestClient, archive: Archive) -> None:
    """A page of another port can set the pre-sign-in cookie; it cannot sign a value for it."""
    make_person(archive, "ana", "analyst")
    client.cookies.set(SIGN_IN_COOKIE, "planted")
    answer = client.post("/sign-in", data={"name": "ana", "password": PASSWORD, "csrf_token": "planted"})
    assert answer.status_code == 403 and "expired" in answer.text
    assert SESSION_COOKIE not in client.cookies
    assert "planted" not in form_token(client.get("/sign-in").text)  # the form gets a token of the server's


def test_the_sign_in_form_refuses_a_token_that_is_not_its_cookies(client: TestClient, archive: Archive) -> None:
    make_person(archive, "ana", "analyst")
    client.get("/sign-in")
    other = TestClient(client.app)
    foreign = form_token(other.get("/sign-in").text)  # signed by this server, but another browser's
    answer = client.post("/sign-in", data={"name": "ana", "password": PASSWORD, "csrf_token": foreign})
    assert answer.status_code == 403
    assert SESSION_COOKIE not in client.cookies


def test_signing_in_ends_the_sign_in_the_browser_held(client: TestClient, archive: Archive) -> None:
    """A sign-in planted in the browser (or the visitor's own earlier one) does not outlive the next."""
    make_person(archive, "ana", "analyst")
    make_person(archive, "bob", "viewer")
    sign_in(client, "bob")
    earlier = client.cookies[SESSION_COOKIE]
    sign_in(client, "ana")
    assert client.get("/api/v1/clips", headers=auth(earlier)).status_code == 401
    assert "ana" in client.get("/").text


def test_over_tls_the_cookies_are_host_prefixed_and_an_unprefixed_one_is_not_taken(archive: Archive) -> None:
    """A page of a subdomain or of plain HTTP can set `verity_session` for the host, never
    `__Host-verity_session`: over TLS only the prefixed one counts."""
    make_person(archive, "ana", "analyst")
    make_person(archive, "eve", "viewer")
    with TestClient(create_app(archive=archive), base_url="https://verity.example") as client:
        sign_in(client, "eve")
        planted = client.cookies[f"__Host-{SESSION_COOKIE}"]
        client.cookies.clear()
        assert f"__Host-{SIGN_IN_COOKIE}=" in client.get("/sign-in").headers["set-cookie"]
        client.cookies.set(SESSION_COOKIE, planted)
        assert client.get("/api/v1/clips").status_code == 401
        assert client.get("/", follow_redirects=False).headers["location"].startswith("/sign-in")
        sign_in(client, "ana")
        assert "ana" in client.get("/").text
        signed_out = client.post("/sign-out", data={"csrf_token": page_token(client.get("/").text)})
        cleared = signed_out.history[0].headers["set-cookie"]
        assert cleared.startswith(f"__Host-{SESSION_COOKIE}=") and "secure" in cleared.lower()
        assert client.get("/api/v1/clips").status_code == 401


def test_the_sign_in_form_is_held_to_the_apis_request_model(client: TestClient, archive: Archive) -> None:
    make_person(archive, "ana", "analyst")
    token = form_token(client.get("/sign-in").text)
    answer = client.post("/sign-in", data={"name": "a\x00na", "password": PASSWORD, "csrf_token": token})
    assert answer.status_code == 422 and "name" in answer.text
    assert SESSION_COOKIE not in client.cookies


def test_the_sign_in_form_key_is_kept_in_the_data_folder(client: TestClient, archive: Archive) -> None:
    """Made once, readable by its owner only, and the same for a second app over the archive."""
    token = form_token(client.get("/sign-in").text)
    key_file = archive.settings.data_dir / "sign-in-form.key"
    assert key_file.stat().st_mode & 0o077 == 0 and len(key_file.read_bytes()) == 32
    make_person(archive, "ana", "analyst")
    with TestClient(create_app(archive=archive)) as second:
        second.cookies.set(SIGN_IN_COOKIE, token)
        answer = second.post(
            "/sign-in", data={"name": "ana", "password": PASSWORD, "csrf_token": token}, follow_redirects=False
        )
    assert answer.status_code == 303


# Cookie-only tus requests need the token


def test_cookie_only_tus_requests_without_the_token_change_nothing(client: TestClient, archive: Archive) -> None:
    make_person(archive, "cat", "contributor")
    token = sign_in(client, "cat")
    creation = {**TUS, "Upload-Length": "10", "Upload-Metadata": "filename eC5tcDQ="}

    def uploads() -> int:
        with archive.reads() as session:
            return session.scalar(select(func.count()).select_from(Upload)) or 0

    assert client.post("/api/v1/uploads", headers=creation).status_code == 403
    assert uploads() == 0
    made = client.post("/api/v1/uploads", headers={**creation, "X-CSRF-Token": token})
    assert made.status_code == 201, made.text
    location = made.headers["location"]
    chunk = {**TUS, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}
    assert client.patch(location, headers=chunk, content=b"0123456789").status_code == 403
    assert client.delete(location, headers=TUS).status_code == 403
    head = client.head(location, headers=TUS)
    assert head.status_code == 200 and head.headers["upload-offset"] == "0"
    assert uploads() == 1


# Every error on a page is a page


def failing_app(archive: Archive) -> FastAPI:
    app = create_app(archive=archive)
    failures: dict[str, Exception] = {
        "data": DataError("INSERT", {}, Exception("NUL")),
        "integrity": IntegrityError("INSERT", {}, Exception("unique")),
        "store": MaxRetryError(None, "/bucket/key", "connection refused"),  # type: ignore[arg-type]
        "bug": RuntimeError("a bug"),
    }

    @app.get("/failing/{kind}")
    @app.get("/api/v1/failing/{kind}")
    def failing(kind: str) -> None:
        raise failures[kind]

    return app


@pytest.mark.parametrize(("kind", "status"), [("data", 400), ("integrity", 409), ("store", 503), ("bug", 500)])
def test_every_error_on_a_page_is_an_error_page(archive: Archive, kind: str, status: int) -> None:
    with TestClient(failing_app(archive), raise_server_exceptions=False) as client:
        shown = client.get(f"/failing/{kind}")
        assert shown.status_code == status
        assert shown.headers["content-type"].startswith("text/html") and "<h1" in shown.text
        answered = client.get(f"/api/v1/failing/{kind}")  # the API still answers in JSON
        assert answered.status_code == status and "error" in answered.json()
